"""misaki G2P (American / British English) through the ``hibari-tts`` package's port.

misaki is the G2P of Kokoro-82M (Apache-2.0): a pronunciation lexicon with part-of-speech
rules, a perceptron tagger and a small neural net for unknown words, no espeak-ng and no
spaCy. ``hibari-tts`` (Apache-2.0) ships that port with its data; this module is the only
place that imports it. The output uses misaki's phoneme letters (``ʤ``, ``A`` = eɪ,
``O`` = oʊ ...), which are in the phoneme symbol table. The bundled ``default`` voice uses
this G2P because its training audio was spoken from exactly these phonemes.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from typing import Any

from ..errors import BackendUnavailableError

__all__ = ["MisakiG2P"]

_PIP_HINT = "pip install hibari-tts"
_SPACE_RE = re.compile(r"\s+")
_LANGUAGES = {"en-us": False, "en": False, "en-gb": True}  # language -> british


class MisakiG2P:
    """misaki phonemes, e.g. ``"The quick brown fox."`` -> ``"ðə kwˈɪk bɹˈWn fˈɑks."``.

    Thread-safe (calls are serialized); the lexicons load on first use (~0.5 s).
    """

    name = "misaki"

    def __init__(self, language: str = "en-us") -> None:
        if language.lower() not in _LANGUAGES:
            raise BackendUnavailableError(
                f"the misaki G2P speaks English only (en-us, en-gb), not {language!r}")
        if importlib.util.find_spec("hibari") is None:
            raise BackendUnavailableError(
                f"the misaki G2P needs the pip package 'hibari-tts'; install it with: {_PIP_HINT}")
        self.language = language
        self._british = _LANGUAGES[language.lower()]
        self._g2p: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the lexicons now (they are otherwise loaded on first use)."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._g2p is None:
            try:
                from hibari.g2p import G2P
            except ImportError as exc:  # pragma: no cover - covered by find_spec above
                raise BackendUnavailableError(f"cannot load the misaki G2P ({exc}); {_PIP_HINT}") from exc
            self._g2p = G2P(british=self._british)
        return self._g2p

    def phonemize(self, text: str) -> str:
        """misaki phonemes of ``text``; empty string for blank text."""
        text = _SPACE_RE.sub(" ", text).strip()
        if not text:
            return ""
        with self._lock:
            out = self._load()(text)
        return _SPACE_RE.sub(" ", out).strip()

    def __repr__(self) -> str:
        return f"MisakiG2P(language={self.language!r})"
