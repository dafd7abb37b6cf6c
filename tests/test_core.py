"""The native _core kernels against plain numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from ttsengine import _core


def reference_frames(log_durations, lengths, speed):
    frames = np.zeros(log_durations.shape, dtype=np.int32)
    totals = np.zeros(len(lengths), dtype=np.int64)
    for b, n in enumerate(lengths):
        d = np.maximum(np.expm1(log_durations[b, :n].astype(np.float64)), 0) / speed
        boundaries = np.rint(np.cumsum(d)).astype(np.int64)
        frames[b, :n] = np.diff(np.concatenate([[0], boundaries]))
        if n and boundaries[-1] == 0:
            frames[b, np.argmax(d)] = 1
        totals[b] = frames[b].sum()
    return frames, totals


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.7])
def test_durations_to_frames_matches_reference_and_preserves_total(speed):
    rng = np.random.default_rng(0)
    log_d = rng.uniform(-1, 3, size=(5, 40)).astype(np.float32)
    lengths = np.array([40, 33, 1, 17, 0], dtype=np.int64)
    frames, totals = _core.durations_to_frames(log_d, lengths, speed)
    ref_frames, ref_totals = reference_frames(log_d, lengths, speed)
    np.testing.assert_array_equal(frames, ref_frames)
    np.testing.assert_array_equal(totals, ref_totals)
    for b, n in enumerate(lengths):
        exact = (np.maximum(np.expm1(log_d[b, :n].astype(np.float64)), 0) / speed).sum()
        if exact >= 0.5:  # the row total is the rounded exact total: rounding loses nothing
            assert abs(int(totals[b]) - exact) <= 0.5 + 1e-6
        else:  # a non-empty row still gets one frame
            assert totals[b] == (1 if n > 0 else 0)
        assert (frames[b, n:] == 0).all() and (frames[b] >= 0).all()


def test_durations_to_frames_gives_nonempty_rows_a_frame():
    log_d = np.full((1, 4), -5.0, dtype=np.float32)  # all durations ~0
    frames, totals = _core.durations_to_frames(log_d, np.array([4]), 1.0)
    assert totals[0] == 1 and frames.sum() == 1


def test_durations_to_frames_rejects_bad_input():
    with pytest.raises(ValueError, match="speed"):
        _core.durations_to_frames(np.zeros((1, 3), np.float32), np.array([3]), 0.0)
    with pytest.raises(ValueError, match="token_lengths"):
        _core.durations_to_frames(np.zeros((1, 3), np.float32), np.array([4]), 1.0)
    with pytest.raises(ValueError, match="dimensions"):
        _core.durations_to_frames(np.zeros(3, np.float32), np.array([3]), 1.0)


def test_expand_matches_numpy():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 5, size=(3, 7)).astype(np.int32)
    frames[2, 4:] = 0
    hidden = rng.standard_normal((3, 7, 6)).astype(np.float32)
    max_frames = int(frames.sum(1).max())
    expanded = _core.expand_frames(hidden, frames, max_frames)
    for b in range(3):
        n = int(frames[b].sum())
        np.testing.assert_array_equal(expanded[b, :n], np.repeat(hidden[b], frames[b], axis=0))
        assert (expanded[b, n:] == 0).all()


def test_expand_frames_writes_into_a_given_buffer():
    frames = np.array([[2, 1]], dtype=np.int32)
    hidden = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    out = np.full((1, 4, 2), 7.0, dtype=np.float32)
    result = _core.expand_frames(hidden, frames, 4, out=out)
    assert np.shares_memory(result, out)
    np.testing.assert_array_equal(out[0], [[0, 1], [0, 1], [2, 3], [0, 0]])
    with pytest.raises(ValueError, match="out must be"):
        _core.expand_frames(hidden, frames, 4, out=np.zeros((1, 3, 2), np.float32))
    with pytest.raises(ValueError, match="out must be"):
        _core.expand_frames(hidden, frames, 4, out=np.zeros((1, 4, 2), np.float64))


def test_float_to_pcm16_clips_and_rounds():
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0, np.nan, 1 / 32767 * 0.6], dtype=np.float32)
    expected = np.array([0, 16384, -16384, 32767, -32767, 32767, -32767, 0, 1], dtype=np.int16)
    np.testing.assert_array_equal(_core.float_to_pcm16(x), expected)


# -- out= buffers -----------------------------------------------------------------------


def _bad_buffers(shape, dtype):
    """Buffers that must be refused: wrong dtype, shape, layout, read-only, not an array."""
    wrong_dtype = np.zeros(shape, np.float64 if np.dtype(dtype) != np.float64 else np.float32)
    wrong_shape = np.zeros(tuple(shape[:-1]) + (shape[-1] + 1,), dtype)
    strided = np.zeros(tuple(shape[:-1]) + (2 * shape[-1],), dtype)[..., ::2]
    read_only = np.zeros(shape, dtype)
    read_only.flags.writeable = False
    return {
        "dtype": wrong_dtype,
        "shape": wrong_shape,
        "non-contiguous": strided,
        "read-only": read_only,
        "list": np.zeros(shape, dtype).tolist(),
    }


def test_durations_to_frames_writes_into_given_buffers():
    rng = np.random.default_rng(2)
    log_d = rng.uniform(-1, 3, size=(3, 9)).astype(np.float32)
    lengths = np.array([9, 4, 0], dtype=np.int64)
    frames = np.full((3, 9), -7, np.int32)
    totals = np.full(3, -7, np.int64)
    result = _core.durations_to_frames(log_d, lengths, 1.3, frames=frames, frame_lengths=totals)
    assert result[0] is frames and result[1] is totals
    ref_frames, ref_totals = reference_frames(log_d, lengths, 1.3)
    np.testing.assert_array_equal(frames, ref_frames)
    np.testing.assert_array_equal(totals, ref_totals)
    # each buffer on its own; the other one is allocated
    only_frames = _core.durations_to_frames(log_d, lengths, 1.3, frames=frames)
    assert only_frames[0] is frames and only_frames[1] is not totals


@pytest.mark.parametrize("which", ["frames", "frame_lengths"])
def test_durations_to_frames_rejects_bad_buffers(which):
    log_d = np.zeros((2, 5), np.float32)
    lengths = np.array([5, 3], np.int64)
    shape, dtype = ((2, 5), np.int32) if which == "frames" else ((2,), np.int64)
    for problem, buffer in _bad_buffers(shape, dtype).items():
        with pytest.raises(ValueError, match=f"{which} must be a writeable C-contiguous") as info:
            _core.durations_to_frames(log_d, lengths, **{which: buffer})
        assert str(np.dtype(dtype)) in str(info.value), (problem, str(info.value))


def test_float_to_pcm16_writes_into_a_given_buffer():
    x = np.linspace(-1.5, 1.5, 24, dtype=np.float32).reshape(2, 3, 4)
    out = np.zeros((2, 3, 4), np.int16)
    assert _core.float_to_pcm16(x, out=out) is out
    expected = np.rint(np.clip(x, -1, 1) * np.float32(32767)).astype(np.int16)
    np.testing.assert_array_equal(out, expected)
    for problem, buffer in _bad_buffers((2, 3, 4), np.int16).items():
        with pytest.raises(ValueError, match="out must be a writeable C-contiguous int16"):
            _core.float_to_pcm16(x, out=buffer)


def _allocated_bytes(call):
    """Peak bytes numpy/Python allocate while ``call()`` runs (numpy reports to tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_kernels_with_buffers_copy_nothing():
    # Inputs already C-contiguous of the right dtype are used in place: with out= given,
    # a call allocates only a few small Python objects, not a copy of its 4 MB input.
    big = 1 << 20
    rng = np.random.default_rng(3)
    samples = rng.uniform(-1, 1, big).astype(np.float32)
    pcm = np.empty(big, np.int16)
    log_d = rng.uniform(-1, 3, (64, big // 64)).astype(np.float32)
    lengths = np.full(64, big // 64, np.int64)
    frames, totals = np.empty(log_d.shape, np.int32), np.empty(64, np.int64)
    expanded = np.empty((64, 64, 4), np.float32)
    hidden = rng.standard_normal((64, big // 64, 4)).astype(np.float32)
    resampler = _core.PolyphaseResampler(2, 3, np.hanning(61).astype(np.float32) / 30)
    wave = np.empty(resampler.output_length(big), np.float32)
    calls = {
        "float_to_pcm16": lambda: _core.float_to_pcm16(samples, out=pcm),
        "durations_to_frames": lambda: _core.durations_to_frames(
            log_d, lengths, frames=frames, frame_lengths=totals
        ),
        "expand_frames": lambda: _core.expand_frames(hidden, frames, 64, out=expanded),
        "process": lambda: resampler.process(samples, out=wave),
    }
    for name, call in calls.items():
        assert _allocated_bytes(call) < 64 * 1024, name
    # the check can fail: a float64 input is converted, i.e. copied
    samples64 = samples.astype(np.float64)
    assert _allocated_bytes(lambda: _core.float_to_pcm16(samples64, out=pcm)) >= 4 * big


# -- polyphase resampling -------------------------------------------------------------------

RATES = (8000, 16000, 22050, 24000, 44100, 48000)  # ttsengine.audio.SUPPORTED_SAMPLE_RATES
RESAMPLE_PAIRS = sorted(
    {(a, b) for a in RATES for b in (24000, 22050) if a != b}
    | {(b, a) for a in RATES for b in (24000, 22050) if a != b}
)
# measured: max abs error <= 3.8e-7 over these pairs and lengths (float32 taps and sums)
RESAMPLE_TOLERANCE = 1e-5


def _factors(orig, target):
    from math import gcd

    g = gcd(orig, target)
    return target // g, orig // g


def _polyphase(orig, target):
    from ttsengine.audio.resample import _lowpass

    up, down = _factors(orig, target)
    taps = _lowpass(up, down)
    return _core.PolyphaseResampler(up, down, taps.astype(np.float32)), taps


def test_resample_rates_cover_the_supported_ones():
    from ttsengine.audio import SUPPORTED_SAMPLE_RATES

    assert RATES == SUPPORTED_SAMPLE_RATES


@pytest.mark.parametrize(("orig", "target"), RESAMPLE_PAIRS)
def test_polyphase_process_matches_scipy_resample_poly(orig, target):
    from scipy.signal import resample_poly

    resampler, taps = _polyphase(orig, target)
    up, down = _factors(orig, target)
    rng = np.random.default_rng(orig + target)
    for n in (0, 1, 2, 37, 1000, 10 * orig):
        x = rng.uniform(-1, 1, n).astype(np.float32)
        y = resampler.process(x)
        expected = resample_poly(x, up, down, window=taps)
        assert y.dtype == np.float32 and y.shape == expected.shape == (resampler.output_length(n),)
        if n:
            error = float(np.abs(y - expected).max())
            assert error <= RESAMPLE_TOLERANCE, f"{orig}->{target}, n={n}: max abs error {error:.2e}"


def test_polyphase_process_against_a_direct_sum():
    # Independent of scipy: y[i] = up * sum_n x[n] h[half + i * down - n * up].
    rng = np.random.default_rng(4)
    for up, down, num_taps in ((3, 2, 9), (2, 5, 31), (7, 3, 1), (1, 4, 13)):
        taps = rng.standard_normal(num_taps).astype(np.float32)
        x = rng.uniform(-1, 1, 23).astype(np.float32)
        half = (num_taps - 1) // 2
        n_out = -(-len(x) * up // down)
        expected = np.zeros(n_out)
        for i in range(n_out):
            for n in range(len(x)):
                k = half + i * down - n * up
                if 0 <= k < num_taps:
                    expected[i] += up * float(taps[k]) * float(x[n])
        y = _core.PolyphaseResampler(up, down, taps).process(x)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)


def test_polyphase_process_rows_and_buffers():
    resampler, _ = _polyphase(24000, 16000)
    x = np.random.default_rng(5).uniform(-1, 1, (2, 3, 480)).astype(np.float32)
    out = np.empty((2, 3, 320), np.float32)
    assert resampler.process(x, out=out) is out
    for row in np.ndindex(2, 3):
        np.testing.assert_array_equal(out[row], resampler.process(x[row]))
    assert resampler.process(np.zeros((4, 0), np.float32)).shape == (4, 0)
    shared = np.zeros(3 + 2, np.float32)  # 3 in -> 2 out, overlapping
    with pytest.raises(ValueError, match="overlap"):
        resampler.process(shared[:3], out=shared[1:3])
    for problem, buffer in _bad_buffers((2, 3, 320), np.float32).items():
        with pytest.raises(ValueError, match="out must be a writeable C-contiguous float32"):
            resampler.process(x, out=buffer)


def test_polyphase_process_is_safe_to_share_between_threads():
    from concurrent.futures import ThreadPoolExecutor

    resampler, _ = _polyphase(24000, 22050)
    rng = np.random.default_rng(6)
    signals = [rng.uniform(-1, 1, 24000 + 97 * i).astype(np.float32) for i in range(8)]
    serial = [resampler.process(x) for x in signals]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(resampler.process, signals))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def _stream(resampler, parts, use_buffers=False):
    pieces = []
    for part in parts:
        out = np.empty(resampler.max_output(len(part)), np.float32) if use_buffers else None
        y = resampler.push(part, out=out)
        assert len(y) <= resampler.max_output(len(part))
        if use_buffers:
            assert y.base is out and (len(y) == 0 or np.shares_memory(y, out))
        pieces.append(y.copy())
    out = np.empty(resampler.max_output(0), np.float32) if use_buffers else None
    tail = resampler.flush(out=out)
    assert len(tail) <= resampler.max_output(0)
    return np.concatenate(pieces + [tail])


@pytest.mark.parametrize(("orig", "target"), RESAMPLE_PAIRS)
def test_polyphase_stream_equals_process(orig, target):
    resampler, _ = _polyphase(orig, target)
    rng = np.random.default_rng(orig * 3 + target)
    x = rng.uniform(-1, 1, orig // 2 + 13).astype(np.float32)
    expected = resampler.process(x)
    cuts = np.sort(rng.integers(0, len(x) + 1, size=50))  # repeated cuts: empty chunks
    for use_buffers in (False, True):
        streamed = _stream(resampler, np.split(x, cuts), use_buffers)
        assert len(streamed) == len(expected)
        error = float(np.abs(streamed - expected).max())
        assert error <= RESAMPLE_TOLERANCE, f"{orig}->{target}: stream vs one-shot {error:.2e}"


@pytest.mark.parametrize(("orig", "target"), [(24000, 16000), (22050, 24000), (8000, 22050), (44100, 24000)])
def test_polyphase_stream_sample_by_sample_and_edge_cases(orig, target):
    resampler, _ = _polyphase(orig, target)
    x = np.random.default_rng(7).uniform(-1, 1, 2000).astype(np.float32)
    expected = resampler.process(x)
    streamed = _stream(resampler, [x[i : i + 1] for i in range(len(x))])
    assert np.abs(streamed - expected).max() <= RESAMPLE_TOLERANCE
    # everything in one push; one sample only; nothing at all
    np.testing.assert_allclose(_stream(resampler, [x]), expected, rtol=0, atol=RESAMPLE_TOLERANCE)
    np.testing.assert_allclose(_stream(resampler, [x[:1]]), resampler.process(x[:1]), rtol=0, atol=1e-6)
    assert resampler.flush().shape == (0,)
    # reset drops a half-fed signal
    resampler.push(x[:500])
    resampler.reset()
    np.testing.assert_allclose(_stream(resampler, [x]), expected, rtol=0, atol=RESAMPLE_TOLERANCE)


def test_polyphase_stream_rejects_small_buffers():
    resampler, _ = _polyphase(24000, 48000)
    x = np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="at least"):
        resampler.push(x, out=np.empty(resampler.max_output(100) - 1, np.float32))
    with pytest.raises(ValueError, match="float32"):
        resampler.push(x, out=np.empty(resampler.max_output(100), np.float64))
    with pytest.raises(ValueError, match="at least"):
        resampler.flush(out=np.empty(0, np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        resampler.push(np.zeros((2, 5), np.float32))


def test_polyphase_resampler_rejects_bad_arguments():
    taps = np.ones(9, np.float32)
    with pytest.raises(ValueError, match="odd"):
        _core.PolyphaseResampler(2, 3, np.ones(8, np.float32))
    with pytest.raises(ValueError, match="coprime"):
        _core.PolyphaseResampler(4, 6, taps)
    with pytest.raises(ValueError, match="nothing to resample"):
        _core.PolyphaseResampler(1, 1, taps)
    with pytest.raises(ValueError, match=">= 1"):
        _core.PolyphaseResampler(0, 3, taps)
    with pytest.raises(ValueError, match="dimensions"):
        _core.PolyphaseResampler(2, 3, np.ones((3, 3), np.float32))
    resampler = _core.PolyphaseResampler(2, 3, taps)
    assert (resampler.up, resampler.down) == (2, 3)
    assert [resampler.output_length(n) for n in (0, 1, 2, 3, 4)] == [0, 1, 2, 2, 3]
    with pytest.raises(ValueError):
        resampler.output_length(-1)
