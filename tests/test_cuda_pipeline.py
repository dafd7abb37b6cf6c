"""The CUDA pipeline (device arena, regulator kernels, CUDA graphs per shape bucket):
``ttsengine/pipeline/cuda.py``, which the torch backend's CUDA graphs run in.

On the CPU the same class runs on a fake device (torch CPU tensors as the arena,
``_core`` as the regulator, no graphs): its bucketing, padding, buffer growth and
streaming windows must give the host pipeline's output (padding is inert). On a GPU
(``requires_cuda``) the captured graphs must replay to the ungraphed output, streams must
replay the same graphs, and nothing is allocated after warm-up.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


pytestmark = requires_torch

TEXTS = [
    "Hi.",
    "A sentence of middling length, with a comma.",
    "This one is longer than the others, so that the batch is padded and the buckets differ in size.",
]


def fake_device_pipeline(synth, limits=None, runner=None):
    """The synthesizer's runner (torch on the CPU) in a CudaPipeline on the CPU."""
    import torch

    from ttsengine.pipeline.cuda import CudaPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    return CudaPipeline(
        runner or synth._backend, device=torch.device("cpu"), dtype=torch.float32,
        limits=limits or BufferLimits(max_batch=2, max_tokens=16, max_frames=64),  # small: growth is exercised
        d_model=int(synth.voice.acoustic["hparams"]["d_model"]), n_mels=synth.voice.n_mels,
        hop=synth.voice.hop_length, graphs=False,
    )


def _batch(synth, segments, speed=1.0):
    """A SegmentBatch of ``segments`` (speaker 0) with its own arrays."""
    import dataclasses

    from ttsengine.synthesizer import _Job

    batch = synth._batch([_Job(0, s, 0, speed) for s in segments], synth._workspaces._free[0])
    return dataclasses.replace(batch, tokens=batch.tokens.copy(), token_lengths=batch.token_lengths.copy(),
                               speakers=batch.speakers.copy())


def _mel(pipeline, batch):
    return pipeline.mel(batch.tokens, batch.token_lengths, batch.speakers, float(batch.speeds[0]), None, 10_000)


@pytest.fixture(scope="module")
def synth(small_onnx_voice):
    from ttsengine import Synthesizer

    return Synthesizer(small_onnx_voice, backend="torch", device="cpu")


@pytest.mark.parametrize("speed", [1.0, 1.7])
def test_bucketed_pipeline_equals_host_pipeline_per_row(speed, synth):
    from ttsengine.limits import FRAME_BUCKET, TOKEN_BUCKET
    from ttsengine.pipeline.host import HostPipeline

    assert isinstance(synth._pipeline, HostPipeline)  # torch on the CPU
    pipeline = fake_device_pipeline(synth)
    segments = [synth.frontend.segments(text)[0] for text in TEXTS]
    for batch in ([segments[0]], [segments[2]], segments):
        request = _batch(synth, batch, speed)
        assert request.tokens.shape[1] % TOKEN_BUCKET != 0  # the pipeline really pads tokens
        want_result = synth._pipeline.run(request, None, 10_000)
        want, want_lengths = want_result.waves.copy(), want_result.frame_lengths.copy()
        got_result = pipeline.run(request, None, 10_000)
        got, got_lengths = got_result.waves, got_result.frame_lengths
        np.testing.assert_array_equal(got_lengths, want_lengths)
        np.testing.assert_array_equal(got_result.token_frames, want_result.token_frames)
        assert int(want_lengths.max()) % FRAME_BUCKET != 0  # ... and frames
        assert got.shape == want.shape
        for row, n in enumerate(want_lengths):
            samples = int(n) * synth.voice.hop_length
            np.testing.assert_allclose(got[row, :samples], want[row, :samples], atol=2e-6, rtol=0)


def test_pipeline_grows_past_its_limits_and_refuses_runaway_durations(synth):
    from ttsengine.errors import TTSEngineError

    pipeline = fake_device_pipeline(synth)
    request = _batch(synth, [synth.frontend.segments(TEXTS[2])[0]])  # > 16 tokens, > 64 frames
    before = {name: buffer.numel() for name, buffer in pipeline._buffers.flat.items()}
    result = pipeline.run(request, None, 10_000)
    got, got_lengths = result.waves.copy(), result.frame_lengths.copy()
    grown = {name for name, buffer in pipeline._buffers.flat.items() if buffer.numel() > before[name]}
    assert {"tokens", "frames", "expanded", "mel", "wave"} <= grown
    want = synth._pipeline.run(request, None, 10_000).waves
    np.testing.assert_allclose(got, want, atol=2e-6, rtol=0)
    with pytest.raises(TTSEngineError, match="predicted"):
        pipeline.run(request, None, int(got_lengths[0]) - 1)


def test_stream_windows_on_the_device_pipeline_join_into_the_full_wave(synth):
    """The streaming path of the CUDA pipeline (device mel, windows padded to a bucket and
    vocoded by the same bucketed vocoder) on the fake device: windows equal the host
    pipeline's, and joined they equal one full run."""
    from ttsengine.pipeline.streaming import stream_windows

    pipeline = fake_device_pipeline(synth)
    request = _batch(synth, [synth.frontend.segments(TEXTS[2])[0]])
    result = pipeline.run(request, None, 10_000)
    full, full_lengths = result.waves.copy(), result.frame_lengths.copy()
    mel, frame_lengths, _ = _mel(pipeline, request)
    host_mel, _, _ = _mel(synth._pipeline, request)
    np.testing.assert_array_equal(frame_lengths, full_lengths)
    total, hop, context = int(frame_lengths[0]), synth.voice.hop_length, synth._backend.vocoder_context_frames
    pieces = []
    for start, stop, left, right in stream_windows(total, 24, 192, context):
        wave, _ = pipeline.vocode_window(mel, left, right, None)
        assert wave.shape == ((right - left) * hop,)
        np.testing.assert_allclose(wave, synth._pipeline.vocode_window(host_mel, left, right, None)[0], atol=2e-6, rtol=0)
        pieces.append(wave[(start - left) * hop : (stop - left) * hop])
    np.testing.assert_allclose(np.concatenate(pieces), full[0], atol=1e-5, rtol=0)


def test_synthesizer_streams_through_the_device_pipeline(synth, monkeypatch):
    """Synthesizer.synthesize_stream drives whatever pipeline it has: with the fake device
    pipeline in place, its chunks still join into synthesize()'s audio."""
    want = synth.synthesize(TEXTS[2]).samples
    monkeypatch.setattr(synth, "_pipeline", fake_device_pipeline(synth))
    calls = []
    vocode_window = synth._pipeline.vocode_window
    monkeypatch.setattr(synth._pipeline, "vocode_window", lambda *a: calls.append(a[1:3]) or vocode_window(*a))
    got = np.concatenate([chunk.samples for chunk in synth.synthesize_stream(TEXTS[2])])
    assert len(calls) > 1
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_graphs_need_cuda(synth):
    import torch

    from ttsengine.pipeline.cuda import CudaPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    with pytest.raises(ValueError, match="CUDA"):
        CudaPipeline(synth._backend, device=torch.device("cpu"), dtype=torch.float32, limits=BufferLimits(),
                     d_model=4, n_mels=4, hop=4, graphs=True)


def test_a_gpu_runner_without_usable_cuda_module_warns_and_takes_the_host_pipeline(synth, monkeypatch, caplog):
    """_cuda not seeing the GPU torch sees is said (with the driver it needs), not silent."""
    from ttsengine import native, pipeline
    from ttsengine.native import NativeStatus
    from ttsengine.pipeline.host import HostPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    runner = type("GpuRunner", (), {"name": "torch", "device": "cuda:0", "io": "torch"})()
    detail = "compiled for sm_90, CUDA 13.0, needs NVIDIA driver R580+; 0 devices (cudaErrorInsufficientDriver: ...)"
    monkeypatch.setattr(native, "native_status", lambda name: NativeStatus("_cuda", "no GPU", detail))
    with caplog.at_level("WARNING", logger="ttsengine"):
        made = pipeline.make_pipeline(runner, limits=BufferLimits(), d_model=4, n_mels=4, hop=4)
    assert isinstance(made, HostPipeline)
    assert "torch sees the GPU" in caplog.text and detail in caplog.text


# ---------------------------------------------------------------------------- GPU only
@pytest.mark.requires_cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_cuda_graph_replay_equals_ungraphed_and_allocates_nothing_after_warmup(precision, monkeypatch):
    import torch

    from ttsengine import Synthesizer, _cuda
    from ttsengine.backends.torch_backend import TorchBackend
    from ttsengine.pipeline import make_pipeline
    from ttsengine.pipeline.cuda import CudaPipeline

    # fp32 without TF32: padded and unpadded runs then agree to float rounding, so frame
    # counts are exact. fp16: a log-duration may round across a .5 frame boundary.
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    graphed = Synthesizer("default", backend="torch", device="cuda", precision=precision)
    pipeline = graphed._pipeline
    assert isinstance(pipeline, CudaPipeline) and pipeline.graphs
    eager = make_pipeline(TorchBackend(graphed.voice, device="cuda", precision=precision, cuda_graphs=False),
                          limits=graphed.buffers, **graphed._dims)
    assert not eager.graphs
    tolerance = 1e-4 if precision == "fp32" else 2e-2
    same_frames = 0
    for text in TEXTS:
        request = _batch(graphed, [graphed.frontend.segments(text)[0]])
        result = eager.run(request, None, 10_000)
        want, want_lengths = result.waves.copy(), result.frame_lengths.copy()
        first = None
        for _ in range(3):  # capture, then replays: bit-identical to each other
            result = pipeline.run(request, None, 10_000)
            got, got_lengths = result.waves, result.frame_lengths
            if first is None:
                first = got.copy()
            np.testing.assert_array_equal(got, first)
        assert np.abs(got_lengths - want_lengths).max() <= (0 if precision == "fp32" else 1)
        if np.array_equal(got_lengths, want_lengths):
            same_frames += 1
            np.testing.assert_allclose(got, want, atol=tolerance, rtol=0)
    assert same_frames >= (len(TEXTS) if precision == "fp32" else len(TEXTS) - 1)
    for text in TEXTS:  # warm-up of the streaming windows' vocoder buckets
        list(graphed.synthesize_stream(text))
    captures, mallocs = pipeline.captures, _cuda.malloc_calls()
    torch.cuda.synchronize()
    reserved = torch.cuda.memory_reserved()
    for _ in range(50):
        for text in TEXTS:
            graphed.synthesize(text)
            list(graphed.synthesize_stream(text))
    assert pipeline.captures == captures  # every bucket was replayed, none recaptured
    assert _cuda.malloc_calls() == mallocs  # no cudaMalloc by our arena after warm-up
    assert torch.cuda.memory_reserved() == reserved  # nor by torch's caching allocator


@pytest.mark.requires_cuda
def test_cuda_stream_equals_full_and_uses_the_graphs():
    from ttsengine import Synthesizer

    synth = Synthesizer("default", backend="torch", device="cuda", precision="fp32")
    full = synth.synthesize(TEXTS[2]).samples
    captures = synth._pipeline.captures
    chunks = list(synth.synthesize_stream(TEXTS[2]))
    assert synth._pipeline.captures > captures  # the windows' vocoder buckets were captured
    np.testing.assert_allclose(np.concatenate([c.samples for c in chunks]), full, atol=1e-4, rtol=0)
