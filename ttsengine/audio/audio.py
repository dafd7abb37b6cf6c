"""Audio containers: a whole utterance (:class:`Audio`) and a streamed piece (:class:`AudioChunk`).

Both are frozen dataclasses holding a 1-D float32 waveform nominally in [-1, 1]. The
array is stored as a read-only view (the caller's array is not modified), so a frozen
object cannot be changed in place either; copy ``samples`` to edit it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttsengine.errors import InvalidInputError

__all__ = ["Audio", "AudioChunk"]

logger = logging.getLogger("ttsengine")

# suffix / format name -> (soundfile format, soundfile subtype)
_SAVE_FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}


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
            f"{owner}.sample_rate must be a positive int, got {type(sample_rate).__name__} {sample_rate!r}"
        )
    if sample_rate <= 0:
        raise InvalidInputError(f"{owner}.sample_rate must be a positive int, got {sample_rate}")
    return int(sample_rate)


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    # The native kernel: clip to [-1, 1], float32 product by 32767, round half to even.
    from ttsengine import _core

    return _core.float_to_pcm16(samples)


@dataclass(frozen=True, eq=False, repr=False)
class Audio:
    """A mono waveform: ``samples`` float32 1-D (nominally in [-1, 1]) at ``sample_rate`` Hz.

    Any floating-point 1-D array is accepted and stored as contiguous float32; integer
    arrays, other shapes and NaN/inf raise :class:`InvalidInputError`. Values outside
    [-1, 1] are kept (``to_pcm16`` / ``save`` clip them).
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", _check_samples(self.samples, type(self).__name__))
        object.__setattr__(self, "sample_rate", _check_sample_rate(self.sample_rate, type(self).__name__))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate

    def to_pcm16(self) -> np.ndarray:
        """Samples as int16: clipped to [-1, 1], scaled by 32767, rounded to nearest."""
        return _to_pcm16(self.samples)

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        """Write the audio with soundfile.

        ``format`` ("wav", "flac" or "ogg", case-insensitive) defaults to the file suffix;
        a path without a suffix is written as WAV. WAV and FLAC are 16-bit PCM, OGG is
        Vorbis (where the installed libsndfile supports it). An unsupported format or a
        missing parent directory raises :class:`InvalidInputError`.
        """
        target = Path(os.fspath(path))
        if format is not None:
            if not isinstance(format, str):
                raise InvalidInputError(f"format must be a string or None, got {type(format).__name__}")
            key = format.lower().lstrip(".")
            origin = f"format {format!r}"
        else:
            key = target.suffix.lower().lstrip(".") or "wav"
            origin = f"suffix {target.suffix!r} of {str(target)!r}"
        import soundfile as sf  # lazy: keeps `import ttsengine` light

        supported = [k for k, (fmt, _) in _SAVE_FORMATS.items() if fmt in sf.available_formats()]
        if key not in supported:
            raise InvalidInputError(
                f"cannot save audio with {origin}: supported formats are "
                + ", ".join(supported)
            )
        parent = target.parent
        if not parent.is_dir():
            raise InvalidInputError(f"cannot save audio to {str(target)!r}: directory {str(parent)!r} does not exist")
        sf_format, subtype = _SAVE_FORMATS[key]
        if subtype == "PCM_16":
            # Write our own int16 so that files equal to_pcm16() (libsndfile would scale
            # floats by 32768, mapping -1.0 to -32768).
            data = self.to_pcm16()
        else:
            data = np.clip(self.samples, -1.0, 1.0)
        sf.write(str(target), data, self.sample_rate, format=sf_format, subtype=subtype)
        logger.debug("saved %.3f s of audio to %s (%s/%s)", self.duration, target, sf_format, subtype)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(samples=float32[{self.samples.shape[0]}], "
            f"sample_rate={self.sample_rate}, duration={self.duration:.3f}s)"
        )


@dataclass(frozen=True, eq=False, repr=False)
class AudioChunk:
    """A piece of a streamed utterance. ``index`` counts chunks from 0; ``is_last`` marks the end.

    Validation of ``samples`` / ``sample_rate`` is the same as :class:`Audio` (an empty
    chunk is allowed, e.g. a final marker).
    """

    samples: np.ndarray
    sample_rate: int
    is_last: bool
    index: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "samples", _check_samples(self.samples, name))
        object.__setattr__(self, "sample_rate", _check_sample_rate(self.sample_rate, name))
        if not isinstance(self.is_last, (bool, np.bool_)):
            raise InvalidInputError(f"{name}.is_last must be a bool, got {type(self.is_last).__name__}")
        object.__setattr__(self, "is_last", bool(self.is_last))
        if isinstance(self.index, (bool, np.bool_)) or not isinstance(self.index, (int, np.integer)) or self.index < 0:
            raise InvalidInputError(f"{name}.index must be a non-negative int, got {self.index!r}")
        object.__setattr__(self, "index", int(self.index))

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
