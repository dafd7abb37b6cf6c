"""Streaming: how a segment's mel is cut into vocoder chunks.

Chunks of mel are vocoded with ``context`` frames of real mel on each side (at least the
vocoder's receptive field, :attr:`VoiceConfig.vocoder_context_frames
<ttsengine.voice.VoiceConfig.vocoder_context_frames>`), and only the chunk's own samples
are kept, so the chunks join into the same wave as one full vocoder run, to float rounding.
"""

from __future__ import annotations

__all__ = ["plan_chunks", "stream_windows"]


def stream_windows(total: int, first: int, largest: int, context: int) -> list[tuple[int, int, int, int]]:
    """Vocoder windows of a ``total``-frame segment as rows (start, stop, left, right).

    [start, stop) chunks cover the frames in order: ``first`` frames, then sizes doubling up
    to ``largest``. Each chunk is vocoded over [left, right) = [max(0, start - context),
    min(total, stop + context)). Raises ValueError unless 1 <= first <= largest and
    total, context >= 0.
    """
    if total < 0 or context < 0:
        raise ValueError(f"total and context must be >= 0, got {total} and {context}")
    if first < 1 or largest < first:
        raise ValueError(f"need 1 <= first <= largest, got first={first}, largest={largest}")
    rows, start, size = [], 0, first
    while start < total:
        stop = min(total, start + size)
        rows.append((start, stop, max(0, start - context), min(total, stop + context)))
        start, size = stop, min(largest, size * 2)
    return rows


def plan_chunks(total_frames: int, first: int, largest: int) -> list[tuple[int, int]]:
    """[start, stop) frame ranges covering ``total_frames``: a small first chunk for low
    latency, then sizes doubling up to ``largest`` (none for ``total_frames <= 0``)."""
    return [(start, stop) for start, stop, _, _ in stream_windows(max(total_frames, 0), first, largest, 0)]
