"""The exception hierarchy of ttsengine.

Every error the library raises on purpose derives from :class:`TTSEngineError`, so a
service can catch one type. Bad user input is an :class:`InvalidInputError`, which is
also a :class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "TTSEngineError",
    "InvalidInputError",
    "VoiceLoadError",
    "BackendUnavailableError",
    "ExportError",
    "ModelOutputError",
    "TooLongError",
]


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters; safe for any value.

    An int past Python's int/str conversion limit (4300 digits: ``repr(10**5000)`` raises
    ValueError) is described by its size, and an object whose ``repr`` fails by its type,
    so that describing bad input never raises in place of the typed error."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * 0.30102999566398) + 1  # 10**38 < 2**128
        return f"{'-' if value < 0 else ''}<an integer of about {digits} digits>"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - huge ints inside containers, Fractions, broken __repr__
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


class TTSEngineError(Exception):
    """Base class of every error raised by ttsengine."""


class InvalidInputError(TTSEngineError, ValueError):
    """The caller passed something the engine cannot synthesize (empty text, bad speaker ...)."""


class TooLongError(InvalidInputError):
    """The input asks for more than a configured limit allows (audio seconds of one request,
    bytes of a text file); found before synthesis starts."""


class VoiceLoadError(TTSEngineError):
    """A voice bundle is missing, corrupt, inconsistent or written by a newer ttsengine."""


class BackendUnavailableError(TTSEngineError):
    """An explicitly requested backend, device, precision or optional component is missing here."""


class ExportError(TTSEngineError):
    """An export could not be done (output exists, exporter failure, invalid graph)."""


class ModelOutputError(TTSEngineError):
    """A voice's network produced output the engine cannot use, e.g. NaN log-durations (a
    broken checkpoint, or an fp16 overflow on a GPU). Retrying the same input will not help;
    another precision or backend may."""
