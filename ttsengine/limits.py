"""The bounds of what the synthesizer sends to the networks, in one torch-free place.

The synthesizer enforces them, the CUDA pipeline rounds shapes up to the buckets, and the
TensorRT profiles (:mod:`ttsengine.backends.tensorrt_profiles`) are sized from the bucketed,
speed-scaled results of :func:`segment_frame_limit` and :func:`bucket`.
"""

from __future__ import annotations

__all__ = [
    "FIRST_CHUNK_FRAMES", "FRAME_BUCKET", "MAX_CHUNK_FRAMES", "MAX_SEGMENT_SECONDS", "SPEED_RANGE",
    "TOKENS_PER_CHAR", "TOKEN_BUCKET", "bucket", "segment_frame_limit",
]

#: Accepted ``speed`` range (1.0 = the voice's natural rate).
SPEED_RANGE = (0.1, 4.0)
#: Longest audio one sentence segment may produce at speed 1.0 (the limit scales with
#: 1 / speed); longer predictions are a model failure.
MAX_SEGMENT_SECONDS = 60.0
#: Streaming: frames in the first vocoded chunk (latency) and the largest chunk (throughput).
FIRST_CHUNK_FRAMES = 24
MAX_CHUNK_FRAMES = 192
#: The CUDA pipeline rounds tokens up to a multiple of TOKEN_BUCKET and frames up to a
#: multiple of FRAME_BUCKET (one CUDA graph per bucket).
TOKEN_BUCKET = 32
FRAME_BUCKET = 64
#: Upper bound of tokens per character of a segment, per frontend kind. Segments are cut
#: at ``frontend.max_segment_chars`` characters (of normalized text). Measured: phonemes
#: (espeak-ng, en-us) 1.1-1.2 for prose and numbers, up to 7.0 for spelled-out letter
#: strings ("ww ww ..."); pinyin 1.85 (an initial and a final per hanzi, at most 2);
#: chars 1.0 (2 allows NFKD splitting a character).
TOKENS_PER_CHAR = {"phonemes": 8, "pinyin": 2, "chars": 2}


def bucket(size: int, step: int) -> int:
    """``size`` rounded up to a multiple of ``step`` (at least one step)."""
    return max(step, -(-size // step) * step)


def segment_frame_limit(sample_rate: int, hop_length: int, speed: float = 1.0) -> int:
    """Most mel frames one segment may get at ``speed``: MAX_SEGMENT_SECONDS at speed 1.0,
    scaled by 1 / speed."""
    return int(int(MAX_SEGMENT_SECONDS * sample_rate / hop_length) / speed)
