"""Audio containers: a whole utterance (:class:`Audio`) and a streamed piece (:class:`AudioChunk`).

Both are frozen dataclasses holding a 1-D float32 waveform nominally in [-1, 1]. The
array is stored as a read-only view (the caller's array is not modified), so a frozen
object cannot be changed in place either; copy ``samples`` to edit it.
"""

from __future__ import annotations

import errno
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttsengine.errors import InvalidInputError, shown

__all__ = ["Audio", "AudioChunk", "Word", "check_save_path"]

logger = logging.getLogger("ttsengine")

# suffix / format name -> (soundfile format, soundfile subtype)
_SAVE_FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}


def _supported_formats() -> list[str]:
    import soundfile as sf  # lazy: keeps `import ttsengine` light

    available = sf.available_formats()
    return [k for k, (fmt, _) in _SAVE_FORMATS.items() if fmt in available]


def _format_key(target: Path | None, format: str | None) -> str:
    """The key of _SAVE_FORMATS for an explicit ``format``, else for ``target``'s suffix."""
    if format is not None:
        if not isinstance(format, str):
            raise InvalidInputError(f"format must be a string or None, got {type(format).__name__}")
        key = format.lower().lstrip(".")
        origin = f"format {format!r}"
    else:
        assert target is not None
        key = target.suffix.lower().lstrip(".") or "wav"
        origin = f"suffix {target.suffix!r} of {str(target)!r}"
    supported = _supported_formats()
    if key not in supported:
        raise InvalidInputError(f"cannot save audio with {origin}: supported formats are " + ", ".join(supported))
    return key


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path; a path that ends with a separator ("newdir/", which Path would
    read as "newdir") names a directory, which is refused (InvalidInputError)."""
    raw = os.fspath(path)
    if not isinstance(raw, str):
        raise InvalidInputError(f"path must be a str or an os.PathLike of str, got {type(raw).__name__}")
    if raw.endswith(os.sep) or (os.altsep is not None and raw.endswith(os.altsep)):
        raise InvalidInputError(f"cannot save audio to {shown(raw, 200)}: it names a directory (it ends with "
                                f"{raw[-1]!r}); give a file name, e.g. {shown(raw + 'out.wav', 200)}")
    return Path(raw)


def _check_destination(target: Path) -> None:
    """Path problems that need no write to see: a directory, a missing parent."""
    try:
        if target.is_dir():
            raise InvalidInputError(f"cannot save audio to {str(target)!r}: it is a directory")
        parent = target.parent
        if not parent.is_dir():
            what = "is not a directory" if parent.exists() else "does not exist"
            raise InvalidInputError(f"cannot save audio to {str(target)!r}: directory {str(parent)!r} {what}")
    except OSError as exc:  # e.g. a name too long, a permission-denied parent
        raise InvalidInputError(f"cannot save audio to {str(target)!r}: {_reason(exc)}") from exc


def check_save_path(path: str | os.PathLike[str], format: str | None = None) -> str:
    """Checks, before any audio exists, that :meth:`Audio.save` could write ``path``.

    Returns the format key ("wav", "flac", "ogg"); raises :class:`InvalidInputError` for an
    unsupported format, a directory (also a path ending with a separator, "newdir/"), a
    missing parent or a place that cannot be written.
    Nothing is left behind: an existing file is opened for appending (not truncated) and a
    probe file is removed again. Conditions only a write shows (a full disk) still raise
    from :meth:`Audio.save`.
    """
    target = _target(path)
    key = _format_key(target, format)
    _check_destination(target)
    try:
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(target)
        elif target.is_file():
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
        elif target.exists() and not os.access(target, os.W_OK):  # a device or FIFO: opening could block
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        raise InvalidInputError(f"cannot write audio to {str(target)!r}: {_reason(exc)}") from exc
    return key


def _check_samples(samples: Any, owner: str) -> np.ndarray:
    """Validate ``samples`` and return a read-only, contiguous float32 1-D view/copy."""
    arr = np.asarray(samples)
    if arr.dtype.kind != "f":
        raise InvalidInputError(
            f"{owner}.samples must be a floating-point array, got dtype {arr.dtype}"
            " (convert integer PCM to float in [-1, 1] first)"
        )
    if arr.ndim != 1:
        raise InvalidInputError(f"{owner}.samples must be 1-D, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{owner}.samples contains NaN or infinite values")
    view = arr.view()
    view.flags.writeable = False
    return view


def _check_sample_rate(sample_rate: Any, owner: str) -> int:
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, (int, np.integer)):
        raise InvalidInputError(
            f"{owner}.sample_rate must be a positive int, got {type(sample_rate).__name__} {shown(sample_rate)}"
        )
    if sample_rate <= 0:
        raise InvalidInputError(f"{owner}.sample_rate must be a positive int, got {shown(sample_rate)}")
    return int(sample_rate)


def _check_words(words: Any, owner: str) -> tuple:
    words = tuple(words)
    if not all(isinstance(w, Word) for w in words):
        raise InvalidInputError(f"{owner}.words must hold Word objects")
    return words


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    # The native kernel: clip to [-1, 1], float32 product by 32767, round half to even.
    from ttsengine import _core

    return _core.float_to_pcm16(samples)


@dataclass(frozen=True)
class Word:
    """A spoken word and when it is heard: ``start`` / ``end`` in seconds from the start of
    the audio (of the whole stream for :class:`AudioChunk` words), from the model's own
    durations. ``text`` is the word as spoken (after normalization: "3" is "three");
    ``span`` is [start, stop) of the characters of the input text it was read from (the
    words of one number or abbreviation share a span; ``None`` where unknown)."""

    text: str
    start: float
    end: float
    span: tuple[int, int] | None = None

    def shifted(self, seconds: float) -> Word:
        """This word ``seconds`` later."""
        return Word(self.text, self.start + seconds, self.end + seconds, self.span)


@dataclass(frozen=True, eq=False, repr=False)
class Audio:
    """A mono waveform: ``samples`` float32 1-D (nominally in [-1, 1]) at ``sample_rate`` Hz.

    Any floating-point 1-D array is accepted and stored as contiguous float32; integer
    arrays, other shapes and NaN/inf raise :class:`InvalidInputError`. Values outside
    [-1, 1] are kept (``to_pcm16`` / ``save`` clip them). ``words``: the :class:`Word` s
    spoken, in order (empty where not known).
    """

    samples: np.ndarray
    sample_rate: int
    words: tuple[Word, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", _check_samples(self.samples, type(self).__name__))
        object.__setattr__(self, "sample_rate", _check_sample_rate(self.sample_rate, type(self).__name__))
        object.__setattr__(self, "words", _check_words(self.words, type(self).__name__))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate

    def to_pcm16(self) -> np.ndarray:
        """Samples as int16: clipped to [-1, 1], scaled by 32767, rounded to nearest."""
        return _to_pcm16(self.samples)

    def to_bytes(self, format: str = "wav") -> bytes:
        """The file :meth:`save` would write, as bytes (e.g. for an HTTP response or a pipe).

        ``format`` is "wav", "flac" or "ogg" (case-insensitive); the whole file is built in
        memory, so WAV header sizes are exact even when the bytes go to a pipe.
        """
        return self._encode(_format_key(None, format))

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        """Write the audio to ``path``.

        ``format`` ("wav", "flac" or "ogg", case-insensitive) defaults to the file suffix;
        a path without a suffix is written as WAV. WAV and FLAC are 16-bit PCM, OGG is
        Vorbis (where the installed libsndfile supports it). An unsupported format, a
        directory (also a path ending with a separator, "newdir/"), a missing parent directory or a destination that cannot be written
        (permissions, full disk ...) raises :class:`InvalidInputError` (its ``__cause__``
        is the ``OSError``); a file that could not be written completely is removed.
        """
        target = _target(path)
        key = _format_key(target, format)
        _check_destination(target)
        data = self._encode(key)
        existed = os.path.lexists(target)
        try:
            with open(target, "wb", buffering=0) as handle:
                view = memoryview(data)
                while view:  # one write(2) each: a short write is retried, so its error surfaces
                    view = view[handle.write(view):]
        except OSError as exc:
            if not existed and target.is_file():
                target.unlink(missing_ok=True)  # no truncated file left behind
            raise InvalidInputError(f"cannot write audio to {str(target)!r}: {_reason(exc)}") from exc
        logger.debug("saved %.3f s of audio to %s (%s)", self.duration, target, key)

    def _encode(self, key: str) -> bytes:
        import soundfile as sf  # lazy: keeps `import ttsengine` light

        sf_format, subtype = _SAVE_FORMATS[key]
        if subtype == "PCM_16":
            # Write our own int16 so that files equal to_pcm16() (libsndfile would scale
            # floats by 32768, mapping -1.0 to -32768).
            data = self.to_pcm16()
        else:
            data = np.clip(self.samples, -1.0, 1.0)
        buffer = io.BytesIO()
        sf.write(buffer, data, self.sample_rate, format=sf_format, subtype=subtype)
        return buffer.getvalue()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(samples=float32[{self.samples.shape[0]}], "
            f"sample_rate={self.sample_rate}, duration={self.duration:.3f}s)"
        )


@dataclass(frozen=True, eq=False, repr=False)
class AudioChunk:
    """A piece of a streamed utterance. ``index`` counts chunks from 0; ``is_last`` marks the end.

    Validation of ``samples`` / ``sample_rate`` is the same as :class:`Audio` (an empty
    chunk is allowed, e.g. a final marker). ``words``: the :class:`Word` s whose sentence
    starts in this chunk, with times from the start of the stream.
    """

    samples: np.ndarray
    sample_rate: int
    is_last: bool
    index: int = 0
    words: tuple[Word, ...] = ()

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "samples", _check_samples(self.samples, name))
        object.__setattr__(self, "sample_rate", _check_sample_rate(self.sample_rate, name))
        if not isinstance(self.is_last, (bool, np.bool_)):
            raise InvalidInputError(f"{name}.is_last must be a bool, got {type(self.is_last).__name__}")
        object.__setattr__(self, "is_last", bool(self.is_last))
        if isinstance(self.index, (bool, np.bool_)) or not isinstance(self.index, (int, np.integer)) or self.index < 0:
            raise InvalidInputError(f"{name}.index must be a non-negative int, got {shown(self.index)}")
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "words", _check_words(self.words, name))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate

    def to_pcm16(self) -> np.ndarray:
        """Samples as int16: clipped to [-1, 1], scaled by 32767, rounded to nearest."""
        return _to_pcm16(self.samples)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(samples=float32[{self.samples.shape[0]}], "
            f"sample_rate={self.sample_rate}, is_last={self.is_last}, index={self.index})"
        )
