"""Whisper's loop test for the offline judges (quality.py, quality_zh.py).

Greedy decoding can loop on one word ("这位将将将…", "the the the…"); ``max_new_tokens`` bounds
the damage, and a transcript that fails Whisper's own compression-ratio test is decoded once
more with repeated 3-grams barred (still greedy and deterministic). Transcripts that did not
loop are never touched, so figures stay comparable with runs made before the guard.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

#: Above this compression ratio a transcript is a loop (Whisper's compression_ratio_threshold).
LOOP_RATIO = 2.4


def compression_ratio(text: str) -> float:
    """Bytes over zlib-compressed bytes (a Mandarin sentence ~0.8, an English one ~1.0-1.3;
    "这位将将将将..." 10)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def decode_without_loops(decode: Callable[..., str]) -> str:
    """``decode(**extra)`` once; again with ``no_repeat_ngram_size=3`` if the first one looped."""
    text = decode()
    if compression_ratio(text) > LOOP_RATIO:
        text = decode(no_repeat_ngram_size=3)
    return text
