"""Streaming: how a segment's mel is cut into vocoder chunks.

Chunks of mel are vocoded with ``context`` frames of real mel on each side (at least the
vocoder's receptive field), and only the chunk's own samples are kept, so the chunks join
into the same wave as one full vocoder run, to float rounding.
"""

from __future__ import annotations

from typing import Iterator

__all__ = ["plan_chunks"]


def plan_chunks(total_frames: int, first: int, largest: int) -> Iterator[tuple[int, int]]:
    """Yields [start, stop) frame ranges covering ``total_frames``: a small first chunk for
    low latency, then sizes doubling up to ``largest``."""
    if first < 1 or largest < first:
        raise ValueError("need 1 <= first <= largest")
    start, size = 0, first
    while start < total_frames:
        stop = min(total_frames, start + size)
        yield start, stop
        start, size = stop, min(largest, size * 2)
