"""ttsengine: fast text-to-speech inference.

``from ttsengine import Synthesizer`` is all most users need. Importing this package is
light: torch, onnx and tensorrt are imported only when a backend that needs them is
created.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import BackendUnavailableError, InvalidInputError, TTSEngineError, VoiceLoadError

if TYPE_CHECKING:
    from .audio import Audio, AudioChunk, Word
    from .backends import available_backends, backend_report
    from .synthesizer import Synthesizer
    from .voice import VoiceConfig, bundled_voices, load_voice

__all__ = [
    "__version__",
    "Synthesizer",
    "Audio",
    "AudioChunk",
    "Word",
    "VoiceConfig",
    "available_backends",
    "backend_report",
    "bundled_voices",
    "load_voice",
    "TTSEngineError",
    "InvalidInputError",
    "VoiceLoadError",
    "BackendUnavailableError",
]

logging.getLogger("ttsengine").addHandler(logging.NullHandler())

_LAZY = {
    "Synthesizer": ".synthesizer",
    "Audio": ".audio",
    "AudioChunk": ".audio",
    "Word": ".audio",
    "VoiceConfig": ".voice",
    "bundled_voices": ".voice",
    "load_voice": ".voice",
    "available_backends": ".backends",
    "backend_report": ".backends",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ttsengine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
