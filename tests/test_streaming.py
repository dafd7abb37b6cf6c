"""Chunk planning and the stateful stream resampler."""

from __future__ import annotations

import numpy as np
import pytest
from ttsengine.audio import SUPPORTED_SAMPLE_RATES, StreamResampler, resample
from ttsengine.pipeline.streaming import plan_chunks, stream_windows


@pytest.mark.parametrize("total", [0, 1, 23, 24, 25, 500, 1000])
def test_plan_chunks_covers_every_frame_once_and_grows(total):
    chunks = list(plan_chunks(total, 24, 192))
    covered = [f for start, stop in chunks for f in range(start, stop)]
    assert covered == list(range(total))
    sizes = [stop - start for start, stop in chunks]
    assert all(s <= 192 for s in sizes)
    if sizes:
        assert sizes[0] == min(24, total)


@pytest.mark.parametrize("target", SUPPORTED_SAMPLE_RATES)
def test_stream_resampler_equals_one_shot_resampling(target):
    rng = np.random.default_rng(target)
    signal = rng.standard_normal(24000 + 77).astype(np.float32)
    cuts = np.sort(rng.choice(np.arange(1, len(signal)), size=40, replace=False))
    resampler = StreamResampler(24000, target)
    pieces = [resampler.push(part) for part in np.split(signal, cuts)]
    pieces.append(resampler.flush())
    streamed = np.concatenate(pieces)
    expected = resample(signal, 24000, target)
    assert len(streamed) == len(expected)
    error = float(np.abs(streamed - expected).max())
    assert error < 1e-5, f"stream vs one-shot resampling max abs error {error:.2e}"


def test_stream_windows_by_hand():
    assert stream_windows(100, 24, 48, 10) == [(0, 24, 0, 34), (24, 72, 14, 82), (72, 100, 62, 100)]
    assert stream_windows(5, 1, 1, 0) == [(i, i + 1, i, i + 1) for i in range(5)]


@pytest.mark.parametrize("total", [0, 1, 23, 24, 25, 500, 1000])
@pytest.mark.parametrize("context", [0, 10, 400])
def test_stream_windows_match_reference_and_plan_chunks(total, context):
    windows = stream_windows(total, 24, 192, context)
    chunks = [(a, b) for a, b, _, _ in windows]
    # contiguous chunks covering [0, total); sizes 24, 48, 96, then 192 (the last one shorter)
    assert [a for a, _ in chunks] == ([0] + [b for _, b in chunks[:-1]] if total else [])
    assert chunks[-1][1] == total if total else chunks == []
    sizes = [b - a for a, b in chunks]
    assert all(size == min(192, 24 * 2 ** i) for i, size in enumerate(sizes[:-1]))
    assert not sizes or 0 < sizes[-1] <= min(192, 24 * 2 ** (len(sizes) - 1))
    # each window is its chunk plus `context` frames each side, clipped to the mel
    assert all((lo, hi) == (max(0, a - context), min(total, b + context)) for a, b, lo, hi in windows)
    assert plan_chunks(total, 24, 192) == chunks


def test_plan_chunks_checks_arguments_at_the_call():
    with pytest.raises(ValueError, match="first <= largest"):
        plan_chunks(10, 0, 5)  # raised before any iteration
    with pytest.raises(ValueError, match="first <= largest"):
        plan_chunks(10, 8, 5)
    with pytest.raises(ValueError, match=">= 0"):
        stream_windows(10, 1, 5, -1)
    with pytest.raises(ValueError, match=">= 0"):
        stream_windows(-1, 1, 5, 0)
    assert list(plan_chunks(-3, 1, 5)) == []


def test_stream_resampler_flush_starts_a_new_signal():
    rng = np.random.default_rng(3)
    resampler = StreamResampler(22050, 24000)
    assert (resampler.up, resampler.down, resampler.orig_sr, resampler.target_sr) == (160, 147, 22050, 24000)
    for n in (3000, 1, 0, 777):
        signal = rng.uniform(-1, 1, n).astype(np.float32)
        streamed = np.concatenate([resampler.push(signal[: n // 3]), resampler.push(signal[n // 3 :]), resampler.flush()])
        expected = resample(signal, 22050, 24000)
        assert len(streamed) == len(expected)
        if n:
            assert float(np.abs(streamed - expected).max()) < 1e-5


def test_stream_resampler_same_rate_passes_input_through():
    resampler = StreamResampler(24000, 24000)
    x = np.arange(5, dtype=np.float32)
    assert resampler.push(x) is x and resampler.flush().shape == (0,)
