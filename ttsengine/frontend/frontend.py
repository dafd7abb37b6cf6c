"""The text frontend: text -> normalized sentences -> token ids."""

from __future__ import annotations

import dataclasses
import logging
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from .g2p import G2P, get_g2p
from .normalize import clean_text, is_chinese, normalize_chinese, normalize_text
from .split import DEFAULT_MAX_CHARS, split_text
from .symbols import KINDS, PAD, SPACE, canonical_punctuation, is_speakable

__all__ = ["Segment", "Frontend", "SENTENCE_PAUSE_S", "CLAUSE_PAUSE_S"]

logger = logging.getLogger("ttsengine")

SENTENCE_PAUSE_S = 0.25
"""Silence after a segment that ends a sentence."""
CLAUSE_PAUSE_S = 0.1
"""Silence after a segment cut inside a sentence (at a comma or a space)."""

_DEFAULT_LANGUAGE = {"phonemes": "en-us", "pinyin": "zh", "chars": "en"}
_CONFIG_KEYS = frozenset({"kind", "language", "g2p", "symbols", "max_segment_chars",
                          "normalize"})


@dataclass(frozen=True)
class Segment:
    """One piece of text to synthesize.

    ``text`` is the normalized text of the piece, ``ids`` its token ids in the voice's
    symbol table, ``pause_after`` the silence (seconds) to put after it.
    """

    text: str
    ids: list[int]
    pause_after: float


def _validate_symbols(kind: str, symbols: Any) -> tuple[str, ...]:
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Iterable):
        raise ValueError("frontend 'symbols' must be a list of strings")
    table = tuple(symbols)
    if len(table) < 2:
        raise ValueError("frontend 'symbols' must hold the pad '_' and at least one symbol")
    for s in table:
        if not isinstance(s, str) or not s:
            raise ValueError(f"frontend symbol {s!r} is not a non-empty string")
        if kind != "pinyin" and len(s) != 1:
            raise ValueError(f"frontend kind {kind!r} uses one character per symbol, got {s!r}")
    if table[0] != PAD:
        raise ValueError(f"frontend symbol 0 must be the pad {PAD!r}, got {table[0]!r}")
    if len(set(table)) != len(table):
        dup = sorted({s for s in table if table.count(s) > 1})
        raise ValueError(f"frontend 'symbols' has duplicates: {dup}")
    if not any(is_speakable(s) for s in table):
        raise ValueError("frontend 'symbols' has no speakable symbol")
    return table


class Frontend:
    """Text -> list of :class:`Segment` for one voice (kind, language, symbol table).

    Thread-safe: a Frontend may be shared by threads (espeak calls are serialized).
    """

    def __init__(self, kind: str, symbols: Iterable[str], language: str | None = None, *,
                 g2p: str | G2P = "espeak", max_segment_chars: int = DEFAULT_MAX_CHARS,
                 normalize: bool = True) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown frontend kind {kind!r}; expected one of {', '.join(KINDS)}")
        if language is None:
            language = _DEFAULT_LANGUAGE[kind]
        if not isinstance(language, str) or not language:
            raise ValueError(f"frontend 'language' must be a non-empty string, got {language!r}")
        if kind == "pinyin" and not is_chinese(language):
            raise ValueError(f"frontend kind 'pinyin' needs a Chinese language, got {language!r}")
        if isinstance(max_segment_chars, bool) or not isinstance(max_segment_chars, int) \
                or max_segment_chars < 1:
            raise ValueError(f"'max_segment_chars' must be a positive int, got {max_segment_chars!r}")
        if not isinstance(normalize, bool):
            raise ValueError(f"'normalize' must be true or false, got {normalize!r}")
        self._kind = kind
        self._language = language
        self._symbols = _validate_symbols(kind, symbols)
        self._max_chars = max_segment_chars
        self._normalize = normalize
        self._ids = {s: i for i, s in enumerate(self._symbols) if i != 0}
        self._speakable = frozenset(i for i, s in enumerate(self._symbols)
                                    if i != 0 and is_speakable(s))
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()
        self._g2p: G2P | None = None
        self._g2p_name: str | None = None
        if kind == "phonemes":
            if isinstance(g2p, str):
                self._g2p_name = g2p
                self._g2p = get_g2p(g2p, language)
            else:
                self._g2p = g2p
                self._g2p_name = getattr(g2p, "name", type(g2p).__name__)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Frontend:
        """Build from a voice.json ``"frontend"`` section.

        Keys: ``kind`` (phonemes | pinyin | chars), ``symbols`` (required), ``language``,
        ``g2p`` (phonemes only, default "espeak"), ``max_segment_chars`` (200),
        ``normalize`` (true). Raises ValueError on a bad or incomplete config.
        """
        if not isinstance(cfg, Mapping):
            raise ValueError(f"frontend config must be a mapping, got {type(cfg).__name__}")
        unknown = sorted(set(cfg) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown frontend config keys: {unknown}")
        if "kind" not in cfg:
            raise ValueError("frontend config has no 'kind'")
        if "symbols" not in cfg:
            raise ValueError("frontend config has no 'symbols'")
        kind = cfg["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown frontend kind {kind!r}; expected one of {', '.join(KINDS)}")
        g2p = cfg.get("g2p") or "espeak"
        if not isinstance(g2p, str):
            raise ValueError(f"frontend 'g2p' must be a string, got {g2p!r}")
        return cls(kind, cfg["symbols"], cfg.get("language"), g2p=g2p,
                   max_segment_chars=cfg.get("max_segment_chars", DEFAULT_MAX_CHARS),
                   normalize=cfg.get("normalize", True))

    def to_config(self) -> dict[str, Any]:
        """The voice.json ``"frontend"`` section describing this frontend."""
        cfg: dict[str, Any] = {"kind": self._kind, "language": self._language}
        if self._kind == "phonemes":
            cfg["g2p"] = self._g2p_name
        cfg.update(symbols=list(self._symbols), max_segment_chars=self._max_chars,
                   normalize=self._normalize)
        return cfg

    # ------------------------------------------------------------------ properties

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbol table: index = token id, index 0 is the pad ``"_"``."""
        return self._symbols

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def language(self) -> str:
        return self._language

    @property
    def max_segment_chars(self) -> int:
        return self._max_chars

    def __repr__(self) -> str:
        return (f"Frontend(kind={self._kind!r}, language={self._language!r}, "
                f"n_symbols={len(self._symbols)}, max_segment_chars={self._max_chars})")

    # ------------------------------------------------------------------ pipeline

    def warmup(self) -> None:
        """Load the lazy parts now (espeak backend, pypinyin dictionaries)."""
        if self._kind == "phonemes" and self._g2p is not None:
            self._g2p.phonemize("warm up")
        elif self._kind == "pinyin":
            from .pinyin import text_to_pinyin_tokens
            text_to_pinyin_tokens("你好")

    def normalize_text(self, text: str) -> str:
        """The normalized text (before sentence splitting)."""
        if not self._normalize:
            return clean_text(text)
        if self._kind == "pinyin":
            return normalize_chinese(text)
        return normalize_text(text, self._language)

    def segments(self, text: str) -> list[Segment]:
        """Normalize, split and tokenize ``text``.

        Raises InvalidInputError for empty text or text without any speakable symbol.
        """
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise InvalidInputError("text is empty")
        pieces = split_text(self.normalize_text(text), self._max_chars, self._language)
        out: list[Segment] = []
        for piece in pieces:
            ids = self.encode(piece.text)
            pause = SENTENCE_PAUSE_S if piece.sentence_end else CLAUSE_PAUSE_S
            if not any(i in self._speakable for i in ids):
                if out and pause > out[-1].pause_after:  # keep the dropped piece's pause
                    out[-1] = dataclasses.replace(out[-1], pause_after=pause)
                continue
            out.append(Segment(piece.text, ids, pause))
        if not out:
            raise InvalidInputError(
                f"text contains no speakable symbols for voice frontend "
                f"'{self._kind}/{self._language}'")
        out[-1] = dataclasses.replace(out[-1], pause_after=0.0)
        return out

    def encode(self, text: str) -> list[int]:
        """Token ids of one (already normalized) piece of text; unknown symbols dropped."""
        if self._kind == "phonemes":
            if not any(ch.isalnum() for ch in text):
                return self.symbol_ids(text)  # punctuation only: spare the espeak call
            assert self._g2p is not None
            return self.symbol_ids(self._g2p.phonemize(text))
        if self._kind == "chars":
            text = unicodedata.normalize("NFKD", text.lower())
            return self.symbol_ids(ch for ch in text if not unicodedata.combining(ch))
        from .pinyin import text_to_pinyin_tokens
        return self.symbol_ids(text_to_pinyin_tokens(text))

    def symbol_ids(self, symbols: Iterable[str]) -> list[int]:
        """Token ids of already-converted symbols (e.g. phonemes); unknown symbols dropped."""
        ids = self._ids
        out: list[int] = []
        for sym in symbols:
            i = ids.get(sym)
            if i is None:
                if sym.isspace():
                    i = ids.get(SPACE)
                else:
                    canon = canonical_punctuation(sym)
                    i = ids.get(canon) if canon is not None else None
                if i is None:
                    self._warn_unknown(sym)
                    continue
            out.append(i)
        return out

    def _warn_unknown(self, sym: str) -> None:
        if sym in self._warned:
            return
        with self._warn_lock:
            if sym in self._warned:
                return
            self._warned.add(sym)
        if sym.isspace():
            return
        logger.warning("frontend %s/%s: dropping symbol %r (U+%04X) that is not in the "
                       "voice's symbol table", self._kind, self._language, sym, ord(sym[0]))
