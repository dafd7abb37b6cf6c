"""Text frontend: normalization, sentence splitting, G2P and symbol tables.

Importing this package is light: phonemizer / espeak-ng and pypinyin are loaded only
when a frontend first needs them. Kinds: ``phonemes`` (a G2P), ``pinyin`` (Mandarin),
``chars`` (letters), ``mixed`` (Mandarin with English in it); the language of a code, a
text and each run of a mixed text is decided in :mod:`.language` alone.
"""

from __future__ import annotations

from .frontend import CLAUSE_PAUSE_S, SENTENCE_PAUSE_S, Frontend, Segment, WordSpan
from .kind import FrontendKind, TokenRun
from .language import is_chinese, is_english, language_runs, text_language
from .lexicon import Lexicon
from .g2p import G2P, available_g2p, get_g2p, register_g2p
from .normalize import normalize_chinese, normalize_english, normalize_text
from .split import Piece, split_sentences, split_text
from .symbols import default_symbols

__all__ = [
    "Segment",
    "WordSpan",
    "Lexicon",
    "Frontend",
    "FrontendKind",
    "TokenRun",
    "is_chinese",
    "is_english",
    "language_runs",
    "text_language",
    "SENTENCE_PAUSE_S",
    "CLAUSE_PAUSE_S",
    "default_symbols",
    "G2P",
    "get_g2p",
    "register_g2p",
    "available_g2p",
    "normalize_text",
    "normalize_english",
    "normalize_chinese",
    "Piece",
    "split_sentences",
    "split_text",
]
