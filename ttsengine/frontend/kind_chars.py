"""The ``chars`` kind: letters are the symbols (lower case, accents removed)."""

from __future__ import annotations

import unicodedata

from .kind import FrontendKind, TokenRun
from .normalize import normalize_text
from .symbols import char_script

__all__ = ["CharsKind", "KIND"]


class CharsKind(FrontendKind):
    name = "chars"
    default_language = "en"

    def scripts(self) -> frozenset[str]:
        """The scripts of the letters in the symbol table."""
        return frozenset(char_script(unicodedata.normalize("NFKD", s)[0])
                         for s in self.symbols if s.isalpha())

    def normalize(self, text: str) -> str:
        return normalize_text(text, self.language)

    def tokens(self, text: str) -> list[TokenRun]:
        text = unicodedata.normalize("NFKD", text.lower())
        return [TokenRun(self.language, tuple(ch for ch in text if not unicodedata.combining(ch)))]


KIND = CharsKind
