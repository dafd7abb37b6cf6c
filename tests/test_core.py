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


def test_frame_index_and_expand_match_numpy():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 5, size=(3, 7)).astype(np.int32)
    frames[2, 4:] = 0
    hidden = rng.standard_normal((3, 7, 6)).astype(np.float32)
    max_frames = int(frames.sum(1).max())
    index = _core.frame_index(frames, max_frames)
    expanded = _core.expand_frames(hidden, frames, max_frames)
    for b in range(3):
        ref_index = np.repeat(np.arange(7), frames[b])
        n = len(ref_index)
        np.testing.assert_array_equal(index[b, :n], ref_index)
        assert (index[b, n:] == -1).all()
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
