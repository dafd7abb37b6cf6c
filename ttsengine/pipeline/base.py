"""What every pipeline shares: the request interface, batch slicing, host buffers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from .workspace import Workspace

__all__ = ["Pipeline", "SegmentBatch", "SegmentResult", "StreamPiece", "batch_slices", "take"]


def take(workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A host array: the workspace's buffer ``name``, or a new array without a workspace."""
    return np.empty(shape, dtype) if workspace is None else workspace.take(name, shape, dtype)


def batch_slices(batch: int, max_batch: int) -> list[slice]:
    """Row ranges of at most ``max_batch`` rows covering a batch of ``batch`` rows."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    return [slice(start, min(start + max_batch, batch)) for start in range(0, batch, max_batch)]


@dataclass(frozen=True)
class SegmentBatch:
    """One padded batch of segments, the unit of work of a :class:`Pipeline`.

    ``tokens`` int64 [B, T] (0-padded), ``token_lengths`` int64 [B], ``speakers`` int64 [B],
    ``speeds`` float64 [B] (rows of different speeds run as separate sub-batches),
    ``pauses`` float64 [B] (seconds of silence after each row, at speed 1), and for the
    caller's bookkeeping ``languages`` and ``words`` (:class:`~ttsengine.frontend.WordSpan`
    s per row).
    """

    tokens: np.ndarray
    token_lengths: np.ndarray
    speakers: np.ndarray
    speeds: np.ndarray
    pauses: np.ndarray
    languages: tuple[str, ...] = ()
    words: tuple[tuple[Any, ...], ...] = field(default=())

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


@dataclass(frozen=True)
class SegmentResult:
    """Outputs of a :class:`SegmentBatch`: ``waves`` float32 [B, >= F * hop] (row ``i``
    valid up to ``frame_lengths[i] * hop``), ``frame_lengths`` int64 [B] and
    ``token_frames`` int32 [B, T] (frames each token got; a row's sum is its frame length).
    Arrays may be views into the request's workspace, valid until its next call."""

    waves: np.ndarray
    frame_lengths: np.ndarray
    token_frames: np.ndarray


@dataclass(frozen=True)
class StreamPiece:
    """A vocoded chunk of a streamed segment: ``wave`` holds frames [start, stop) of
    ``total``; ``token_frames`` int32 [T] are the segment's per-token frames."""

    wave: np.ndarray
    start: int
    stop: int
    total: int
    token_frames: np.ndarray


class Pipeline(ABC):
    """Owns regulation, buffers, bucketing, streaming windows and batch slicing around a
    runner (:class:`~ttsengine.backends.base.Backend`) that only executes the networks.

    Requests are :class:`SegmentBatch` es (:meth:`run`, :meth:`stream`). ``max_frames``
    bounds a row's frames at speed 1 (see
    :func:`~ttsengine.pipeline.regulator.check_frame_limit`).
    """

    def __init__(self, runner: Any, *, d_model: int, n_mels: int, hop: int) -> None:
        self.runner = runner
        self.d_model, self.n_mels, self.hop = d_model, n_mels, hop

    def run(self, batch: SegmentBatch, workspace: Workspace | None, max_frames: int) -> SegmentResult:
        """The whole path of ``batch`` in runner-sized slices, one sub-batch per distinct
        speed; a row's frame limit is ``max_frames / speed``."""
        speeds = np.asarray(batch.speeds, np.float64)
        if len(speeds) and np.all(speeds == speeds[0]):
            return self._run_speed(batch.tokens, batch.token_lengths, batch.speakers, float(speeds[0]),
                                   workspace, int(max_frames / speeds[0]))
        parts = []
        for speed in np.unique(speeds):
            rows = np.flatnonzero(speeds == speed)
            width = int(batch.token_lengths[rows].max())
            result = self._run_speed(batch.tokens[rows, :width], batch.token_lengths[rows], batch.speakers[rows],
                                     float(speed), workspace, int(max_frames / speed))
            parts.append((rows, result.waves.copy(), result.frame_lengths.copy(), result.token_frames.copy()))
        return self._join(len(batch), batch.tokens.shape[1], parts)

    def synthesize(self, tokens: np.ndarray, token_lengths: np.ndarray, speakers: np.ndarray, speed: float,
                   workspace: Workspace | None, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`run` of padded arrays at one ``speed`` (``max_frames``: the limit at that
        speed) -> (waves float32 [B, F * hop], frame_lengths int64 [B])."""
        result = self._run_speed(tokens, token_lengths, speakers, float(speed), workspace, max_frames)
        return result.waves, result.frame_lengths

    def _join(self, batch: int, length: int, parts: list) -> SegmentResult:
        """One result from ``(rows, waves, frame_lengths, token_frames)`` parts."""
        frame_lengths = np.zeros(batch, np.int64)
        for rows, _, lengths, _ in parts:
            frame_lengths[rows] = lengths
        waves = np.zeros((batch, int(frame_lengths.max()) * self.hop), np.float32)
        token_frames = np.zeros((batch, length), np.int32)
        for rows, wave, _, frames in parts:
            waves[rows, : wave.shape[1]] = wave
            token_frames[rows, : frames.shape[1]] = frames
        return SegmentResult(waves, frame_lengths, token_frames)

    def _run_speed(self, tokens, token_lengths, speakers, speed, workspace, max_frames) -> SegmentResult:
        """:meth:`run` for rows of one speed, in slices of at most ``runner.max_batch`` rows."""
        limit = self.runner.max_batch
        if not limit or tokens.shape[0] <= limit:
            return SegmentResult(*self._synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames))
        parts = []
        for rows in batch_slices(tokens.shape[0], limit):
            wave, lengths, frames = self._synthesize(
                tokens[rows], token_lengths[rows], speakers[rows], speed, workspace, max_frames
            )
            parts.append((np.arange(tokens.shape[0])[rows], wave.copy(), lengths.copy(), frames.copy()))
        return self._join(tokens.shape[0], tokens.shape[1], parts)

    def stream(
        self, batch: SegmentBatch, workspace: Workspace | None, max_frames: int, first: int, largest: int
    ) -> Iterator[StreamPiece]:
        """Row 0 of ``batch`` vocoded in windows: ``first`` frames, then chunks doubling up to
        ``largest``, each with the vocoder's context (``runner.vocoder_context_frames``) of
        real mel on both sides, so the pieces join into the whole-segment wave."""
        from .streaming import plan_chunks

        speed = float(batch.speeds[0])
        mel, frame_lengths, token_frames = self.mel(
            batch.tokens[:1], batch.token_lengths[:1], batch.speakers[:1], speed, workspace, int(max_frames / speed)
        )
        frames = np.array(token_frames[0, : int(batch.token_lengths[0])], np.int32)
        total = int(frame_lengths[0])
        context = self.runner.vocoder_context_frames
        carried = np.zeros(1, np.float32)  # a pulse vocoder's phase at the chunk's first block
        for start, stop in plan_chunks(total, first, largest):
            left, right = max(0, start - context), min(total, stop + context)
            phase = ((np.array([start - left], np.int64), carried, np.array([left], np.int64))
                     if getattr(self.runner, "pulse", False) else None)
            wave, cycles = self.vocode_window(mel, left, right, workspace, phase)
            if cycles is not None:
                carried = np.array([cycles[0, stop - left]], np.float32)
            yield StreamPiece(wave[(start - left) * self.hop : (stop - left) * self.hop], start, stop, total, frames)

    @abstractmethod
    def _synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        """The whole path of a batch the runner takes at once, at one speed -> (waves float32
        [B, F * hop], frame_lengths int64 [B], token_frames int32 [B, T]) on the host."""

    @abstractmethod
    def mel(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[Any, np.ndarray, np.ndarray]:
        """Encoder, regulator and decoder -> (mel [B, n_mels, >= F] where the pipeline keeps
        it, frame_lengths int64 [B] and token_frames int32 [B, T] on the host). Streaming
        vocodes windows of row 0."""

    @abstractmethod
    def vocode_window(self, mel: Any, start: int, stop: int, workspace: Workspace | None,
                      phase: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Frames [start, stop) of row 0 of :meth:`mel`'s result -> (float32 wave
        [(stop - start) * hop] on the host, valid until the request's next call; a pulse
        vocoder's phase per block, else None). ``phase``: as ``Backend.vocoder``'s."""
