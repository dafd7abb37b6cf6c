"""The :class:`Synthesizer`: text -> tokens -> acoustic -> mel -> vocoder -> audio."""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections import Counter
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .audio import SUPPORTED_SAMPLE_RATES, Audio, AudioChunk, StreamResampler, resample
from .backends import create_backend
from .errors import InvalidInputError, VoiceLoadError
from .errors import shown as _shown
from .frontend import Frontend, Segment
from .frontend.g2p import UnsupportedLanguageError
from .frontend.lazy import LAZY_CHARS, lazy_segments
from .pipeline import Pipeline, make_pipeline
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
#: Longest audio one sentence segment may produce at speed 1.0 (the limit scales with
#: 1 / speed); longer predictions are a model failure.
MAX_SEGMENT_SECONDS = 60.0
LEAD_IN_S = 0.1
"""Silence before the first word of every result: an onset at sample 0 is easily missed
(Whisper dropped the first word of 3 of 40 sentences of the default voice without it)."""
#: Seconds of speech per input symbol at speed 1.0 used to estimate a text's audio before
#: synthesis (the default voice averages 0.056-0.08).
ESTIMATE_SECONDS_PER_SYMBOL = 0.07
#: Most CPU threads ``num_threads`` accepts.
MAX_THREADS = 1024


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _as_int(value: Any, name: str) -> int:
    """``value`` as an int: Python and numpy integers, not bools (InvalidInputError else)."""
    if _is_bool(value) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InvalidInputError(f"{name} must be an integer, got {type(value).__name__} {_shown(value)}")
    return int(value)


def _as_float(value: Any, name: str) -> float:
    """``value`` as a finite float: Python and numpy reals, not bools (InvalidInputError else)."""
    if _is_bool(value) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise InvalidInputError(f"{name} must be a real number, got {type(value).__name__} {_shown(value)}")
    try:
        result = float(value)
    except (OverflowError, ValueError, TypeError):  # 10**400, exotic Real subclasses
        result = math.nan
    if not math.isfinite(result):
        raise InvalidInputError(f"{name} must be a finite number, got {_shown(value)}")
    return result


def _restore(voice: str, options: dict[str, Any]) -> Synthesizer:
    """Unpickles a :class:`Synthesizer`: a new one from its voice path and options."""
    return Synthesizer(voice, **options)


class Synthesizer:
    """Synthesizes speech with one voice on one backend and device.

    Args:
        voice: a voice bundle directory, or the name of a bundled voice (``"default"``).
        device: ``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"cuda:N"``.
        backend: ``"auto"`` | ``"torch"`` | ``"onnxruntime"`` | ``"tensorrt"``.
        precision: ``"auto"`` | ``"fp32"`` | ``"fp16"``.
        num_threads: CPU threads for inference (``None``: the runtime's default). With the
            torch backend this sets torch's process-wide thread count.
        vocoder: ``"auto"`` | ``"hifigan"`` | ``"istft"``. A bundle may carry, beside its
            HiFi-GAN, a fast CPU vocoder distilled from it (``istft``, see
            ``Synthesizer.voice.vocoders``); ``auto`` runs that one where no GPU is used
            and HiFi-GAN on a GPU.
        buffers: sizes of the pipeline's host buffers, allocated once here and reused by
            every request (default :class:`~ttsengine.workspace.BufferLimits`); a request
            beyond them still runs and grows the buffer concerned once.

    A Synthesizer pickles as its voice path and these options (never its weights): the
    unpickled copy (e.g. in a process pool worker) loads the voice again and produces the
    same audio.

    Raises:
        InvalidInputError: an argument has the wrong type or value (the message names it).
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
        vocoder: str = "auto",
    ) -> None:
        # voice (load_voice), device, backend and precision (create_backend) are checked
        # where they are used; num_threads is made a Python int for every backend here.
        if num_threads is not None:
            num_threads = _as_int(num_threads, "num_threads")
            if not 1 <= num_threads <= MAX_THREADS:
                raise InvalidInputError(
                    f"num_threads must be within [1, {MAX_THREADS}] or None, got {_shown(num_threads)}")
        if buffers is not None and not isinstance(buffers, BufferLimits):
            raise InvalidInputError(f"buffers must be a BufferLimits, got {type(buffers).__name__}")
        self.voice: VoiceConfig = load_voice(voice)
        self._init_options: dict[str, Any] = dict(
            device=device, backend=backend, precision=precision, num_threads=num_threads, buffers=buffers,
            vocoder=vocoder,
        )
        try:
            self.frontend = Frontend.from_config(dict(self.voice.frontend))
            self.frontend.warmup()  # fail now, not on the first request, if the G2P is missing
        except (ValueError, UnsupportedLanguageError) as exc:
            # the bundle's frontend section is wrong (also a language its G2P does not speak);
            # a G2P that is not installed stays a BackendUnavailableError
            raise VoiceLoadError(f"{self.voice.path}: bad frontend section ({exc})") from None
        self._backend = create_backend(backend, self.voice, device, precision, num_threads, vocoder)
        self._hop = self.voice.hop_length
        self._context = self._backend.vocoder_context_frames
        self._max_frames = int(MAX_SEGMENT_SECONDS * self.voice.model_sample_rate / self._hop)
        self.buffers = buffers or BufferLimits()
        self._dims = dict(d_model=int(self.voice.acoustic["hparams"]["d_model"]), n_mels=self.voice.n_mels, hop=self._hop)
        self._workspaces = WorkspacePool(self.buffers, **self._dims)
        # built now: a device arena that cannot be allocated fails here, not at the first request
        self._pipe = make_pipeline(self._backend, limits=self.buffers, **self._dims)
        if not self.voice.trained:
            logger.info("voice %r has untrained weights: its audio is not speech", self.voice.name)
        logger.info(
            "voice %r on backend %s, device %s, precision %s, vocoder %s",
            self.voice.name, self.backend, self.device, self.precision, self.vocoder,
        )

    @property
    def _pipeline(self) -> Pipeline:
        """The pipeline around the backend's runner (made again if the runner was replaced)."""
        if self._pipe.runner is not self._backend:
            self._pipe = make_pipeline(self._backend, limits=self.buffers, **self._dims)
        return self._pipe

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

    @property
    def vocoder(self) -> str:
        """The vocoder actually used, ``"hifigan"`` or ``"istft"`` (the CPU vocoder)."""
        return self._backend.vocoder_kind

    def __repr__(self) -> str:
        return (
            f"Synthesizer(voice={self.voice.name!r}, backend={self.backend!r}, "
            f"device={self.device!r}, precision={self.precision!r}, vocoder={self.vocoder!r})"
        )

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, Any]]]:
        # Weights, sessions and buffers are not pickled: the copy is built again from the
        # (absolute) voice path and the options this one was created with.
        return _restore, (str(self.voice.path), dict(self._init_options))

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
        by a sentence) and joined with short pauses; ``speed`` scales the speech and the
        pauses alike. Text the voice cannot speak (other scripts, invalid characters) is
        dropped with one warning (see :meth:`Frontend.segments
        <ttsengine.frontend.Frontend.segments>`).

        Raises:
            InvalidInputError: bad text, speaker, speed or sample rate, or nothing speakable.
        """
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        pieces: list[np.ndarray] = [self._lead_in()]
        segments = self._segments(text)
        with self._workspaces.acquire() as workspace:
            for segment in segments:
                pieces.append(self._run([segment], [speaker_id], speed, workspace)[0].copy())
                pieces.append(self._pause(segment, speed))
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

        ``texts`` is a sequence (or 1-D numpy array) of strings; ``speaker`` is one speaker
        for all texts or one per text (a list, tuple or 1-D numpy array). Each result equals
        :meth:`synthesize` of that text within float rounding. What the voice cannot speak
        is dropped with one warning for the whole batch.

        Raises:
            InvalidInputError: a bad argument; for a bad text the message starts with
                ``texts[i]``.
        """
        if isinstance(texts, np.ndarray) and texts.ndim == 1:
            texts = texts.tolist()
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
            raise InvalidInputError(f"texts must be a sequence of strings, got {type(texts).__name__}")
        max_batch = _as_int(max_batch, "max_batch")
        if max_batch < 1:
            raise InvalidInputError(f"max_batch must be >= 1, got {_shown(max_batch)}")
        if isinstance(speaker, np.ndarray):
            if speaker.ndim > 1:
                raise InvalidInputError(f"speaker must be one speaker or a 1-D sequence, got shape {speaker.shape}")
            speaker = speaker.tolist()  # numpy ints/strs -> Python; a 0-d array -> one speaker
        if isinstance(speaker, Sequence) and not isinstance(speaker, (str, bytes)):
            speakers = list(speaker)
        else:
            speakers = [speaker] * len(texts)
        if len(speakers) != len(texts):
            raise InvalidInputError(f"got {len(speakers)} speakers for {len(texts)} texts")
        options = [self._options(s, speed, sample_rate) for s in speakers]
        dropped: Counter[str] = Counter()
        items = []
        for text_index, text in enumerate(texts):
            try:
                segments = self.frontend.segments(text, dropped=dropped)
            except InvalidInputError as exc:
                raise InvalidInputError(f"texts[{text_index}]: {exc}") from None
            items += [(text_index, segment, options[text_index][0]) for segment in segments]
        self.frontend.warn_dropped(dropped)
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
        per_text: list[list[np.ndarray]] = [[self._lead_in()] for _ in texts]
        for (text_index, segment, _), wave in zip(items, waves):
            per_text[text_index] += [wave, self._pause(segment, speed_value)]
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

        Input is validated before this returns (every InvalidInputError, and the warning
        about dropped text, comes from this call, not from iterating). The concatenated
        chunks equal :meth:`synthesize` within float rounding.
        """
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        if isinstance(text, str) and len(text) > LAZY_CHARS:  # long text: read as the audio is made
            return self._stream(lazy_segments(self.frontend, text), speaker_id, speed, rate)
        segments = self._segments(text)
        return self._stream(segments, speaker_id, speed, rate)

    def estimate_duration(self, text: str, *, speed: float | None = None) -> float:
        """About how many seconds of audio ``text`` gives, from its front end's symbols
        (``ESTIMATE_SECONDS_PER_SYMBOL`` each) and pauses, without synthesis: for a cap
        checked before the work. Raises InvalidInputError as :meth:`synthesize` does."""
        _, speed, _ = self._options(None, speed, None)
        segments = self._segments(text)
        symbols = sum(len(segment.ids) for segment in segments)
        pauses = sum(segment.pause_after for segment in segments)
        return LEAD_IN_S + (symbols * ESTIMATE_SECONDS_PER_SYMBOL + pauses) / speed

    # -- internals ------------------------------------------------------------------

    def _stream(
        self, segments: Iterable[Segment], speaker_id: int, speed: float, rate: int
    ) -> Iterator[AudioChunk]:
        with self._workspaces.acquire() as workspace:
            yield from self._stream_in(workspace, segments, speaker_id, speed, rate)

    def _stream_in(
        self, workspace: Workspace, segments: Iterable[Segment], speaker_id: int, speed: float, rate: int
    ) -> Iterator[AudioChunk]:
        resampler = StreamResampler(self.voice.model_sample_rate, rate)
        index = 0
        remaining = iter(segments)
        following = next(remaining, None)
        number = -1
        while following is not None:  # one segment of look-ahead: is this the last?
            segment, following, number = following, next(remaining, None), number + 1
            tokens, lengths, speaker_ids = self._inputs([segment], [speaker_id], workspace)
            mel, frame_lengths = self._pipeline.mel(
                tokens, lengths, speaker_ids, speed, workspace, self._frame_limit(speed)
            )
            total = int(frame_lengths[0])
            for start, stop in plan_chunks(total, FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES):
                left = max(0, start - self._context)
                right = min(total, stop + self._context)
                wave = self._pipeline.vocode_window(mel, left, right, workspace)
                piece = wave[(start - left) * self._hop : (stop - left) * self._hop]
                if number == 0 and start == 0:
                    piece = np.concatenate([self._lead_in(), piece])
                if stop == total:
                    piece = np.concatenate([piece, self._pause(segment, speed)])
                out = resampler.push(piece)
                is_last = following is None and stop == total
                if is_last:
                    out = np.concatenate([out, resampler.flush()])
                if len(out) or is_last:
                    yield AudioChunk(np.clip(out, -1.0, 1.0), rate, is_last=is_last, index=index)
                    index += 1

    def _options(
        self, speaker: int | str | None, speed: float | None, sample_rate: int | None
    ) -> tuple[int, float, int]:
        if isinstance(speaker, (np.integer, np.str_)):
            speaker = speaker.item()
        if isinstance(speaker, numbers.Integral) and not _is_bool(speaker) and not -(2**63) <= speaker < 2**63:
            raise InvalidInputError(f"unknown speaker id {_shown(speaker)}")
        speaker_id = self.voice.speaker_id(speaker)
        if speed is None:
            speed = self.voice.defaults.get("speed", 1.0)
        speed = _as_float(speed, "speed")
        low, high = SPEED_RANGE
        if not low <= speed <= high:
            raise InvalidInputError(f"speed must be within [{low}, {high}] (1.0 = natural), got {speed}")
        rate = self.voice.sample_rate if sample_rate is None else sample_rate
        integral = not _is_bool(rate) and isinstance(rate, (numbers.Integral, np.integer))
        if not integral or int(rate) not in SUPPORTED_SAMPLE_RATES:
            supported = ", ".join(map(str, SUPPORTED_SAMPLE_RATES))
            raise InvalidInputError(f"sample_rate must be one of {supported} (or None), got {_shown(sample_rate)}")
        return speaker_id, speed, int(rate)

    def _segments(self, text: str) -> list[Segment]:
        return self.frontend.segments(text)  # validates text, warns once about dropped text

    def _lead_in(self) -> np.ndarray:
        """LEAD_IN_S of silence, rounded to whole vocoder frames."""
        frames = round(LEAD_IN_S * self.voice.model_sample_rate / self._hop)
        return np.zeros(frames * self._hop, dtype=np.float32)

    def _pause(self, segment: Segment, speed: float) -> np.ndarray:
        """The silence after ``segment``, shortened or lengthened with the speech."""
        return np.zeros(int(round(segment.pause_after / speed * self.voice.model_sample_rate)), dtype=np.float32)

    def _frame_limit(self, speed: float) -> int:
        """Most frames one segment may get at ``speed`` (MAX_SEGMENT_SECONDS at speed 1.0)."""
        return int(self._max_frames / speed)

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

    def _run(
        self, segments: list[Segment], speakers: list[int], speed: float, workspace: Workspace
    ) -> list[np.ndarray]:
        """Waves of a padded batch: views into ``workspace``, valid until its next request."""
        tokens, lengths, speaker_ids = self._inputs(segments, speakers, workspace)
        waves, frame_lengths = self._pipeline.synthesize(
            tokens, lengths, speaker_ids, speed, workspace, self._frame_limit(speed)
        )
        return [waves[row, : int(n) * self._hop] for row, n in enumerate(frame_lengths)]

    def _audio(self, pieces: list[np.ndarray], rate: int) -> Audio:
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        samples = resample(samples, self.voice.model_sample_rate, rate)
        return Audio(np.clip(samples, -1.0, 1.0), rate)
