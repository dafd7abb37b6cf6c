"""The onnxruntime backend against the torch backend on an exported tiny voice (CPU)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxslim")
ort = pytest.importorskip("onnxruntime")

from ttsengine import Synthesizer  # noqa: E402
from ttsengine.errors import BackendUnavailableError, VoiceLoadError  # noqa: E402

TEXT = "The quick brown fox. It was late."
#: fp32 parity tolerance of `ttsengine verify` (max-abs on the wave); measured here: ~1e-8.
TOLERANCE = 1e-3


@pytest.fixture(scope="session")
def plain_voice(tmp_path_factory):
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(
        tmp_path_factory.mktemp("ort-src") / "tiny", name="tiny-ort", acoustic_size="tiny",
        vocoder="v2", speakers=("ann", "ben", "cyd"), seed=5,
    )


@pytest.fixture(scope="session")
def bundle(plain_voice, tmp_path_factory):
    """fp32 export into a non-empty directory with force=True (exercises --force)."""
    from ttsengine.export.onnx_export import export_voice

    out = tmp_path_factory.mktemp("ort-out") / "bundle"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    export_voice(plain_voice, out, force=True)
    assert (out / "notes.txt").read_text() == "kept"
    return out


@pytest.fixture(scope="session")
def ort_synth(bundle):
    # One thread: robust on 2 shared cores (two threads wait on each other when a core is taken).
    return Synthesizer(bundle, device="cpu", backend="onnxruntime", num_threads=1)


@pytest.fixture(scope="session")
def torch_synth(bundle):
    return Synthesizer(bundle, device="cpu", backend="torch")


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def test_reported_choices(ort_synth, torch_synth):
    assert (ort_synth.backend, ort_synth.device, ort_synth.precision) == ("onnxruntime", "cpu", "fp32")
    backend = ort_synth._backend
    assert backend.vocoder_context_frames == torch_synth._backend.vocoder_context_frames
    for session in backend._sessions.values():
        assert session.get_providers() == ["CPUExecutionProvider"]
        assert session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize("speaker,speed", [("ann", 1.0), ("cyd", 1.3)])
def test_synthesize_matches_torch(ort_synth, torch_synth, speaker, speed):
    a = torch_synth.synthesize(TEXT, speaker=speaker, speed=speed).samples
    b = ort_synth.synthesize(TEXT, speaker=speaker, speed=speed).samples
    diff = _max_diff(a, b)
    assert diff <= TOLERANCE, f"wave max-abs {diff:.2e} (measured ~1e-8)"
    assert np.abs(a).max() > 0


def test_batch_matches_torch_and_single(ort_synth, torch_synth):
    texts = [TEXT, "Hi.", "A medium sentence."]
    speakers = ["ann", "cyd", "ben"]
    ours = ort_synth.synthesize_batch(texts, speaker=speakers)
    reference = torch_synth.synthesize_batch(texts, speaker=speakers)
    for text, speaker, x, y in zip(texts, speakers, ours, reference):
        assert _max_diff(x.samples, y.samples) <= TOLERANCE
        single = ort_synth.synthesize(text, speaker=speaker).samples
        assert _max_diff(x.samples, single) <= 1e-5, "padded batch row differs from its single run"


def test_stream_matches_torch(ort_synth, torch_synth):
    chunks = list(ort_synth.synthesize_stream(TEXT, speaker="ben"))
    assert len(chunks) > 2 and chunks[-1].is_last
    streamed = np.concatenate([c.samples for c in chunks])
    assert _max_diff(streamed, torch_synth.synthesize(TEXT, speaker="ben").samples) <= TOLERANCE
    assert _max_diff(streamed, ort_synth.synthesize(TEXT, speaker="ben").samples) <= 1e-5


def test_outputs_are_written_into_the_given_host_buffers(bundle):
    """I/O binding writes each network's output into the buffer it is given (no copy):
    NaN-filled buffers come back holding what a plain session.run returns."""
    synth = Synthesizer(bundle, device="cpu", backend="onnxruntime", num_threads=1)
    runner = synth._backend
    tokens = np.array([[3, 5, 7, 9, 11, 0]], dtype=np.int64)
    feeds = {"tokens": tokens, "token_lengths": np.array([5]), "speakers": np.array([1])}
    want_hidden, want_durations = runner._sessions["encoder"].run(None, feeds)
    hidden = np.full(want_hidden.shape, np.nan, np.float32)
    durations = np.full(want_durations.shape, np.nan, np.float32)
    runner.encoder(tokens, feeds["token_lengths"], feeds["speakers"], hidden, durations)
    np.testing.assert_array_equal(hidden, want_hidden)
    np.testing.assert_array_equal(durations, want_durations)


def test_device_tensor_path_in_the_cuda_pipeline(bundle):
    """The ORT-on-CUDA path (torch buffers bound by address, the CUDA pipeline's buckets and
    streaming windows) run on CPU tensors: the same audio as the host pipeline. Its speed
    on a GPU is not measured here."""
    torch = pytest.importorskip("torch")
    from ttsengine.pipeline.cuda import CudaPipeline
    from ttsengine.pipeline.host import HostPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    synth = Synthesizer(bundle, device="cpu", backend="onnxruntime", num_threads=1)
    runner, voice = synth._backend, synth.voice
    dims = dict(d_model=int(voice.acoustic["hparams"]["d_model"]), n_mels=voice.n_mels, hop=voice.hop_length)
    device = CudaPipeline(runner, device=torch.device("cpu"), dtype=torch.float32, limits=BufferLimits(),
                          graphs=False, **dims)
    host = HostPipeline(runner, **dims)
    tokens = np.array([[3, 5, 7, 9, 11, 13, 2], [4, 6, 8, 0, 0, 0, 0]], dtype=np.int64)
    args = (tokens, np.array([7, 3]), np.array([0, 1]), 1.0, None, 10_000)
    waves, lengths = device.synthesize(*args)
    want_waves, want_lengths = host.synthesize(*args)
    np.testing.assert_array_equal(lengths, want_lengths)
    assert np.abs(want_waves).max() > 1e-3
    for row, n in enumerate(want_lengths):
        samples = int(n) * voice.hop_length
        assert _max_diff(waves[row, :samples], want_waves[row, :samples]) <= 1e-5
    mel, totals, _ = device.mel(*(a[:1] if isinstance(a, np.ndarray) else a for a in args))
    want_mel, _, _ = host.mel(*(a[:1] if isinstance(a, np.ndarray) else a for a in args))
    stop = min(20, int(totals[0]))
    assert _max_diff(device.vocode_window(mel, 2, stop, None)[0], host.vocode_window(want_mel, 2, stop, None)[0]) <= 1e-5


def test_auto_prefers_onnxruntime_on_cpu(bundle, plain_voice):
    assert Synthesizer(bundle, device="cpu", backend="auto").backend == "onnxruntime"
    assert Synthesizer(plain_voice, device="cpu", backend="auto").backend == "torch"


def test_voice_without_graphs_names_export(plain_voice):
    with pytest.raises(BackendUnavailableError, match="ttsengine export"):
        Synthesizer(plain_voice, device="cpu", backend="onnxruntime")


def test_modified_or_missing_graph_is_a_load_error(bundle, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    data = bytearray((tampered / "onnx" / "decoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the graph (the last bytes are its feature stamp)
    (tampered / "onnx" / "decoder.onnx").write_bytes(bytes(data))
    with pytest.raises(VoiceLoadError, match="sha256"):
        Synthesizer(tampered, device="cpu", backend="onnxruntime")
    (tampered / "onnx" / "decoder.onnx").unlink()
    with pytest.raises(VoiceLoadError, match="missing.*decoder.onnx"):
        Synthesizer(tampered, device="cpu", backend="onnxruntime")


def test_fp16_refused_on_cpu(bundle):
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        Synthesizer(bundle, device="cpu", backend="onnxruntime", precision="fp16")


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="onnxruntime-gpu installed")
def test_cuda_without_onnxruntime_gpu(bundle):
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        Synthesizer(bundle, device="cuda", backend="onnxruntime")
    auto = Synthesizer(bundle, device="auto", backend="onnxruntime")
    assert (auto.device, auto.precision) == ("cpu", "fp32")
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        Synthesizer(bundle, device="auto", backend="onnxruntime", precision="fp16")


def test_runs_with_torch_unimportable(bundle, tmp_path):
    """The backend never imports torch: synthesize with `import torch` made to fail."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from ttsengine import Synthesizer\n"
        f"s = Synthesizer({str(bundle)!r}, device='cpu', backend='onnxruntime', num_threads=1)\n"
        "a = s.synthesize('Hello there.')\n"
        "assert a.duration > 0.1 and 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(s.backend)\n"
    )
    # cwd outside the repository: the installed package (with its compiled _core) is used.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "onnxruntime"
