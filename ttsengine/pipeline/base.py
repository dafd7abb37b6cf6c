"""What every pipeline shares: the request interface, batch slicing, host buffers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .workspace import Workspace

__all__ = ["Pipeline", "batch_slices", "take"]


def take(workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A host array: the workspace's buffer ``name``, or a new array without a workspace."""
    return np.empty(shape, dtype) if workspace is None else workspace.take(name, shape, dtype)


def batch_slices(batch: int, max_batch: int) -> list[slice]:
    """Row ranges of at most ``max_batch`` rows covering a batch of ``batch`` rows."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    return [slice(start, min(start + max_batch, batch)) for start in range(0, batch, max_batch)]


class Pipeline(ABC):
    """Owns regulation, buffers, bucketing, streaming windows and batch slicing around a
    runner (:class:`~ttsengine.backends.base.Backend`) that only executes the networks.

    Requests are padded batches: tokens int64 [B, T], token_lengths int64 [B], speakers
    int64 [B]. ``max_frames`` bounds a row's frames (see
    :func:`~ttsengine.pipeline.regulator.check_frame_limit`).
    """

    def __init__(self, runner: Any, *, d_model: int, n_mels: int, hop: int) -> None:
        self.runner = runner
        self.d_model, self.n_mels, self.hop = d_model, n_mels, hop

    def synthesize(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The whole path -> (waves float32 [B, F * hop] on the host, frame_lengths int64 [B]),
        in runner-sized slices of the batch where the runner takes fewer rows."""
        limit = self.runner.max_batch
        if not limit or tokens.shape[0] <= limit:
            return self._synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)
        pieces = []
        for rows in batch_slices(tokens.shape[0], limit):
            wave, lengths = self._synthesize(
                tokens[rows], token_lengths[rows], speakers[rows], speed, workspace, max_frames
            )
            pieces.append((wave.copy(), lengths.copy()))  # the next slice reuses the buffers
        frame_lengths = np.concatenate([lengths for _, lengths in pieces])
        waves = np.zeros((tokens.shape[0], int(frame_lengths.max()) * self.hop), np.float32)
        row = 0
        for wave, _ in pieces:
            waves[row : row + wave.shape[0], : wave.shape[1]] = wave
            row += wave.shape[0]
        return waves, frame_lengths

    @abstractmethod
    def _synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        """:meth:`synthesize` for a batch the runner takes at once."""

    @abstractmethod
    def mel(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[Any, np.ndarray]:
        """Encoder, regulator and decoder -> (mel [B, n_mels, >= F] where the pipeline keeps
        it, frame_lengths int64 [B] on the host). Streaming vocodes windows of row 0."""

    @abstractmethod
    def vocode_window(self, mel: Any, start: int, stop: int, workspace: Workspace | None) -> np.ndarray:
        """Frames [start, stop) of row 0 of :meth:`mel`'s result -> float32 wave
        [(stop - start) * hop] on the host (valid until the request's next call)."""
