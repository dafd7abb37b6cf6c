"""The interface every inference backend implements.

A backend runs the three networks; everything between them (text front end, length
regulation, audio post-processing) is shared and lives in :mod:`ttsengine.synthesizer`.
Arrays crossing this interface are numpy on the host; ``hidden`` and ``mel`` are opaque
handles that may stay on the backend's device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

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

    @abstractmethod
    def encode(
        self, tokens: np.ndarray, token_lengths: np.ndarray, speakers: np.ndarray
    ) -> tuple[Any, np.ndarray]:
        """tokens int64 [B, T], token_lengths int64 [B], speakers int64 [B]
        -> (hidden handle [B, T, D], log(1 + frames) float32 [B, T] on the host)."""

    @abstractmethod
    def decode(self, hidden: Any, frames: np.ndarray, frame_lengths: np.ndarray) -> Any:
        """Regulates hidden by ``frames`` int32 [B, T] and decodes -> mel handle [B, n_mels, F],
        F = max(frame_lengths)."""

    @abstractmethod
    def vocode(
        self,
        mel: Any,
        frame_lengths: np.ndarray | None = None,
        window: tuple[int, int, int] | None = None,
    ) -> np.ndarray:
        """mel -> float32 waves [B, F * hop] on the host.

        ``frame_lengths`` masks a padded batch so each row equals its single run.
        ``window=(row, start, stop)`` vocodes only frames [start, stop) of one row
        (streaming) and returns [1, (stop - start) * hop].
        """
