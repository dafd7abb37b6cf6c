"""The interface every inference backend implements.

A backend runs the three networks; everything between them (text front end, length
regulation, audio post-processing) is shared and lives in :mod:`ttsengine.synthesizer`.
Arrays crossing this interface are numpy on the host; ``hidden`` and ``mel`` are opaque
handles that may stay on the backend's device.

Each call may get the request's :class:`~ttsengine.workspace.Workspace`: host outputs are
then written into its preallocated buffers (:meth:`Backend.host_buffer`) instead of
fresh arrays, and stay valid until the request's next call that writes the same buffer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..errors import ModelOutputError, TTSEngineError
from ..workspace import Workspace

__all__ = ["Backend"]


class Backend(ABC):
    """Runs encoder, decoder and vocoder of one voice on one device."""

    #: Backend name as users select it, e.g. ``"torch"``.
    name: str
    #: Device actually used, e.g. ``"cpu"`` or ``"cuda:0"``.
    device: str
    #: Precision actually used, ``"fp32"`` or ``"fp16"``.
    precision: str
    #: Mel frames of context a streamed vocoder chunk needs on each side to be exact.
    vocoder_context_frames: int
    #: Which of the bundle's vocoders runs: ``"hifigan"`` or ``"istft"`` (set by create_backend).
    vocoder_kind: str = "hifigan"

    @staticmethod
    def host_buffer(
        workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: type
    ) -> np.ndarray:
        """A host array for an output: the workspace's buffer ``name``, or a new array."""
        if workspace is None:
            return np.empty(shape, dtype)
        return workspace.take(name, shape, dtype)

    @abstractmethod
    def encode(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        workspace: Workspace | None = None,
    ) -> tuple[Any, np.ndarray]:
        """tokens int64 [B, T], token_lengths int64 [B], speakers int64 [B]
        -> (hidden handle [B, T, D], log(1 + frames) float32 [B, T] on the host)."""

    @abstractmethod
    def decode(
        self, hidden: Any, frames: np.ndarray, frame_lengths: np.ndarray, workspace: Workspace | None = None
    ) -> Any:
        """Regulates hidden by ``frames`` int32 [B, T] and decodes -> mel handle [B, n_mels, F],
        F = max(frame_lengths)."""

    @abstractmethod
    def vocode(
        self,
        mel: Any,
        frame_lengths: np.ndarray | None = None,
        window: tuple[int, int, int] | None = None,
        workspace: Workspace | None = None,
    ) -> np.ndarray:
        """mel -> float32 waves [B, F * hop] on the host.

        ``frame_lengths`` masks a padded batch so each row equals its single run.
        ``window=(row, start, stop)`` vocodes only frames [start, stop) of one row
        (streaming) and returns [1, (stop - start) * hop].
        """

    def regulate(
        self,
        log_durations: np.ndarray,
        token_lengths: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """log(1 + frames) -> (frames int32 [B, T], frame_lengths int64 [B]) with the native
        length regulator, into the workspace. Raises :class:`ModelOutputError` when a row's
        log-durations hold a NaN, :class:`TTSEngineError` when a row exceeds ``max_frames``
        (a broken duration predictor; +inf and huge values saturate into this), both before
        anything is decoded: see :func:`check_frame_limit`."""
        from .. import _core

        batch, length = log_durations.shape
        frames, frame_lengths = _core.durations_to_frames(
            log_durations, token_lengths, speed,
            frames=self.host_buffer(workspace, "frames", (batch, length), np.int32),
            frame_lengths=self.host_buffer(workspace, "frame_lengths", (batch,), np.int64),
        )
        check_frame_limit(frame_lengths, max_frames)
        return frames, frame_lengths

    def synthesize(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The whole path for a padded batch: -> (waves float32 [B, F * hop] on the host,
        frame_lengths int64 [B]). Backends with a fused pipeline override this."""
        hidden, log_durations = self.encode(tokens, token_lengths, speakers, workspace)
        frames, frame_lengths = self.regulate(log_durations, token_lengths, speed, workspace, max_frames)
        mel = self.decode(hidden, frames, frame_lengths, workspace)
        return self.vocode(mel, frame_lengths, workspace=workspace), frame_lengths


def check_frame_limit(frame_lengths: np.ndarray, max_frames: int) -> None:
    """Refuses the row totals of the native length regulator (``_core`` or ``_cuda``
    ``durations_to_frames``) that must not be decoded; every backend calls it on the host
    totals before regulating hidden states, whichever device computed them.

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
