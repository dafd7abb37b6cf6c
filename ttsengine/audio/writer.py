"""Audio written to a file as it is made (``ttsengine synth``): memory stays one chunk.

WAV, FLAC and OGG go through soundfile (the same 16-bit samples as :meth:`Audio.save`);
MP3, Opus (in Ogg) and AAC (ADTS) through PyAV, the server's encoders (``pip install av``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, InvalidInputError
from .audio import _SAVE_FORMATS, Audio, _reason, _target, check_save_path

__all__ = ["StreamWriter", "ENCODED_SUFFIXES", "check_stream_path"]

#: suffix -> the server's format name, for formats PyAV encodes
ENCODED_SUFFIXES = {"mp3": "mp3", "opus": "opus", "aac": "aac"}


def check_stream_path(path: str) -> str:
    """The format of ``path`` (from its suffix) after the checks of :func:`check_save_path`;
    InvalidInputError for a suffix neither soundfile nor PyAV writes."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ENCODED_SUFFIXES:
        check_save_path(path, format="wav")  # the destination only
        return ENCODED_SUFFIXES[suffix]
    try:
        return check_save_path(path)
    except InvalidInputError as exc:
        if "supported formats are" in str(exc):
            raise InvalidInputError(f"{exc}, {', '.join(ENCODED_SUFFIXES)}") from None
        raise


def _device_reason(path: Path) -> str | None:
    """Why a device or pipe at ``path`` takes no audio, as the OS says (e.g. /dev/full: "No
    space left on device"); None for a regular file (never written to here)."""
    if os.path.isfile(path):
        return None
    try:
        with open(path, "ab") as handle:
            handle.write(bytes(4096))
    except OSError as exc:
        return _reason(exc)
    return None


class StreamWriter:
    """Writes chunks of mono float audio at ``sample_rate`` to ``path`` in ``format``
    (from :func:`check_stream_path`). ``close`` finishes the file; ``abort`` removes it."""

    def __init__(self, path: str, format: str, sample_rate: int) -> None:
        self.path = _target(path)
        self.format = format
        self.sample_rate = sample_rate
        self.samples = 0
        self._existed = os.path.lexists(self.path)
        self._file: Any = None
        self._encoder: Any = None
        try:
            if format in _SAVE_FORMATS:
                import soundfile as sf

                sf_format, subtype = _SAVE_FORMATS[format]
                self._file = sf.SoundFile(str(self.path), "w", sample_rate, 1, subtype, format=sf_format)
            else:
                try:
                    from ..server.encode import StreamEncoder
                    import av  # noqa: F401
                except ImportError:
                    raise BackendUnavailableError(
                        f"writing {format} needs PyAV: pip install av (or ttsengine[serve])") from None
                self._encoder = StreamEncoder(format, sample_rate)
                self._file = open(self.path, "wb")
        except OSError as exc:
            raise InvalidInputError(f"cannot write audio to {str(self.path)!r}: {_reason(exc)}") from exc
        except RuntimeError as exc:  # libsndfile: often only "System error"; ask the OS
            raise InvalidInputError(f"cannot write audio to {str(self.path)!r}: {_device_reason(self.path) or exc}") from exc

    def write(self, samples: np.ndarray) -> None:
        """Appends ``samples`` (float32 in [-1, 1])."""
        if not len(samples):
            return
        audio = Audio(samples, self.sample_rate)
        self.samples += len(samples)
        try:
            if self._encoder is None:
                subtype = _SAVE_FORMATS[self.format][1]
                self._file.write(audio.to_pcm16() if subtype == "PCM_16" else np.clip(audio.samples, -1.0, 1.0))
            else:
                self._file.write(self._encoder.push(audio))
        except (OSError, RuntimeError) as exc:  # soundfile raises RuntimeError / LibsndfileError
            self.abort()
            raise InvalidInputError(f"cannot write audio to {str(self.path)!r}: {exc}") from exc

    def close(self) -> None:
        """Finishes the file (headers, the encoder's last frames)."""
        try:
            if self._encoder is not None:
                self._file.write(self._encoder.finish())
            self._file.close()
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise InvalidInputError(f"cannot write audio to {str(self.path)!r}: {exc}") from exc

    def abort(self) -> None:
        """Closes and removes an unfinished file (one that was not there before)."""
        try:
            if self._encoder is not None:
                self._encoder.close()
            if self._file is not None:
                self._file.close()
        except Exception:  # noqa: BLE001 - already failing; the file goes anyway
            pass
        if not self._existed:
            self.path.unlink(missing_ok=True)
