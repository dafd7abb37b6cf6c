"""The Segment path (#24): per-text speeds in synthesize_batch, per-token frames out of the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from ttsengine.errors import InvalidInputError
from tests.conftest import requires_torch

pytestmark = requires_torch

TEXTS = ["Hello there, friend.", "A second text. With two sentences.", "Third."]


def test_batch_takes_one_speed_per_text(tiny_synth):
    speeds = [1.0, 1.6, 0.7]
    batched = tiny_synth.synthesize_batch(TEXTS, speed=speeds)
    for text, speed, got in zip(TEXTS, speeds, batched):
        want = tiny_synth.synthesize(text, speed=speed).samples
        assert got.samples.shape == want.shape, (text, speed)
        np.testing.assert_allclose(got.samples, want, atol=1e-5, rtol=0)
    same = tiny_synth.synthesize_batch(TEXTS, speed=np.array([1.2, 1.2, 1.2]))
    for got, want in zip(same, tiny_synth.synthesize_batch(TEXTS, speed=1.2)):
        np.testing.assert_array_equal(got.samples, want.samples)


@pytest.mark.parametrize("speed", [[1.0, 1.0], [1.0, 1.0, "x"], [1.0, 9.0, 1.0], np.ones((3, 1))])
def test_bad_per_text_speeds_are_refused(tiny_synth, speed):
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_batch(TEXTS, speed=speed)


def test_pipeline_reports_frames_per_token_summing_to_the_row(tiny_synth):
    from ttsengine.synthesizer import _Job

    segments = [tiny_synth.frontend.segments(t)[0] for t in TEXTS]
    with tiny_synth._workspaces.acquire() as workspace:
        batch = tiny_synth._batch([_Job(0, s, 0, v) for s, v in zip(segments, (1.0, 2.0, 1.0))], workspace)
        result = tiny_synth._pipeline.run(batch, workspace, 100_000)
        for row, segment in enumerate(segments):
            frames = result.token_frames[row]
            assert frames[: len(segment.ids)].sum() == result.frame_lengths[row]
            assert not frames[len(segment.ids):].any()
