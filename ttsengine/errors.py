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
    "ModelOutputError",
]


class TTSEngineError(Exception):
    """Base class of every error raised by ttsengine."""


class InvalidInputError(TTSEngineError, ValueError):
    """The caller passed something the engine cannot synthesize (empty text, bad speaker ...)."""


class VoiceLoadError(TTSEngineError):
    """A voice bundle is missing, corrupt, inconsistent or written by a newer ttsengine."""


class BackendUnavailableError(TTSEngineError):
    """An explicitly requested backend, device, precision or optional component is missing here."""


class ModelOutputError(TTSEngineError):
    """A voice's network produced output the engine cannot use, e.g. NaN log-durations (a
    broken checkpoint, or an fp16 overflow on a GPU). Retrying the same input will not help;
    another precision or backend may."""
