"""Streaming: how a segment's mel is cut into vocoder chunks.

Chunks of mel are vocoded with ``context`` frames of real mel on each side (at least the
vocoder's receptive field), and only the chunk's own samples are kept, so the chunks join
into the same wave as one full vocoder run, to float rounding.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .errors import VoiceLoadError

__all__ = ["plan_chunks", "stream_windows", "vocoder_context_frames"]


def vocoder_context_frames(voice: Any, model: Any = None) -> int:
    """Mel frames of context a streamed vocoder window needs on each side: the vocoder's
    one-sided receptive field plus one. From the ``model`` where it is loaded (torch), else
    from ``voice.json``'s ``vocoder.receptive_field_frames`` (written by ``ttsengine export``)."""
    if model is not None:
        return int(model.receptive_field_frames()) + 1
    field = voice.vocoder.get("receptive_field_frames")
    if isinstance(field, bool) or not isinstance(field, int) or field < 0:
        raise VoiceLoadError(
            f"{voice.path}: voice.json vocoder.receptive_field_frames is missing (re-export with ttsengine export)"
        )
    return field + 1


def stream_windows(total: int, first: int, largest: int, context: int) -> np.ndarray:
    """Vocoder windows of a ``total``-frame segment as int64 rows (start, stop, left, right).

    [start, stop) chunks cover the frames in order: ``first`` frames, then sizes doubling up
    to ``largest``. Each chunk is vocoded over [left, right) = [max(0, start - context),
    min(total, stop + context)). Raises ValueError unless 1 <= first <= largest and
    total, context >= 0.
    """
    from ttsengine import _core  # lazy: importing this module needs no native build

    return _core.plan_stream_chunks(total, first, largest, context)


def plan_chunks(total_frames: int, first: int, largest: int) -> Iterator[tuple[int, int]]:
    """Yields [start, stop) frame ranges covering ``total_frames``: a small first chunk for
    low latency, then sizes doubling up to ``largest``. Arguments are checked at the call."""
    windows = stream_windows(max(total_frames, 0), first, largest, 0)
    return ((int(start), int(stop)) for start, stop in windows[:, :2])
