"""The interface every inference backend implements: a *runner* of three networks.

A runner executes the encoder, decoder and vocoder of one voice on one device and writes
each result into the output buffer it is given. Everything between the networks (length
regulation, buffers, shape buckets, CUDA graphs, batch slicing, streaming windows) belongs
to the pipeline that drives it (:mod:`ttsengine.pipeline`).

Buffers are numpy arrays on the host (``io == "host"``: ONNX Runtime), or torch tensors on
the runner's device as well as numpy arrays (``io == "torch"``: torch, TensorRT), so the
same runner serves the host pipeline and the CUDA pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Backend"]


class Backend(ABC):
    """Runs encoder, decoder and vocoder of one voice on one device."""

    #: Backend name as users select it, e.g. ``"torch"``.
    name: str
    #: Device actually used, e.g. ``"cpu"`` or ``"cuda:0"``.
    device: str
    #: Precision actually used, ``"fp32"``, ``"fp16"`` or ``"int8"`` (an int8 decoder graph).
    precision: str
    #: Mel frames of context a streamed vocoder window needs on each side to be exact.
    vocoder_context_frames: int
    #: Which of the bundle's vocoders runs: ``"hifigan"`` or ``"istft"`` (set by create_backend).
    vocoder_kind: str = "hifigan"
    #: The buffers it takes: ``"host"`` (numpy) or ``"torch"`` (torch tensors or numpy).
    io: str = "host"
    #: The torch dtype of hidden / frame-rate hidden / mel buffers (``io == "torch"``).
    dtype: Any = None
    #: Rows one network call takes at most (TensorRT profiles); None: any.
    max_batch: int | None = None
    #: Whether the CUDA pipeline may capture its calls as CUDA graphs.
    graphs: bool = False

    @abstractmethod
    def encoder(self, tokens: Any, token_lengths: Any, speakers: Any, hidden: Any, log_durations: Any) -> None:
        """tokens int64 [B, T], token_lengths int64 [B], speakers int64 [B]
        -> hidden [B, T, D], log(1 + frames) float32 [B, T]."""

    @abstractmethod
    def decoder(self, expanded: Any, frame_lengths: Any, mel: Any) -> None:
        """frame-rate hidden [B, F, D], frame_lengths int64 [B] -> mel [B, n_mels, F]."""

    #: Whether the vocoder is a source-filter one whose pulse-train phase carries across calls.
    pulse: bool = False

    @abstractmethod
    def vocoder(self, mel: Any, frame_lengths: Any | None, wave: Any, phase: Any = None) -> Any:
        """mel [B, n_mels, F] -> wave float32 [B, F * hop]; ``frame_lengths`` int64 [B]
        masks padded frames so each row equals its own run (None: no padding).

        With :attr:`pulse`: ``phase`` = (anchor int64 [B], cycles float32 [B], offset int64 [B])
        sets the pulse train's phase at frame ``anchor`` and the absolute index of frame 0 (None:
        0 at frame 0, offset 0); returns the phase (cycles) at each of the frames 0..F as
        float32 [B, F + 1] on the host. Else returns None."""
