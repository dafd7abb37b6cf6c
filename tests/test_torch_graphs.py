"""The torch backend's bucketed (CUDA-graph) pipeline.

On the CPU it runs the same bucketing, padding and regulator steps without graphs: each
row must equal the eager reference (padding is inert). On a GPU (``requires_cuda``) the
captured graphs must replay to the eager output and allocate nothing after warm-up.
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


def _reference_and_pipeline(voice):
    import torch

    from ttsengine import Synthesizer
    from ttsengine.backends.torch_graphs import GraphedPipeline
    from ttsengine.workspace import BufferLimits

    synth = Synthesizer(voice, backend="torch", device="cpu")
    backend = synth._backend
    pipeline = GraphedPipeline(
        backend.acoustic, backend.vocoder, device=torch.device("cpu"), dtype=torch.float32,
        limits=BufferLimits(max_batch=2, max_tokens=16, max_frames=64),  # small: growth is exercised
        d_model=int(synth.voice.acoustic["hparams"]["d_model"]), hop=synth.voice.hop_length, graphs=False,
    )
    return synth, backend, pipeline


@pytest.mark.parametrize("speed", [1.0, 1.7])
def test_bucketed_pipeline_equals_eager_per_row(speed, small_onnx_voice):
    from ttsengine.backends.torch_graphs import FRAME_BUCKET, TOKEN_BUCKET

    synth, backend, pipeline = _reference_and_pipeline(small_onnx_voice)
    segments = [synth.frontend.segments(text)[0] for text in TEXTS]
    for batch in ([segments[0]], [segments[2]], segments):
        tokens, lengths, speakers = synth._inputs(batch, [0] * len(batch), synth._workspaces._free[0])
        tokens, lengths, speakers = tokens.copy(), lengths.copy(), speakers.copy()
        assert tokens.shape[1] % TOKEN_BUCKET != 0  # the pipeline really pads tokens
        want, want_lengths = backend.synthesize(tokens, lengths, speakers, speed, None, 10_000)
        got, got_lengths = pipeline.synthesize(tokens, lengths, speakers, speed, None, 10_000)
        np.testing.assert_array_equal(got_lengths, want_lengths)
        assert int(want_lengths.max()) % FRAME_BUCKET != 0  # ... and frames
        assert got.shape == want.shape
        for row, n in enumerate(want_lengths):
            samples = int(n) * synth.voice.hop_length
            np.testing.assert_allclose(got[row, :samples], want[row, :samples], atol=2e-6, rtol=0)


def test_pipeline_grows_past_its_limits_and_refuses_runaway_durations(small_onnx_voice):
    from ttsengine.errors import TTSEngineError

    synth, backend, pipeline = _reference_and_pipeline(small_onnx_voice)
    segment = synth.frontend.segments(TEXTS[2])[0]  # > 16 tokens, > 64 frames: both grow
    tokens, lengths, speakers = (a.copy() for a in synth._inputs([segment], [0], synth._workspaces._free[0]))
    got, got_lengths = pipeline.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    want, _ = backend.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    np.testing.assert_allclose(got, want, atol=2e-6, rtol=0)
    with pytest.raises(TTSEngineError, match="predicted"):
        pipeline.synthesize(tokens, lengths, speakers, 1.0, None, int(got_lengths[0]) - 1)


def test_graphs_need_cuda():
    import torch

    from ttsengine.backends.torch_graphs import GraphedPipeline
    from ttsengine.workspace import BufferLimits

    with pytest.raises(ValueError, match="CUDA"):
        GraphedPipeline(torch.nn.Identity(), torch.nn.Identity(), device=torch.device("cpu"), dtype=torch.float32,
                        limits=BufferLimits(), d_model=4, hop=4, graphs=True)


# ---------------------------------------------------------------------------- GPU only
@pytest.mark.requires_cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_cuda_graph_replay_equals_eager_and_allocates_nothing_after_warmup(precision, monkeypatch):
    import torch

    from ttsengine import Synthesizer, _cuda
    from ttsengine.backends.torch_backend import TorchBackend

    # fp32 without TF32: padded and unpadded runs then agree to float rounding, so frame
    # counts are exact. fp16: a log-duration may round across a .5 frame boundary.
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    graphed = Synthesizer("default", backend="torch", device="cuda", precision=precision)
    assert graphed._backend.cuda_graphs
    eager = TorchBackend(graphed.voice, device="cuda", precision=precision, cuda_graphs=False)
    tolerance = 1e-4 if precision == "fp32" else 2e-2
    same_frames = 0
    for text in TEXTS:
        segment = graphed.frontend.segments(text)[0]
        tokens, lengths, speakers = (a.copy() for a in graphed._inputs([segment], [0], graphed._workspaces._free[0]))
        want, want_lengths = eager.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
        first = None
        for _ in range(3):  # capture, then replays: bit-identical to each other
            got, got_lengths = graphed._backend.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
            if first is None:
                first = got.copy()
            np.testing.assert_array_equal(got, first)
        assert np.abs(got_lengths - want_lengths).max() <= (0 if precision == "fp32" else 1)
        if np.array_equal(got_lengths, want_lengths):
            same_frames += 1
            np.testing.assert_allclose(got, want, atol=tolerance, rtol=0)
    assert same_frames >= (len(TEXTS) if precision == "fp32" else len(TEXTS) - 1)
    pipeline = graphed._backend._graphed
    captures, mallocs = pipeline.captures, _cuda.malloc_calls()
    torch.cuda.synchronize()
    reserved = torch.cuda.memory_reserved()
    for _ in range(50):
        for text in TEXTS:
            graphed.synthesize(text)
    assert pipeline.captures == captures  # every bucket was replayed, none recaptured
    assert _cuda.malloc_calls() == mallocs  # no cudaMalloc by our arena after warm-up
    assert torch.cuda.memory_reserved() == reserved  # nor by torch's caching allocator
