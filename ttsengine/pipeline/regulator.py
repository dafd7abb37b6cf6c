"""The length regulator's host side: the host regulator and one check of the frame totals.

The kernels themselves are native: ``_core.durations_to_frames`` / ``_core.expand_frames``
on the host, ``_cuda.durations_to_frames`` / ``_cuda.expand_frames`` on a CUDA stream.
Whichever device computed them, the row totals reach the host and pass
:func:`check_frame_limit` before anything is decoded.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelOutputError, TTSEngineError

__all__ = ["check_frame_limit", "regulate"]


def regulate(
    log_durations: np.ndarray,
    token_lengths: np.ndarray,
    speed: float,
    max_frames: int,
    frames: np.ndarray | None = None,
    frame_lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + frames) float32 [B, T] -> (frames int32 [B, T], frame_lengths int64 [B]) with
    ``_core`` (into ``frames`` / ``frame_lengths`` when given), checked by
    :func:`check_frame_limit` before anything is decoded."""
    from .. import _core  # on use: importing the synthesizer needs no native module

    frames, frame_lengths = _core.durations_to_frames(
        log_durations, token_lengths, speed, frames=frames, frame_lengths=frame_lengths
    )
    check_frame_limit(frame_lengths, max_frames)
    return frames, frame_lengths


def check_frame_limit(frame_lengths: np.ndarray, max_frames: int) -> None:
    """Refuses row totals of the native length regulator that must not be decoded.

    Raises :class:`ModelOutputError` if a total is negative: the kernels mark a row whose
    log-durations hold a NaN with -1 (``kNonFiniteDurations`` in
    csrc/core/length_regulator.h), as they cannot raise on a GPU. Raises
    :class:`TTSEngineError` if a row's frame count exceeds ``max_frames`` (+inf and huge
    log-durations saturate per token, so they end here instead of wrapping around).
    """
    frame_lengths = np.asarray(frame_lengths)
    invalid = np.flatnonzero(frame_lengths < 0)
    if len(invalid):
        rows = ", ".join(map(str, invalid[:8].tolist())) + (", ..." if len(invalid) > 8 else "")
        plural = "s" if len(invalid) > 1 else ""
        raise ModelOutputError(
            f"the acoustic model produced non-finite (NaN) log-durations (batch row{plural} {rows}): "
            "the voice's duration predictor is broken, or overflowed in this precision "
            "(try fp32)"
        )
    longest = int(frame_lengths.max()) if len(frame_lengths) else 0
    if longest > max_frames:
        raise TTSEngineError(
            f"the acoustic model predicted {longest} frames for one sentence (limit {max_frames}): "
            "the voice's duration predictor is broken"
        )
