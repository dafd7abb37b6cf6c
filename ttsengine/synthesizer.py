"""The :class:`Synthesizer`: text -> tokens -> acoustic -> mel -> vocoder -> audio."""

from __future__ import annotations

import logging
import os
from typing import Iterator, Sequence

import numpy as np

from .audio import SUPPORTED_SAMPLE_RATES, Audio, AudioChunk, StreamResampler, resample
from .backends import create_backend
from .errors import InvalidInputError, VoiceLoadError
from .frontend import Frontend, Segment
from .streaming import plan_chunks
from .voice import VoiceConfig, load_voice
from .workspace import BufferLimits, Workspace, WorkspacePool

__all__ = ["Synthesizer"]

logger = logging.getLogger("ttsengine")

#: Accepted ``speed`` range (1.0 = the voice's natural rate).
SPEED_RANGE = (0.1, 4.0)
#: Streaming: frames in the first vocoded chunk (latency) and the largest chunk (throughput).
FIRST_CHUNK_FRAMES = 24
MAX_CHUNK_FRAMES = 192
#: Longest audio one sentence segment may produce; longer predictions are a model failure.
MAX_SEGMENT_SECONDS = 60.0


class Synthesizer:
    """Synthesizes speech with one voice on one backend and device.

    Args:
        voice: a voice bundle directory, or the name of a bundled voice (``"default"``).
        device: ``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"cuda:N"``.
        backend: ``"auto"`` | ``"torch"`` | ``"onnxruntime"`` | ``"tensorrt"``.
        precision: ``"auto"`` | ``"fp32"`` | ``"fp16"``.
        num_threads: CPU threads for inference (``None``: the runtime's default). With the
            torch backend this sets torch's process-wide thread count.
        buffers: sizes of the pipeline's host buffers, allocated once here and reused by
            every request (default :class:`~ttsengine.workspace.BufferLimits`); a request
            beyond them still runs and grows the buffer concerned once.

    Raises:
        VoiceLoadError: the bundle is missing, corrupt or too new.
        BackendUnavailableError: an explicitly requested backend/device/precision is missing.
    """

    def __init__(
        self,
        voice: str | os.PathLike[str] = "default",
        *,
        device: str = "auto",
        backend: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,
        buffers: BufferLimits | None = None,
    ) -> None:
        if buffers is not None and not isinstance(buffers, BufferLimits):
            raise InvalidInputError(f"buffers must be a BufferLimits, got {type(buffers).__name__}")
        self.voice: VoiceConfig = load_voice(voice)
        try:
            self.frontend = Frontend.from_config(dict(self.voice.frontend))
        except ValueError as exc:
            raise VoiceLoadError(f"{self.voice.path}: bad frontend section ({exc})") from None
        self.frontend.warmup()  # fail now, not on the first request, if the G2P is missing
        self._backend = create_backend(backend, self.voice, device, precision, num_threads)
        self._hop = self.voice.hop_length
        self._context = self._backend.vocoder_context_frames
        self._max_frames = int(MAX_SEGMENT_SECONDS * self.voice.model_sample_rate / self._hop)
        self.buffers = buffers or BufferLimits()
        self._workspaces = WorkspacePool(
            self.buffers, d_model=int(self.voice.acoustic["hparams"]["d_model"]),
            n_mels=self.voice.n_mels, hop=self._hop,
        )
        if not self.voice.trained:
            logger.info("voice %r has untrained weights: its audio is not speech", self.voice.name)
        logger.info(
            "voice %r on backend %s, device %s, precision %s",
            self.voice.name, self.backend, self.device, self.precision,
        )

    @property
    def backend(self) -> str:
        """The backend actually used, e.g. ``"torch"``."""
        return self._backend.name

    @property
    def device(self) -> str:
        """The device actually used, e.g. ``"cpu"``."""
        return self._backend.device

    @property
    def precision(self) -> str:
        """The precision actually used, ``"fp32"`` or ``"fp16"``."""
        return self._backend.precision

    def __repr__(self) -> str:
        return (
            f"Synthesizer(voice={self.voice.name!r}, backend={self.backend!r}, "
            f"device={self.device!r}, precision={self.precision!r})"
        )

    # -- public API -----------------------------------------------------------------

    def synthesize(
        self,
        text: str,
        *,
        speaker: int | str | None = None,
        speed: float | None = None,
        sample_rate: int | None = None,
    ) -> Audio:
        """Synthesizes ``text`` to completion.

        Long text is split into sentences that run one after another (memory is bounded
        by a sentence) and joined with short pauses.
        """
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        pieces: list[np.ndarray] = []
        segments = self._segments(text)
        with self._workspaces.acquire() as workspace:
            for segment in segments:
                pieces.append(self._run([segment], [speaker_id], speed, workspace)[0].copy())
                pieces.append(self._pause(segment))
        return self._audio(pieces, rate)

    def synthesize_batch(
        self,
        texts: Sequence[str],
        *,
        speaker: int | str | None | Sequence[int | str | None] = None,
        speed: float | None = None,
        sample_rate: int | None = None,
        max_batch: int = 16,
    ) -> list[Audio]:
        """Synthesizes several texts, running their sentences as padded batches.

        ``speaker`` is one speaker for all texts or one per text. Each result equals
        :meth:`synthesize` of that text within float rounding.
        """
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidInputError("texts must be a sequence of strings")
        if max_batch < 1:
            raise InvalidInputError("max_batch must be >= 1")
        speakers = list(speaker) if isinstance(speaker, (list, tuple)) else [speaker] * len(texts)
        if len(speakers) != len(texts):
            raise InvalidInputError(f"got {len(speakers)} speakers for {len(texts)} texts")
        options = [self._options(s, speed, sample_rate) for s in speakers]
        items = [
            (text_index, segment, options[text_index][0])
            for text_index, text in enumerate(texts)
            for segment in self._segments(text)
        ]
        # Sort by length so each batch pads little; results go back to their places.
        order = sorted(range(len(items)), key=lambda i: len(items[i][1].ids), reverse=True)
        waves: list[np.ndarray | None] = [None] * len(items)
        speed_value = options[0][1] if options else 1.0
        with self._workspaces.acquire() as workspace:
            for start in range(0, len(order), max_batch):
                chunk = order[start : start + max_batch]
                outputs = self._run(
                    [items[i][1] for i in chunk], [items[i][2] for i in chunk], speed_value, workspace
                )
                for i, wave in zip(chunk, outputs):
                    waves[i] = wave.copy()
        per_text: list[list[np.ndarray]] = [[] for _ in texts]
        for (text_index, segment, _), wave in zip(items, waves):
            per_text[text_index] += [wave, self._pause(segment)]
        return [self._audio(pieces, options[i][2]) for i, pieces in enumerate(per_text)]

    def synthesize_stream(
        self,
        text: str,
        *,
        speaker: int | str | None = None,
        speed: float | None = None,
        sample_rate: int | None = None,
    ) -> Iterator[AudioChunk]:
        """Yields audio chunks as they are ready; the first comes after a short vocoder chunk.

        Input is validated before this returns (errors are raised here, not while
        iterating). The concatenated chunks equal :meth:`synthesize` within float rounding.
        """
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        segments = self._segments(text)
        return self._stream(segments, speaker_id, speed, rate)

    # -- internals ------------------------------------------------------------------

    def _stream(
        self, segments: list[Segment], speaker_id: int, speed: float, rate: int
    ) -> Iterator[AudioChunk]:
        with self._workspaces.acquire() as workspace:
            yield from self._stream_in(workspace, segments, speaker_id, speed, rate)

    def _stream_in(
        self, workspace: Workspace, segments: list[Segment], speaker_id: int, speed: float, rate: int
    ) -> Iterator[AudioChunk]:
        resampler = StreamResampler(self.voice.model_sample_rate, rate)
        index = 0
        for number, segment in enumerate(segments):
            mel, frame_lengths = self._mel([segment], [speaker_id], speed, workspace)
            total = int(frame_lengths[0])
            for start, stop in plan_chunks(total, FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES):
                left = max(0, start - self._context)
                right = min(total, stop + self._context)
                wave = self._backend.vocode(mel, window=(0, left, right), workspace=workspace)[0]
                piece = wave[(start - left) * self._hop : (stop - left) * self._hop]
                if stop == total:
                    piece = np.concatenate([piece, self._pause(segment)])
                out = resampler.push(piece)
                is_last = number == len(segments) - 1 and stop == total
                if is_last:
                    out = np.concatenate([out, resampler.flush()])
                if len(out) or is_last:
                    yield AudioChunk(np.clip(out, -1.0, 1.0), rate, is_last=is_last, index=index)
                    index += 1

    def _options(
        self, speaker: int | str | None, speed: float | None, sample_rate: int | None
    ) -> tuple[int, float, int]:
        speaker_id = self.voice.speaker_id(speaker)
        if speed is None:
            speed = float(self.voice.defaults.get("speed", 1.0))
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not np.isfinite(speed):
            raise InvalidInputError(f"speed must be a number, got {speed!r}")
        low, high = SPEED_RANGE
        if not low <= speed <= high:
            raise InvalidInputError(f"speed must be within [{low}, {high}] (1.0 = natural), got {speed}")
        rate = self.voice.sample_rate if sample_rate is None else sample_rate
        if isinstance(rate, bool) or not isinstance(rate, int) or rate not in SUPPORTED_SAMPLE_RATES:
            supported = ", ".join(map(str, SUPPORTED_SAMPLE_RATES))
            raise InvalidInputError(f"sample_rate must be one of {supported} (or None), got {sample_rate!r}")
        return speaker_id, float(speed), rate

    def _segments(self, text: str) -> list[Segment]:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        return self.frontend.segments(text)

    def _pause(self, segment: Segment) -> np.ndarray:
        return np.zeros(int(round(segment.pause_after * self.voice.model_sample_rate)), dtype=np.float32)

    def _inputs(
        self, segments: list[Segment], speakers: list[int], workspace: Workspace
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded token ids, lengths and speaker ids of a batch, in the workspace."""
        batch, longest = len(segments), max(len(s.ids) for s in segments)
        tokens = workspace.take("tokens", (batch, longest), np.int64)
        lengths = workspace.take("token_lengths", (batch,), np.int64)
        speaker_ids = workspace.take("speakers", (batch,), np.int64)
        tokens.fill(0)
        for row, segment in enumerate(segments):
            tokens[row, : len(segment.ids)] = segment.ids
            lengths[row] = len(segment.ids)
        speaker_ids[:] = speakers
        return tokens, lengths, speaker_ids

    def _mel(self, segments: list[Segment], speakers: list[int], speed: float, workspace: Workspace):
        tokens, lengths, speaker_ids = self._inputs(segments, speakers, workspace)
        hidden, log_durations = self._backend.encode(tokens, lengths, speaker_ids, workspace)
        frames, frame_lengths = self._backend.regulate(log_durations, lengths, speed, workspace, self._max_frames)
        return self._backend.decode(hidden, frames, frame_lengths, workspace), frame_lengths

    def _run(
        self, segments: list[Segment], speakers: list[int], speed: float, workspace: Workspace
    ) -> list[np.ndarray]:
        """Waves of a padded batch: views into ``workspace``, valid until its next request."""
        tokens, lengths, speaker_ids = self._inputs(segments, speakers, workspace)
        waves, frame_lengths = self._backend.synthesize(
            tokens, lengths, speaker_ids, speed, workspace, self._max_frames
        )
        return [waves[row, : int(n) * self._hop] for row, n in enumerate(frame_lengths)]

    def _audio(self, pieces: list[np.ndarray], rate: int) -> Audio:
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        samples = resample(samples, self.voice.model_sample_rate, rate)
        return Audio(np.clip(samples, -1.0, 1.0), rate)
