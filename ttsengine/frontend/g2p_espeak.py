"""espeak-ng G2P (through ``phonemizer`` and the ``espeakng-loader`` bundled library).

espeak-ng is GPL-3: this module is the only place that touches it, and it is imported
only when a voice asks for ``"g2p": "espeak"``. espeak-ng keeps process-global state and
is not thread-safe, so every call (backend creation included) holds one module-level lock.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from typing import Any

from ..errors import BackendUnavailableError, shown
from .g2p import UnsupportedLanguageError

__all__ = ["EspeakG2P"]

_PIP_HINT = "pip install phonemizer espeakng-loader"
_LOCK = threading.Lock()  # serializes every espeak-ng call in the process
_backends: dict[str, Any] = {}
_library_ready = False
_SPACE_RE = re.compile(r"\s+")


class _QuietLogger(logging.LoggerAdapter):
    """phonemizer warns on every language switch / word-count mismatch; demote to debug."""

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


def _check_installed() -> None:
    missing = [m for m in ("phonemizer", "espeakng_loader") if importlib.util.find_spec(m) is None]
    if missing:
        raise BackendUnavailableError(
            f"the espeak G2P needs the pip packages 'phonemizer' and 'espeakng-loader' "
            f"(missing: {', '.join(missing)}); install them with: {_PIP_HINT}")


def _backend(language: str) -> Any:
    """The shared phonemizer backend for ``language``; call with ``_LOCK`` held."""
    global _library_ready
    backend = _backends.get(language)
    if backend is not None:
        return backend
    try:
        import espeakng_loader
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
        if not _library_ready:
            EspeakWrapper.set_library(espeakng_loader.get_library_path())
            EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
            _library_ready = True
        from phonemizer.backend import EspeakBackend
    except ImportError as exc:  # pragma: no cover - covered by _check_installed
        raise BackendUnavailableError(f"cannot load espeak-ng ({exc}); {_PIP_HINT}") from exc
    try:
        supported = EspeakBackend.is_supported_language(language)
    except RuntimeError as exc:  # the library does not load
        raise BackendUnavailableError(f"cannot load espeak-ng ({exc}); {_PIP_HINT}") from exc
    if not supported:
        raise UnsupportedLanguageError(
            f"espeak-ng cannot phonemize language {shown(language)}: not one of its languages "
            "(`espeak-ng --voices` lists them)")
    try:
        backend = EspeakBackend(
            language, preserve_punctuation=True, with_stress=True,
            language_switch="remove-flags", words_mismatch="ignore",
            logger=_QuietLogger(logging.getLogger("ttsengine.frontend.espeak"), {}))
    except RuntimeError as exc:
        raise BackendUnavailableError(
            f"espeak-ng cannot phonemize language {shown(language)}: {exc}") from exc
    _backends[language] = backend
    return backend


class EspeakG2P:
    """espeak-ng phonemizer: stressed IPA with punctuation kept, e.g.
    ``"The quick brown fox."`` -> ``"ðə kwˈɪk bɹˈaʊn fˈɑːks."``."""

    name = "espeak"

    def __init__(self, language: str = "en-us") -> None:
        _check_installed()
        self.language = language

    def load(self) -> None:
        """Create the espeak backend now (it is otherwise created on first use)."""
        with _LOCK:
            _backend(self.language)

    def phonemize(self, text: str) -> str:
        """IPA phonemes of ``text``; empty string for blank text."""
        text = _SPACE_RE.sub(" ", text).strip()
        if not text:
            return ""
        with _LOCK:
            out = _backend(self.language).phonemize([text], strip=True)
        return _SPACE_RE.sub(" ", out[0] if out else "").strip()

    def __repr__(self) -> str:
        return f"EspeakG2P(language={self.language!r})"
