"""The interface every front-end kind implements (the registry of kinds: :mod:`.kinds`).

A kind turns text into the symbols of one symbol table: it normalizes a text, says which
scripts it speaks, and reads a normalized piece into :class:`TokenRun` s (symbols of one
language each). :class:`~ttsengine.frontend.Frontend` does the rest the same way for every
kind: invalid text and unspeakable scripts dropped, sentence splitting, symbol ids,
pauses, word spans. Kinds: ``phonemes`` (:mod:`.kind_phonemes`), ``pinyin``
(:mod:`.kind_pinyin`), ``chars`` (:mod:`.kind_chars`), ``mixed`` (:mod:`.kind_mixed`:
Mandarin with English in it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from .g2p import G2P

__all__ = ["TokenRun", "FrontendKind"]


@dataclass(frozen=True)
class TokenRun:
    """Symbols of one language read from a stretch of text (``symbols`` as the kind emits
    them: phoneme characters, pinyin initials / finals, punctuation, spaces)."""

    language: str
    symbols: tuple[str, ...]


class FrontendKind(ABC):
    """One front-end kind for one voice (its language, symbol table and G2P)."""

    #: The kind's name in voice.json (``frontend.kind``).
    name: ClassVar[str]
    #: Language of a voice that names none.
    default_language: ClassVar[str]
    #: Symbols may be longer than one character (pinyin finals "ong1").
    multi_char_symbols: ClassVar[bool] = False
    #: What replaces a stretch of dropped text (nothing in Chinese, which has no spaces).
    drop_gap: ClassVar[str] = " "
    #: A lone Greek letter in Latin text is read ("beta"), not dropped.
    reads_lone_greek: ClassVar[bool] = False
    #: Lexicon entries (IPA or respellings) apply to this kind.
    uses_lexicon: ClassVar[bool] = False

    def __init__(self, language: str, symbols: tuple[str, ...], g2p: str | G2P | None,
                 options: dict[str, Any]) -> None:
        self.language = language
        self.symbols = symbols

    @classmethod
    def check_language(cls, language: str) -> None:
        """Raise ValueError when this kind cannot speak ``language``."""

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of the tokens this kind emits; index = language id."""
        return (self.language,)

    @property
    def g2p(self) -> G2P | None:
        """The G2P this kind runs (None: none)."""
        return None

    @property
    def g2p_name(self) -> str | None:
        return None

    @abstractmethod
    def scripts(self) -> frozenset[str] | None:
        """The scripts this kind speaks (besides Common), None where unknown."""

    @abstractmethod
    def normalize(self, text: str) -> str:
        """``text`` normalized (numbers, dates ... as words) before sentence splitting."""

    def split_language(self, text: str) -> str:
        """The language whose sentence rules split ``text`` (normalized)."""
        return self.language

    def piece_language(self, text: str) -> str:
        """The language of one normalized piece (:attr:`Segment.language`)."""
        return self.language

    @abstractmethod
    def tokens(self, text: str) -> list[TokenRun]:
        """The symbols of one normalized piece, run by run."""

    def config(self) -> dict[str, Any]:
        """This kind's own voice.json ``frontend`` keys (besides kind, language, symbols)."""
        return {}

    def warmup(self) -> None:
        """Load the lazy parts now (G2P, dictionaries)."""
