"""The :class:`Synthesizer`: text -> tokens -> acoustic -> mel -> vocoder -> audio."""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .audio import SUPPORTED_SAMPLE_RATES, Audio, AudioChunk, StreamResampler, Word, resample
from .backends import create_backend
from .errors import InvalidInputError, VoiceLoadError
from .errors import shown as _shown
from .frontend import Frontend, Segment
from .frontend.g2p import UnsupportedLanguageError
from .frontend.lazy import LAZY_CHARS, lazy_segments
from .frontend.lexicon import Lexicon
from .frontend.ssml import is_ssml, parse_ssml
from .frontend.ssml import masked as ssml_masked
from .frontend.words import align_spans
from .limits import FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES, SPEED_RANGE, segment_frame_limit
from .pipeline import Pipeline, SegmentBatch, make_pipeline
from .voice import VoiceConfig, load_voice
from .pipeline.workspace import BufferLimits, Workspace, WorkspacePool

__all__ = ["Synthesizer", "PreparedText"]

logger = logging.getLogger("ttsengine")

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


@dataclass(frozen=True)
class _Job:
    """One segment of one request: ``owner`` is the request's text index; ``speed`` the
    request's speed times the segment's own factor (SSML prosody)."""

    owner: int
    segment: Segment
    speaker: int
    speed: float


def _job(owner: int, segment: Segment, speaker: int, speed: float) -> _Job:
    """A job at the request's ``speed`` times the segment's own (SSML prosody), kept in SPEED_RANGE."""
    if segment.speed != 1.0:
        speed = min(max(speed * segment.speed, SPEED_RANGE[0]), SPEED_RANGE[1])
    return _Job(owner, segment, speaker, speed)


@dataclass(frozen=True)
class PreparedText:
    """A text through the front end, validated and split into segments with their speaker
    and speed, not yet synthesized (:meth:`Synthesizer.prepare`); ``seconds``: about how
    much audio it gives (``ESTIMATE_SECONDS_PER_SYMBOL`` per symbol, plus its pauses)."""

    jobs: tuple[_Job, ...]
    sample_rate: int
    seconds: float


def _restore(voice: str, options: dict[str, Any]) -> Synthesizer:
    """Unpickles a :class:`Synthesizer`: a new one from its voice path and options."""
    return Synthesizer(voice, **options)


class Synthesizer:
    """Synthesizes speech with one voice on one backend and device.

    Args:
        voice: a voice bundle directory, or the name of a bundled voice (``"default"``).
        device: ``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"cuda:N"``.
        backend: ``"auto"`` | ``"torch"`` | ``"onnxruntime"`` | ``"tensorrt"``.
        precision: ``"auto"`` | ``"fp32"`` | ``"fp16"`` | ``"int8"``. ``auto`` is fp16 on GPUs
            that the bundle has fp16 graphs for and, on CPUs with ONNX Runtime, ``int8`` where
            the bundle carries an int8 decoder (``ttsengine export --int8``; fp32 otherwise).
        num_threads: CPU threads for inference (``None``: the runtime's default). With the
            torch backend this sets torch's process-wide thread count.
        vocoder: ``"auto"`` | ``"hifigan"`` | ``"istft"``. A bundle may carry, beside its
            HiFi-GAN, a fast CPU vocoder distilled from it (``istft``, see
            ``Synthesizer.voice.vocoders``); ``auto`` runs that one where no GPU is used
            and HiFi-GAN on a GPU.
        buffers: sizes of the pipeline's host buffers, allocated once here and reused by
            every request (default :class:`~ttsengine.pipeline.workspace.BufferLimits`); a request
            beyond them still runs and grows the buffer concerned once.
        lexicon: a pronunciation lexicon, a file path or a mapping word -> pronunciation
            (IPA phonemes between slashes, ``"/təˈmɑːtoʊ/"``, or a respelling, ``"sequel"``);
            see :mod:`ttsengine.frontend.lexicon` for the file format.

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
        lexicon: str | os.PathLike[str] | Mapping[str, str] | None = None,
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
            lexicon=dict(lexicon) if isinstance(lexicon, Mapping) else
            None if lexicon is None or isinstance(lexicon, Lexicon) else os.path.abspath(lexicon),
        )
        # speaker id -> the languages voice.json's speaker_info says it speaks (speakers with info)
        self._speaker_languages = {sid: set(self.voice.speaker_info(sid).get("languages", ()))
                                   for sid in set(self.voice.speakers.values()) if self.voice.speaker_info(sid)}
        self._warned_languages: set[tuple[int, str]] = set()
        try:
            self.frontend = Frontend.from_config(dict(self.voice.frontend))
            self.frontend.warmup()  # fail now, not on the first request, if the G2P is missing
        except (ValueError, UnsupportedLanguageError) as exc:
            # the bundle's frontend section is wrong (also a language its G2P does not speak);
            # a G2P that is not installed stays a BackendUnavailableError
            raise VoiceLoadError(f"{self.voice.path}: bad frontend section ({exc})") from None
        if lexicon is not None:
            symbols = self.frontend.symbols if self.frontend.kind == "phonemes" else None
            self.frontend.lexicon = Lexicon.load(lexicon, symbols, self.frontend.g2p_name)
        self._backend = create_backend(backend, self.voice, device, precision, num_threads, vocoder)
        self._hop = self.voice.hop_length
        self._max_frames = segment_frame_limit(self.voice.model_sample_rate, self._hop)
        self.buffers = buffers or BufferLimits()
        self._dims = dict(d_model=int(self.voice.acoustic["hparams"]["d_model"]), n_mels=self.voice.n_mels, hop=self._hop)
        self._workspaces = WorkspacePool(self.buffers, **self._dims)
        # built now: a device arena that cannot be allocated fails here, not at the first request
        self._pipeline: Pipeline = make_pipeline(self._backend, limits=self.buffers, **self._dims)
        if not self.voice.trained:
            logger.info("voice %r has untrained weights: its audio is not speech", self.voice.name)
        logger.info(
            "voice %r on backend %s, device %s, precision %s, vocoder %s",
            self.voice.name, self.backend, self.device, self.precision, self.vocoder,
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
        """The precision actually used: ``"fp32"``, ``"fp16"`` or ``"int8"`` (int8 decoder, fp32 otherwise)."""
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
        jobs = [_job(0, segment, speaker_id, speed) for segment in self._segments(text)]
        with self._workspaces.acquire() as workspace:
            rendered = self._render(jobs, workspace, max_batch=1)  # memory bounded by a sentence
        return self._assemble(jobs, rendered, rate)

    def synthesize_batch(
        self,
        texts: Sequence[str],
        *,
        speaker: int | str | None | Sequence[int | str | None] = None,
        speed: float | None | Sequence[float | None] = None,
        sample_rate: int | None = None,
        max_batch: int = 16,
    ) -> list[Audio]:
        """Synthesizes several texts, running their sentences as padded batches.

        ``texts`` is a sequence (or 1-D numpy array) of strings; ``speaker`` and ``speed``
        are each one value for all texts or one per text (a list, tuple or 1-D numpy array). Each result equals
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
        if isinstance(speed, np.ndarray):
            if speed.ndim > 1:
                raise InvalidInputError(f"speed must be one number or a 1-D sequence, got shape {speed.shape}")
            speed = speed.tolist()
        if isinstance(speed, Sequence) and not isinstance(speed, (str, bytes)):
            speeds = list(speed)
            if len(speeds) != len(texts):
                raise InvalidInputError(f"got {len(speeds)} speeds for {len(texts)} texts")
        else:
            speeds = [speed] * len(texts)
        options = [self._options(s, v, sample_rate) for s, v in zip(speakers, speeds)]
        dropped: Counter[str] = Counter()
        prepared = []
        for text_index, (text, (speaker_id, speed_value, rate)) in enumerate(zip(texts, options)):
            try:
                prepared.append(self._prepare(text, speaker_id, speed_value, rate, dropped))
            except InvalidInputError as exc:
                raise InvalidInputError(f"texts[{text_index}]: {exc}") from None
        self.frontend.warn_dropped(dropped)
        return self.synthesize_prepared(prepared, max_batch=max_batch)

    def prepare(
        self,
        text: str,
        *,
        speaker: int | str | None = None,
        speed: float | None = None,
        sample_rate: int | None = None,
    ) -> PreparedText:
        """Runs the front end on ``text`` (validation, normalization, segments) without
        synthesizing: for a server that checks the work a request asks for before queuing
        it, and batches the segments of several requests (:meth:`synthesize_prepared`).

        Raises:
            InvalidInputError: as :meth:`synthesize`.
        """
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        dropped: Counter[str] = Counter()
        prepared = self._prepare(text, speaker_id, speed, rate, dropped)
        self.frontend.warn_dropped(dropped)
        return prepared

    def synthesize_prepared(self, prepared: Sequence[PreparedText], *, max_batch: int = 16) -> list[Audio]:
        """Synthesizes texts from :meth:`prepare`, their segments run together as padded
        batches of at most ``max_batch`` rows; each result equals :meth:`synthesize` of its
        text within float rounding."""
        jobs = [dataclasses.replace(job, owner=n) for n, item in enumerate(prepared) for job in item.jobs]
        with self._workspaces.acquire() as workspace:
            rendered = self._render(jobs, workspace, max_batch)
        per_text: list[list[int]] = [[] for _ in prepared]
        for i, job in enumerate(jobs):
            per_text[job.owner].append(i)
        return [
            self._assemble([jobs[i] for i in rows], [rendered[i] for i in rows], prepared[n].sample_rate)
            for n, rows in enumerate(per_text)
        ]

    def synthesize_stream(
        self,
        text: str | PreparedText,
        *,
        speaker: int | str | None = None,
        speed: float | None = None,
        sample_rate: int | None = None,
    ) -> Iterator[AudioChunk]:
        """Yields audio chunks as they are ready; the first comes after a short vocoder chunk.

        Input is validated before this returns (every InvalidInputError, and the warning
        about dropped text, comes from this call, not from iterating). The concatenated
        chunks equal :meth:`synthesize` within float rounding.

        ``text`` may be a :meth:`prepare` result (its speaker, speed and sample rate given
        there, not here): the text is not run through the front end again.
        """
        if isinstance(text, PreparedText):
            if (speaker, speed, sample_rate) != (None, None, None):
                raise InvalidInputError("give speaker, speed and sample_rate to prepare(), not with its result")
            return self._stream(text.jobs, text.sample_rate)
        speaker_id, speed, rate = self._options(speaker, speed, sample_rate)
        if isinstance(text, str) and len(text) > LAZY_CHARS and not is_ssml(text):
            segments: Iterable[Segment] = lazy_segments(self.frontend, text)  # read as the audio is made
        else:
            segments = self._segments(text)
        return self._stream((_job(0, segment, speaker_id, speed) for segment in segments), rate)

    def estimate_duration(self, text: str, *, speed: float | None = None) -> float:
        """About how many seconds of audio ``text`` gives, from its front end's symbols
        (``ESTIMATE_SECONDS_PER_SYMBOL`` each) and pauses, without synthesis: for a cap
        checked before the work. Raises InvalidInputError as :meth:`synthesize` does."""
        return self.prepare(text, speed=speed).seconds

    # -- internals ------------------------------------------------------------------

    def _prepare(self, text: str, speaker_id: int, speed: float, rate: int,
                 dropped: Counter[str]) -> PreparedText:
        jobs = tuple(_job(0, segment, speaker_id, speed) for segment in self._segments(text, dropped=dropped))
        seconds = LEAD_IN_S + sum(
            (len(job.segment.ids) * ESTIMATE_SECONDS_PER_SYMBOL + job.segment.pause_after) / job.speed for job in jobs)
        return PreparedText(jobs, rate, seconds)

    def _stream(self, jobs: Iterable[_Job], rate: int) -> Iterator[AudioChunk]:
        with self._workspaces.acquire() as workspace:
            yield from self._stream_in(workspace, jobs, rate)

    def _stream_in(self, workspace: Workspace, jobs: Iterable[_Job], rate: int) -> Iterator[AudioChunk]:
        resampler = StreamResampler(self.voice.model_sample_rate, rate)
        index = 0
        offset = len(self._lead_in())  # samples at the model rate before the segment
        remaining = iter(jobs)
        following = next(remaining, None)
        number = -1
        while following is not None:  # one job of look-ahead: is this the last?
            job, following, number = following, next(remaining, None), number + 1
            words: tuple[Word, ...] = ()
            for piece in self._pipeline.stream(self._batch([job], workspace), workspace, self._max_frames,
                                               FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES):
                wave = piece.wave
                if piece.start == 0:
                    words = self._words(job, piece.token_frames, offset)
                    if number == 0:
                        wave = np.concatenate([self._lead_in(), wave])
                if piece.stop == piece.total:
                    pause = self._pause(job)
                    wave = np.concatenate([wave, pause])
                    offset += piece.total * self._hop + len(pause)
                out = resampler.push(wave)
                is_last = following is None and piece.stop == piece.total
                if is_last:
                    out = np.concatenate([out, resampler.flush()])
                if len(out) or is_last:
                    yield AudioChunk(np.clip(out, -1.0, 1.0), rate, is_last=is_last, index=index, words=words)
                    words = ()
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

    def _segments(self, text: str, dropped: Counter[str] | None = None) -> list[Segment]:
        """The segments of ``text`` (plain text, or SSML when it starts with ``<speak``);
        validates it and warns about dropped text."""
        if not is_ssml(text):
            return self.frontend.segments(text, dropped=dropped)
        out: list[Segment] = []
        symbols = self.frontend.symbols if self.frontend.kind == "phonemes" else None
        for block in parse_ssml(text):
            lexicon = None
            if block.phonemes and symbols is not None:
                try:
                    lexicon = Lexicon.load({w: f"/{ph}/" for w, ph in block.phonemes.items()}, symbols,
                                           self.frontend.g2p_name)
                except InvalidInputError as exc:
                    raise InvalidInputError(f"invalid SSML <phoneme>: {exc}") from None
            try:
                segments = self.frontend.segments(block.text, dropped=dropped, lexicon=lexicon)
            except InvalidInputError:  # nothing speakable in this block: its pause still counts
                if out:
                    out[-1] = dataclasses.replace(out[-1], pause_after=max(out[-1].pause_after, block.default_pause()))
                continue
            segments[-1] = dataclasses.replace(segments[-1], pause_after=block.default_pause())
            language = block.language or self.frontend.language
            out += [dataclasses.replace(s, speed=block.speed, language=language) for s in segments]
        if not out:
            raise InvalidInputError("the SSML has no text this voice can speak")
        out[-1] = dataclasses.replace(out[-1], pause_after=0.0)
        # word spans into the SSML source itself
        spans = iter(align_spans(ssml_masked(text), [w.text for s in out for w in s.words]))
        return [dataclasses.replace(s, words=tuple(dataclasses.replace(w, chars=next(spans)) for w in s.words))
                for s in out]

    def _lead_in(self) -> np.ndarray:
        """LEAD_IN_S of silence, rounded to whole vocoder frames."""
        frames = round(LEAD_IN_S * self.voice.model_sample_rate / self._hop)
        return np.zeros(frames * self._hop, dtype=np.float32)

    def _pause(self, job: _Job) -> np.ndarray:
        """The silence after ``job``'s segment, shortened or lengthened with the speech."""
        seconds = job.segment.pause_after / job.speed
        return np.zeros(int(round(seconds * self.voice.model_sample_rate)), dtype=np.float32)

    def _warn_unlisted_language(self, speaker: int, languages: set[str]) -> None:
        """Logs once per speaker and language when a speaker is asked to speak a language its
        ``speaker_info`` does not list (it may speak it poorly: see the voice's model card)."""
        listed = self._speaker_languages.get(speaker)
        if not listed:
            return
        for language in sorted(languages - listed - {""}):
            if (speaker, language) not in self._warned_languages:
                self._warned_languages.add((speaker, language))
                name = next((n for n, sid in self.voice.speakers.items() if sid == speaker), speaker)
                logger.warning("speaker %s of voice %r is not listed as speaking %s (it speaks %s): expect "
                               "poor speech; see the voice's MODEL_CARD.md", name, self.voice.name, language,
                               ", ".join(sorted(listed)))

    def _batch(self, jobs: list[_Job], workspace: Workspace) -> SegmentBatch:
        """The padded :class:`SegmentBatch` of ``jobs`` (token arrays in the workspace)."""
        batch, longest = len(jobs), max(len(job.segment.ids) for job in jobs)
        tokens = workspace.take("tokens", (batch, longest), np.int64)
        lengths = workspace.take("token_lengths", (batch,), np.int64)
        speaker_ids = workspace.take("speakers", (batch,), np.int64)
        tokens.fill(0)
        for job in jobs:
            self._warn_unlisted_language(job.speaker, set(job.segment.languages) or {job.segment.language})
        for row, job in enumerate(jobs):
            tokens[row, : len(job.segment.ids)] = self.frontend.model_ids(job.segment)
            lengths[row] = len(job.segment.ids)
        speaker_ids[:] = [job.speaker for job in jobs]
        return SegmentBatch(
            tokens, lengths, speaker_ids,
            speeds=np.array([job.speed for job in jobs], np.float64),
            pauses=np.array([job.segment.pause_after for job in jobs], np.float64),
            languages=tuple(job.segment.language for job in jobs),
            words=tuple(job.segment.words for job in jobs),
        )

    def _render(self, jobs: list[_Job], workspace: Workspace, max_batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(wave, per-token frames) of each job, run as padded batches of at most
        ``max_batch`` rows sorted by length (each batch pads little)."""
        order = sorted(range(len(jobs)), key=lambda i: len(jobs[i].segment.ids), reverse=True)
        out: list[Any] = [None] * len(jobs)
        for start in range(0, len(order), max_batch):
            rows = order[start : start + max_batch]
            result = self._pipeline.run(self._batch([jobs[i] for i in rows], workspace), workspace, self._max_frames)
            for row, i in enumerate(rows):
                n = int(result.frame_lengths[row])
                frames = np.array(result.token_frames[row, : len(jobs[i].segment.ids)], np.int32)
                out[i] = (result.waves[row, : n * self._hop].copy(), frames)
        return out

    def _words(self, job: _Job, token_frames: np.ndarray, offset: int) -> tuple[Word, ...]:
        """``job``'s words, timed from its per-token frames; ``offset``: model-rate samples
        before its first frame."""
        bounds = np.concatenate([[0], np.cumsum(token_frames, dtype=np.int64)]) * self._hop + offset
        rate = self.voice.model_sample_rate
        return tuple(
            Word(w.text, float(bounds[w.first]) / rate, float(bounds[w.stop]) / rate, w.chars)
            for w in job.segment.words
        )

    def _assemble(self, jobs: list[_Job], rendered: list[tuple[np.ndarray, np.ndarray]], rate: int) -> Audio:
        """One result: the lead-in, then each segment's wave and pause, resampled to ``rate``."""
        pieces: list[np.ndarray] = [self._lead_in()]
        offset = len(pieces[0])
        words: list[Word] = []
        for job, (wave, frames) in zip(jobs, rendered):
            words += self._words(job, frames, offset)
            pieces += [wave, self._pause(job)]
            offset += len(wave) + len(pieces[-1])
        samples = np.concatenate(pieces)
        samples = resample(samples, self.voice.model_sample_rate, rate)
        duration = len(samples) / rate
        words = [Word(w.text, min(w.start, duration), min(w.end, duration), w.span) for w in words]
        return Audio(np.clip(samples, -1.0, 1.0), rate, words=tuple(words))
