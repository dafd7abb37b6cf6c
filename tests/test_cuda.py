"""ttsengine._cuda: what can be checked without a GPU (it imports, reports no device, fails
cleanly, validates arguments before touching the device) and, marked ``requires_cuda``, the
kernels against the CPU kernels of ``_core``, arena reuse, CUDA-graph replay, DLPack and
pinned buffers on a real device."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from ttsengine import _core
from ttsengine.native import build_info

INFO = build_info()
CUDA_BUILT = INFO is not None and INFO.CUDA["compiled"]

pytestmark = pytest.mark.skipif(not CUDA_BUILT, reason="ttsengine._cuda not compiled in this build")


@pytest.fixture(scope="module")
def cuda():
    from ttsengine import _cuda  # compiled: must import (a failure here is a real failure)

    return _cuda


@pytest.fixture(scope="module")
def no_device(cuda):
    if cuda.device_count() > 0:
        pytest.skip("a CUDA device is present: the no-device behaviour cannot be checked here")
    return cuda


# ----------------------------------------------------------------- without a GPU


def test_module_facts_match_the_build(cuda):
    assert cuda.runtime_version() > 0
    archs = cuda.compiled_architectures()
    assert 90 in archs, "the H100 (sm_90) must always be compiled in"
    assert archs == sorted({int(a.split("-")[0].rstrip("af")) for a in INFO.CUDA["architectures"]})
    assert INFO.CUDA["nvcc"] and INFO.CUDA["reason"] is None
    assert cuda.runtime_version() // 1000 == int(INFO.CUDA["nvcc"].split(".")[0])
    assert issubclass(cuda.CudaError, RuntimeError)
    assert isinstance(cuda.malloc_calls(), int)


def test_reports_no_device_without_a_driver(no_device):
    cuda = no_device
    assert cuda.device_count() == 0
    status = cuda.driver_status()
    assert status != "ok" and status.startswith("cudaError") and ": " in status


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda c: c.Arena(1 << 20), "Arena: cannot allocate 1048576 bytes on CUDA device 0"),
        (lambda c: c.Stream(), "Stream: cannot create a stream on CUDA device 0"),
    ],
)
def test_device_objects_raise_cuda_error_without_a_device(no_device, make, what):
    with pytest.raises(no_device.CudaError) as raised:
        make(no_device)
    message = str(raised.value)
    assert message.startswith(what)
    assert "cudaError" in message and "(in cuda" in message  # the CUDA error and the call


def test_arguments_are_validated_before_the_device_is_touched(cuda):
    bad_calls = {
        "batch must be >= 0": lambda: cuda.durations_to_frames(8, 8, -1, 4, 1.0, 8, 8),
        "max_tokens must be >= 0": lambda: cuda.durations_to_frames(8, 8, 1, -4, 1.0, 8, 8),
        "speed must be a positive": lambda: cuda.durations_to_frames(8, 8, 1, 4, 0.0, 8, 8),
        "token_lengths is a null pointer": lambda: cuda.durations_to_frames(8, 0, 1, 4, 1.0, 8, 8),
        "frames is a null pointer": lambda: cuda.durations_to_frames(8, 8, 1, 4, 1.0, 0, 8),
        "max_frames must be >= 0": lambda: cuda.expand_frames(8, 8, 1, 4, 2, -1, 8),
        "out is a null pointer": lambda: cuda.expand_frames(8, 8, 1, 4, 2, 10, 0),
        "max_tokens must be <= 8192": lambda: cuda.expand_frames(8, 8, 1, 8193, 2, 10, 8),
        "dim must be >= 0": lambda: cuda.expand_frames(8, 8, 1, 4, -2, 10, 8),
        "dtype must be float32 or float16": lambda: cuda.expand_frames(8, 8, 1, 4, 2, 10, 8, "int32"),
        "unsupported dtype 'bfloat16'": lambda: cuda.expand_frames(8, 8, 1, 4, 2, 10, 8, "bfloat16"),
        "hidden is a null pointer": lambda: cuda.expand_frames(0, 8, 1, 4, 2, 10, 8),
        "batch must be <= 65535": lambda: cuda.expand_frames(8, 8, 70000, 4, 2, 10, 8),
        "Arena: nbytes must be > 0": lambda: cuda.Arena(0),
    }
    calls_before = cuda.malloc_calls()
    for message, call in bad_calls.items():
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()
    assert cuda.malloc_calls() == calls_before
    # Empty work is a no-op that touches nothing (even with null pointers).
    assert cuda.durations_to_frames(0, 0, 0, 0, 1.0, 0, 0) is None
    assert cuda.expand_frames(0, 0, 2, 0, 4, 0, 0, "float16") is None


# ----------------------------------------------------------------- on a GPU


@pytest.fixture(scope="module")
def torch_cuda(cuda):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here (the kernel tests use torch CUDA tensors)")
    return torch


def _on_gpu(torch, array):
    return torch.from_numpy(np.ascontiguousarray(array)).cuda()


def _random_durations(rng, batch, tokens):
    log_d = rng.uniform(-1.0, 3.0, size=(batch, tokens)).astype(np.float32)
    lengths = rng.integers(1, tokens + 1, size=batch).astype(np.int64)
    lengths[0] = tokens
    if batch > 2:
        lengths[1] = 0  # an empty row
        log_d[2, :] = -4.0  # a row that rounds to zero frames: its longest token gets one
        log_d[2, 3] = np.log1p(0.2)  # 0.2 / speed frames
        lengths[2] = max(lengths[2], 4)
    return log_d, lengths


@pytest.mark.requires_cuda
@pytest.mark.parametrize("speed", [0.5, 1.0, 1.7])
def test_durations_to_frames_equals_core(cuda, torch_cuda, speed):
    torch = torch_cuda
    rng = np.random.default_rng(int(speed * 10))
    for batch, tokens in [(1, 1), (5, 40), (16, 300)]:
        log_d, lengths = _random_durations(rng, batch, tokens)
        ref_frames, ref_totals = _core.durations_to_frames(log_d, lengths, speed)
        d_log, d_len = _on_gpu(torch, log_d), _on_gpu(torch, lengths)
        frames = torch.full((batch, tokens), -7, dtype=torch.int32, device="cuda")
        totals = torch.full((batch,), -7, dtype=torch.int64, device="cuda")
        stream = cuda.Stream()
        torch.cuda.synchronize()  # the fills above ran on torch's stream, not on `stream`
        cuda.durations_to_frames(
            d_log.data_ptr(), d_len.data_ptr(), batch, tokens, speed, frames.data_ptr(), totals.data_ptr(), stream.handle
        )
        stream.synchronize()
        np.testing.assert_array_equal(frames.cpu().numpy(), ref_frames)
        np.testing.assert_array_equal(totals.cpu().numpy(), ref_totals)


@pytest.mark.requires_cuda
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_expand_frames_equals_core(cuda, torch_cuda, dtype):
    torch = torch_cuda
    rng = np.random.default_rng(2)
    for batch, tokens, dim in [(1, 1, 1), (3, 17, 8), (4, 200, 384), (2, 5, 1000)]:
        hidden = rng.standard_normal((batch, tokens, dim)).astype(dtype)
        frames = rng.integers(0, 5, size=(batch, tokens)).astype(np.int32)
        longest = int(frames.sum(axis=1).max())
        for max_frames in (max(longest // 3, 1), longest + 7):
            ref = _core.expand_frames(hidden.astype(np.float32), frames, max_frames).astype(dtype)
            out = torch.full((batch, max_frames, dim), 5.0, dtype=getattr(torch, dtype), device="cuda")
            # Held in locals: a temporary's memory goes back to torch's cache at once, and the
            # next tensor would reuse it before the kernel reads it.
            d_hidden, d_frames = _on_gpu(torch, hidden), _on_gpu(torch, frames)
            cuda.expand_frames(
                d_hidden.data_ptr(),
                d_frames.data_ptr(),
                batch,
                tokens,
                dim,
                max_frames,
                out.data_ptr(),
                dtype,
                0,
            )
            torch.cuda.synchronize()
            np.testing.assert_array_equal(out.cpu().numpy(), ref)


_GUARD = 32  # guard cells on each side of a device output
NON_FINITE_TOTAL = -1  # kNonFiniteDurations (csrc/core/length_regulator.h)


def _guarded(torch, count, dtype, sentinel):
    """(whole buffer filled with sentinel, pointer to its middle `count` cells)."""
    whole = torch.full((count + 2 * _GUARD,), sentinel, dtype=dtype, device="cuda")
    return whole, whole[_GUARD:].data_ptr()


def _middle(whole, shape, sentinel):
    """The middle cells as numpy of `shape`, after checking both guards are untouched."""
    host = whole.cpu().numpy()
    assert (host[:_GUARD] == sentinel).all() and (host[-_GUARD:] == sentinel).all(), "wrote out of bounds"
    return host[_GUARD:-_GUARD].reshape(shape)


@pytest.mark.requires_cuda
def test_durations_to_frames_non_finite_equals_core(cuda, torch_cuda):
    """NaN, +-inf and huge log-durations (an fp16 overflow): the GPU saturates per token and
    marks a row with a NaN by a total of -1 and zero frames, exactly like _core; NaN in the
    padding is ignored; nothing is written past the outputs."""
    torch = torch_cuda
    rng = np.random.default_rng(5)
    specials = [np.nan, np.inf, -np.inf, 1e30, -1e30, 30.0]
    for batch, tokens in [(1, 5), (6, 40), (7, 300)]:  # 300 tokens: more than one thread chunk
        log_d, lengths = _random_durations(rng, batch, tokens)
        for b in range(batch):
            n = int(lengths[b])
            if n:
                log_d[b, rng.integers(0, n)] = specials[b % len(specials)]
            log_d[b, n:] = np.nan
        if tokens > 200:
            log_d[0, :] = 0.5
            log_d[0, 200] = np.nan  # only in the second chunk of 128 tokens
        for speed in (1.0, 1e-30):
            ref_frames, ref_totals = _core.durations_to_frames(log_d, lengths, speed)
            assert NON_FINITE_TOTAL in ref_totals.tolist()
            d_log, d_len = _on_gpu(torch, log_d), _on_gpu(torch, lengths)
            frames, frames_ptr = _guarded(torch, batch * tokens, torch.int32, -777)
            totals, totals_ptr = _guarded(torch, batch, torch.int64, -777)
            torch.cuda.synchronize()
            cuda.durations_to_frames(d_log.data_ptr(), d_len.data_ptr(), batch, tokens, speed, frames_ptr, totals_ptr, 0)
            torch.cuda.synchronize()
            np.testing.assert_array_equal(_middle(frames, (batch, tokens), -777), ref_frames)
            np.testing.assert_array_equal(_middle(totals, (batch,), -777), ref_totals)


@pytest.mark.requires_cuda
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_expand_accepts_any_counts_like_core(cuda, torch_cuda, dtype):
    """Negative, INT32_MAX and INT32_MIN frame counts: same result as _core, in bounds."""
    torch = torch_cuda
    rng = np.random.default_rng(6)
    batch, tokens, dim = 5, 40, 3
    frames = rng.integers(-3, 6, size=(batch, tokens)).astype(np.int32)
    frames[0, :3] = [1, -1, 0]  # what a NaN used to produce
    frames[1, 5] = np.iinfo(np.int32).max
    frames[2, ::7] = np.iinfo(np.int32).min
    frames[3, :] = -5
    hidden = rng.standard_normal((batch, tokens, dim)).astype(dtype)
    for max_frames in (1, 7, 64, 500):
        d_frames, d_hidden = _on_gpu(torch, frames), _on_gpu(torch, hidden)
        out, out_ptr = _guarded(torch, batch * max_frames * dim, getattr(torch, dtype), 777.0)
        torch.cuda.synchronize()
        cuda.expand_frames(d_hidden.data_ptr(), d_frames.data_ptr(), batch, tokens, dim, max_frames, out_ptr, dtype, 0)
        torch.cuda.synchronize()
        ref = _core.expand_frames(hidden.astype(np.float32), frames, max_frames).astype(dtype)
        np.testing.assert_array_equal(_middle(out, (batch, max_frames, dim), 777.0), ref)


@pytest.mark.requires_cuda
def test_arena_allocates_without_cuda_malloc_after_warm_up(cuda, torch_cuda):
    arena = cuda.Arena(1 << 20)
    assert arena.capacity == 1 << 20 and arena.used == 0 and arena.device == 0
    shapes = [((4, 100), "float32"), ((4,), "int64"), ((4, 100), "int32"), ((3, 50, 7), "float16"), ((9,), "int16")]
    before = cuda.malloc_calls()
    for _ in range(50):
        buffers = [arena.alloc(shape, dtype) for shape, dtype in shapes]
        for buf, (shape, dtype) in zip(buffers, shapes):
            assert buf.ptr % 256 == 0 and buf.shape == shape and buf.dtype == dtype
            assert buf.nbytes == int(np.prod(shape)) * np.dtype(dtype).itemsize
        assert len({b.ptr for b in buffers}) == len(buffers)
        torch_cuda.from_dlpack(buffers[0]).zero_()  # touches the memory
        arena.reset()
        assert arena.used == 0
    torch_cuda.cuda.synchronize()
    assert cuda.malloc_calls() == before
    big = arena.alloc((1 << 18,), "float32")  # the whole arena
    with pytest.raises(MemoryError, match="Arena full"):
        arena.alloc((1,), "float32")
    with pytest.raises(ValueError, match="view needs"):
        big.view((1 << 18, 2))
    assert big.view((16, 4)).ptr == big.ptr


@pytest.mark.requires_cuda
def test_torch_cuda_graph_captures_our_kernels(cuda, torch_cuda):
    """How the CUDA pipeline captures: a torch CUDA graph over our kernels on our stream."""
    torch = torch_cuda
    rng = np.random.default_rng(4)
    batch, tokens, dim, max_frames = 4, 60, 32, 400
    arena = cuda.Arena(8 << 20)
    log_d = torch.from_dlpack(arena.alloc((batch, tokens), "float32"))
    lengths = torch.from_dlpack(arena.alloc((batch,), "int64"))
    hidden = torch.from_dlpack(arena.alloc((batch, tokens, dim), "float32"))
    frames = torch.from_dlpack(arena.alloc((batch, tokens), "int32"))
    totals = torch.from_dlpack(arena.alloc((batch,), "int64"))
    out = torch.from_dlpack(arena.alloc((batch, max_frames, dim), "float32"))
    stream = cuda.Stream()
    external = torch.cuda.ExternalStream(stream.handle)

    def fill_inputs():
        log_d.copy_(torch.from_numpy(rng.uniform(-1, 2, (batch, tokens)).astype(np.float32)))
        lengths.copy_(torch.from_numpy(rng.integers(1, tokens + 1, batch).astype(np.int64)))
        hidden.copy_(torch.from_numpy(rng.uniform(-1, 1, (batch, tokens, dim)).astype(np.float32)))
        torch.cuda.synchronize()

    def launch():
        h = stream.handle
        cuda.durations_to_frames(log_d.data_ptr(), lengths.data_ptr(), batch, tokens, 1.0, frames.data_ptr(), totals.data_ptr(), h)
        cuda.expand_frames(hidden.data_ptr(), frames.data_ptr(), batch, tokens, dim, max_frames, out.data_ptr(), "float32", h)

    def outputs():
        return [t.cpu().numpy().copy() for t in (frames, totals, out)]

    fill_inputs()
    launch()
    stream.synchronize()
    eager = outputs()
    for t in (frames, totals, out):
        t.zero_()
    torch.cuda.synchronize()
    before = cuda.malloc_calls()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=external):
        launch()
    with torch.cuda.stream(external):
        graph.replay()
    stream.synchronize()
    for got, want in zip(outputs(), eager):
        np.testing.assert_array_equal(got, want)
    fill_inputs()  # new inputs in the same buffers: the replay reads them
    with torch.cuda.stream(external):
        graph.replay()
    stream.synchronize()
    replayed = outputs()
    launch()
    stream.synchronize()
    for got, want in zip(replayed, outputs()):
        np.testing.assert_array_equal(got, want)
    assert cuda.malloc_calls() == before


@pytest.mark.requires_cuda
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "int64", "int16"])
def test_dlpack_shares_memory_with_torch(cuda, torch_cuda, dtype):
    torch = torch_cuda
    arena = cuda.Arena(1 << 16)
    buf = arena.alloc((4, 8), dtype)
    assert buf.__dlpack_device__() == (2, 0)
    tensor = torch.from_dlpack(buf)
    assert tensor.device.type == "cuda" and tensor.dtype == getattr(torch, dtype)
    assert tuple(tensor.shape) == (4, 8) and tensor.is_contiguous() and tensor.data_ptr() == buf.ptr
    legacy = torch.utils.dlpack.from_dlpack(buf.__dlpack__())  # the unversioned capsule too
    assert legacy.data_ptr() == buf.ptr


@pytest.mark.requires_cuda
def test_dlpack_writes_are_visible_through_ptr_and_keep_the_arena_alive(cuda, torch_cuda):
    torch = torch_cuda
    arena = cuda.Arena(1 << 16)
    buf = arena.alloc((64,), "float32")
    tensor = torch.from_dlpack(buf)
    tensor.fill_(0.5)
    torch.cuda.synchronize()
    ones = torch.ones(64, dtype=torch.int32, device="cuda")
    copy = torch.zeros(64, dtype=torch.float32, device="cuda")
    cuda.expand_frames(buf.ptr, ones.data_ptr(), 1, 64, 1, 64, copy.data_ptr(), "float32", 0)  # reads by address
    torch.cuda.synchronize()
    assert (copy.cpu().numpy() == 0.5).all()
    del arena, buf
    gc.collect()
    tensor.add_(0.25)  # the capsule's reference still holds the device memory
    torch.cuda.synchronize()
    assert torch.allclose(tensor.cpu(), torch.full((64,), 0.75))
