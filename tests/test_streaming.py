"""Chunk planning and the stateful stream resampler."""

from __future__ import annotations

import numpy as np
import pytest
from ttsengine.audio import SUPPORTED_SAMPLE_RATES, StreamResampler, resample
from ttsengine.streaming import plan_chunks


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
