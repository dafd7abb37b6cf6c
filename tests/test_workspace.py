"""Preallocated pipeline buffers: the workspace, its pool, and a flat steady state."""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

from ttsengine import Synthesizer
from ttsengine.errors import InvalidInputError
from ttsengine.pipeline.workspace import BufferLimits, Workspace, WorkspacePool

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")

DIMS = dict(d_model=8, n_mels=4, hop=16)


def test_views_share_the_preallocated_buffer():
    workspace = Workspace(BufferLimits(max_batch=2, max_tokens=10, max_frames=20), **DIMS)
    before = workspace.nbytes
    first = workspace.take("expanded", (2, 20, 8), np.float32)
    first[:] = 1.0
    second = workspace.take("expanded", (1, 5, 8), np.float32)
    assert second.flags.c_contiguous and second.shape == (1, 5, 8)
    assert np.shares_memory(first, second)
    assert (second == 1.0).all()  # the same memory, nothing new
    assert workspace.grow_count == 0 and workspace.nbytes == before


def test_a_request_beyond_the_limits_grows_once_and_is_correct():
    workspace = Workspace(BufferLimits(max_batch=1, max_tokens=4, max_frames=8), **DIMS)
    big = workspace.take("tokens", (3, 50), np.int64)
    big[:] = np.arange(150).reshape(3, 50)
    assert workspace.grow_count == 1 and big.shape == (3, 50)
    again = workspace.take("tokens", (3, 50), np.int64)
    assert workspace.grow_count == 1 and np.shares_memory(big, again)
    np.testing.assert_array_equal(again, np.arange(150).reshape(3, 50))


def test_dtype_mismatch_and_bad_limits_raise():
    workspace = Workspace(BufferLimits(), **DIMS)
    with pytest.raises(TypeError, match="int64"):
        workspace.take("tokens", (1, 3), np.float32)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidInputError, match="max_frames"):
            BufferLimits(max_frames=bad)
    with pytest.raises(InvalidInputError, match="BufferLimits"):
        Synthesizer("default", buffers={"max_batch": 2})


def test_pool_gives_each_request_in_flight_its_own_workspace():
    pool = WorkspacePool(BufferLimits(), **DIMS)
    inside = threading.Barrier(2)
    seen: list[int] = []

    def request() -> None:
        with pool.acquire() as workspace:
            seen.append(id(workspace))
            inside.wait(timeout=10)  # both requests hold a workspace at once

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 2 and pool.created == 2
    for _ in range(5):  # sequential requests reuse, never create
        with pool.acquire():
            pass
    assert pool.created == 2


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


TEXTS = ["Hello there.", "A second, slightly longer sentence follows here.", "Three; four!"]


def _steady_state(synth: Synthesizer, requests: int) -> tuple[int, int, int]:
    """Over ``requests`` warm requests: (peak RSS of the second half minus the peak of the
    first half, Python heap growth, workspace buffer growths)."""
    def one(i: int) -> None:
        text = TEXTS[i % len(TEXTS)]
        if i % 5 == 4:
            for _ in synth.synthesize_stream(text, sample_rate=16000):
                pass
        elif i % 5 == 3:
            synth.synthesize_batch(TEXTS)
        else:
            synth.synthesize(text)

    for i in range(30):  # warm-up: every shape, the allocators' caches and pools settle
        one(i)
    gc.collect()
    grown = synth._workspaces.grow_count
    tracemalloc.start()
    heap = tracemalloc.get_traced_memory()[0]
    peaks = [0, 0]
    for i in range(requests):
        one(i)
        if i % 10 == 9:  # peaks, not single samples: glibc keeps or returns freed pages at will
            half = 2 * i // requests
            peaks[half] = max(peaks[half], _rss_bytes())
    gc.collect()
    heap_growth = tracemalloc.get_traced_memory()[0] - heap
    tracemalloc.stop()
    return peaks[1] - peaks[0], heap_growth, synth._workspaces.grow_count - grown


# Bounds: the pipeline's own buffers must not grow at all. The process's peak RSS over the
# second 100 requests may exceed that of the first 100 by a little, far below what a leak
# of one request's arrays would add (the default voice's 2 s wave is 0.2 MiB, its
# frame-rate hidden 0.4 MiB: x100 requests = 20-60 MiB). Measured (2-core Xeon):
# onnxruntime +0.0 MiB; torch's RSS samples scatter by +-10 MiB (glibc keeps or returns
# its freed activations), its peaks by up to 5 MiB under load. The Python heap grows
# ~45 KiB over the 200 (small objects cached by phonemizer/numpy/onnxruntime, slowing
# down with more requests); one leaked pipeline array per request would be MiBs.
RSS_BOUND = {"onnxruntime": 1 << 20, "torch": 16 << 20}
HEAP_BOUND = 256 << 10


_MEASURE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("workspace_tests", sys.argv[1])
tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tests)
from ttsengine import Synthesizer
synth = Synthesizer(sys.argv[2], backend=sys.argv[3], device="cpu")
print(json.dumps([*tests._steady_state(synth, 200), synth._workspaces.created]))
"""


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("torch", marks=requires_torch)])
def test_steady_state_memory_is_flat(backend, small_onnx_voice, tmp_path):
    pytest.importorskip(backend)
    # A fresh process: the threads, sessions and allocator state that earlier tests leave in
    # this one made its RSS drift by several MiB, which is not this pipeline's memory.
    proc = subprocess.run([sys.executable, "-c", _MEASURE, __file__, str(small_onnx_voice), backend],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rss_growth, heap_growth, workspace_growths, created = json.loads(proc.stdout.strip().splitlines()[-1])
    assert workspace_growths == 0
    assert created == 1
    assert heap_growth < HEAP_BOUND, f"Python heap grew {heap_growth} B over 200 warm requests"
    assert rss_growth < RSS_BOUND[backend], f"peak RSS grew {rss_growth / 2**20:.2f} MiB over 200 warm requests"


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("torch", marks=requires_torch)])
def test_backend_outputs_land_in_the_workspace(backend, small_onnx_voice):
    pytest.importorskip(backend)
    synth = Synthesizer(small_onnx_voice, backend=backend, device="cpu")
    d_model = int(synth.voice.acoustic["hparams"]["d_model"])
    workspace = Workspace(BufferLimits(), d_model=d_model, n_mels=synth.voice.n_mels, hop=synth.voice.hop_length)
    from ttsengine.synthesizer import _Job

    batch = synth._batch([_Job(0, s, 0, 1.0) for s in synth.frontend.segments("In place, please.")], workspace)
    tokens, lengths, speakers = batch.tokens, batch.token_lengths, batch.speakers
    waves, frame_lengths = synth._pipeline.synthesize(tokens, lengths, speakers, 1.0, workspace, 10_000)
    for name, array in (("wave", waves), ("frame_lengths", frame_lengths)):
        assert np.shares_memory(array, workspace.take(name, array.shape, array.dtype)), name
    expanded = workspace.take("expanded", (1, int(frame_lengths[0]), d_model), np.float32)
    assert np.abs(expanded).max() > 0  # the buffer starts as zeros: the regulator wrote here
    # and the result equals a run without a workspace (fresh arrays)
    fresh, fresh_lengths = synth._pipeline.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    np.testing.assert_array_equal(fresh_lengths, frame_lengths)
    np.testing.assert_allclose(fresh, waves, atol=1e-6)
    assert workspace.grow_count == 0
