"""The ``phonemes`` kind: a G2P (misaki, espeak-ng, or one registered) reads each piece into
phoneme characters, one symbol per character."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .g2p import G2P, get_g2p
from .kind import FrontendKind, TokenRun
from .language import language_scripts
from .normalize import normalize_text

__all__ = ["PhonemesKind", "KIND"]


class PhonemesKind(FrontendKind):
    name = "phonemes"
    default_language = "en-us"
    reads_lone_greek = True
    uses_lexicon = True

    def __init__(self, language: str, symbols: tuple[str, ...], g2p: str | G2P | None,
                 options: dict[str, Any]) -> None:
        super().__init__(language, symbols, g2p, options)
        g2p = g2p or "espeak"
        if isinstance(g2p, str):
            self._g2p_name: str = g2p
            self._g2p: G2P = get_g2p(g2p, language)
        else:
            self._g2p = g2p
            self._g2p_name = getattr(g2p, "name", type(g2p).__name__)

    @property
    def g2p(self) -> G2P:
        return self._g2p

    @property
    def g2p_name(self) -> str:
        return self._g2p_name

    def scripts(self) -> frozenset[str] | None:
        declared = getattr(self._g2p, "scripts", None)
        if declared is not None:
            if (isinstance(declared, str) or not isinstance(declared, Iterable)
                    or not all(isinstance(x, str) for x in declared)):
                raise ValueError(f"G2P {self._g2p_name!r}: 'scripts' must be a collection of "
                                 f"script names, got {declared!r}")
            return frozenset(declared)
        if self._g2p_name == "misaki":
            return frozenset({"Latin"})
        scripts = language_scripts(self.language)
        if scripts is not None and self._g2p_name == "espeak":
            scripts |= {"Latin"}  # espeak-ng switches to English for Latin words
        return scripts

    def normalize(self, text: str) -> str:
        return normalize_text(text, self.language)

    def tokens(self, text: str) -> list[TokenRun]:
        if not any(ch.isalnum() for ch in text):
            return [TokenRun(self.language, tuple(text))]  # punctuation only: spare the G2P call
        return [TokenRun(self.language, tuple(self._g2p.phonemize(text)))]

    def config(self) -> dict[str, Any]:
        return {"g2p": self._g2p_name}

    def warmup(self) -> None:
        self._g2p.phonemize("warm up")


KIND = PhonemesKind
