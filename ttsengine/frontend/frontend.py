"""The text frontend: text -> normalized sentences -> token ids."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from .g2p import G2P, get_g2p
from .normalize import clean_text, is_chinese, normalize_chinese, normalize_text
from .split import DEFAULT_MAX_CHARS, split_text
from .lexicon import Lexicon
from .words import align_spans, spoken_words, token_ranges
from .symbols import (
    COMMON, INHERITED, KINDS, PAD, SPACE, UNKNOWN, canonical_punctuation, char_script, is_speakable,
)

__all__ = ["Segment", "WordSpan", "Frontend", "SENTENCE_PAUSE_S", "CLAUSE_PAUSE_S", "INVALID_SURROGATE",
           "INVALID_CODE_POINT"]

logger = logging.getLogger("ttsengine")

SENTENCE_PAUSE_S = 0.25
"""Silence after a segment that ends a sentence."""
CLAUSE_PAUSE_S = 0.1
"""Silence after a segment cut inside a sentence (at a comma or a space)."""

_DEFAULT_LANGUAGE = {"phonemes": "en-us", "pinyin": "zh", "chars": "en"}
_CONFIG_KEYS = frozenset({"kind", "language", "g2p", "symbols", "max_segment_chars",
                          "normalize", "onset_symbol"})

# Scripts each language is written in (primary subtag of the language code). A phoneme
# frontend speaks its language's scripts; espeak-ng also reads Latin words in any language.
_LATIN_LANGUAGES = (
    "af an az bs ca cs cy da de en eo es et eu fi fil fo fr ga gd gl gn ha haw hr ht hu ia id "
    "io is it jbo la lb lfn lt lv mi ms mt nb nl nn no om pap pl pt py qu ro sk sl so sq sv "
    "sw tk tl tn tr uz vi xh yo zu")
_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"Latin"}) for code in _LATIN_LANGUAGES.split()},
    **{code: frozenset({"Cyrillic"})
       for code in "ba be bg ce cv kk ky mk mn os ru sah tt uk".split()},
    "sr": frozenset({"Cyrillic", "Latin"}),
    **{code: frozenset({"Arabic"}) for code in "ar fa ps sd ug ur".split()},
    **{code: frozenset({"Devanagari"}) for code in "hi kok mai mr ne sa".split()},
    **{code: frozenset({"Bengali"}) for code in "as bn".split()},
    **{code: frozenset({"Han"}) for code in "cmn hak yue zh".split()},
    "am": frozenset({"Ethiopic"}), "bo": frozenset({"Tibetan"}), "el": frozenset({"Greek"}),
    "grc": frozenset({"Greek"}), "gu": frozenset({"Gujarati"}), "he": frozenset({"Hebrew"}),
    "hy": frozenset({"Armenian"}), "hyw": frozenset({"Armenian"}),
    "ja": frozenset({"Han", "Hiragana", "Katakana"}),
    "ka": frozenset({"Georgian"}), "km": frozenset({"Khmer"}), "kn": frozenset({"Kannada"}),
    "ko": frozenset({"Hangul", "Han"}), "lo": frozenset({"Lao"}), "ml": frozenset({"Malayalam"}),
    "my": frozenset({"Myanmar"}), "or": frozenset({"Oriya"}), "pa": frozenset({"Gurmukhi"}),
    "si": frozenset({"Sinhala"}), "ta": frozenset({"Tamil"}), "te": frozenset({"Telugu"}),
    "th": frozenset({"Thai"}), "ti": frozenset({"Ethiopic"}), "yi": frozenset({"Hebrew"}),
}
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_PAIR_RE = re.compile(r"[\ud800-\udbff][\udc00-\udfff]")
# Clause punctuation (and spaces) right after dropped text is dropped with it.
_CLAUSE_PUNCT = " ,;:，、；：\u3000"
#: Label counted for lone UTF-16 surrogates in :meth:`Frontend.segments` ``dropped``.
INVALID_SURROGATE = "lone UTF-16 surrogates"
#: Label counted for private-use and unassigned code points.
INVALID_CODE_POINT = "private-use or unassigned code points"


_RUN_RE = re.compile(r"(.)\1*", re.DOTALL)


def _script_of(ch: str) -> str:
    if ch < "\x80":
        return "Latin" if ch.isalpha() else COMMON
    return char_script(ch)


def _join_surrogate_pair(m: re.Match[str]) -> str:
    high, low = m.group()
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def _describe_dropped(dropped: Mapping[str, int]) -> str:
    parts = []
    for label, count in sorted(dropped.items(), key=lambda item: (-item[1], item[0])):
        parts.append(f"{label} ({count} character{'' if count == 1 else 's'})")
    return ", ".join(parts)


@dataclass(frozen=True)
class WordSpan:
    """A spoken word of a :class:`Segment`: its tokens ``ids[first:stop]`` and where it came
    from in the text given to :meth:`Frontend.segments` (``chars``: [start, stop) offsets;
    the words a number or abbreviation was read as share its span)."""

    text: str
    first: int
    stop: int
    chars: tuple[int, int]


@dataclass(frozen=True)
class Segment:
    """One piece of text to synthesize.

    ``text`` is the normalized text of the piece, ``ids`` its token ids in the voice's
    symbol table, ``pause_after`` the silence (seconds) to put after it, ``words`` its
    spoken words (token ranges and spans into the original text), ``speed`` a factor on
    the request's speed (SSML ``prosody rate``), ``language`` the piece's language.
    """

    text: str
    ids: list[int]
    pause_after: float
    words: tuple[WordSpan, ...] = ()
    speed: float = 1.0
    language: str = ""


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
                 normalize: bool = True, onset_symbol: str | None = None) -> None:
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
        if onset_symbol is not None and (not isinstance(onset_symbol, str) or onset_symbol not in self._ids):
            raise ValueError(f"frontend 'onset_symbol' must be a symbol of the table, got {onset_symbol!r}")
        self._onset_symbol = onset_symbol
        self._onset_ids = [] if onset_symbol is None else [self._ids[onset_symbol]]
        self._lexicon: Lexicon | None = None
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
        self._scripts = self._speakable_scripts()

    def _speakable_scripts(self) -> frozenset[str] | None:
        """The scripts this frontend can speak (besides Common), None where unknown."""
        if self._kind == "pinyin":
            return frozenset({"Han"})  # pypinyin reads Han; latin letters would be noise
        if self._kind == "chars":  # the scripts of the letters in the symbol table
            return frozenset(char_script(unicodedata.normalize("NFKD", s)[0])
                             for s in self._symbols if s.isalpha())
        declared = getattr(self._g2p, "scripts", None)
        if declared is not None:
            if (isinstance(declared, str) or not isinstance(declared, Iterable)
                    or not all(isinstance(x, str) for x in declared)):
                raise ValueError(f"G2P {self._g2p_name!r}: 'scripts' must be a collection of "
                                 f"script names, got {declared!r}")
            return frozenset(declared)
        if self._g2p_name == "misaki":
            return frozenset({"Latin"})
        primary = self._language.lower().replace("_", "-").split("-")[0]
        scripts = _LANGUAGE_SCRIPTS.get(primary)
        if scripts is not None and self._g2p_name == "espeak":
            scripts |= {"Latin"}  # espeak-ng switches to English for Latin words
        return scripts

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Frontend:
        """Build from a voice.json ``"frontend"`` section.

        Keys: ``kind`` (phonemes | pinyin | chars), ``symbols`` (required), ``language``,
        ``g2p`` (phonemes only, default "espeak"), ``max_segment_chars`` (200),
        ``normalize`` (true), ``onset_symbol`` (none: a symbol put before every segment's
        tokens, for voices trained with a pause before speech, see ``PrepareConfig.lead_in_s``).
        Raises ValueError on a bad or incomplete config.
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
                   normalize=cfg.get("normalize", True), onset_symbol=cfg.get("onset_symbol"))

    def to_config(self) -> dict[str, Any]:
        """The voice.json ``"frontend"`` section describing this frontend."""
        cfg: dict[str, Any] = {"kind": self._kind, "language": self._language}
        if self._kind == "phonemes":
            cfg["g2p"] = self._g2p_name
        cfg.update(symbols=list(self._symbols), max_segment_chars=self._max_chars,
                   normalize=self._normalize)
        if self._onset_symbol is not None:
            cfg["onset_symbol"] = self._onset_symbol
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

    @property
    def scripts(self) -> frozenset[str] | None:
        """The Unicode scripts (besides Common: punctuation, digits, symbols) this frontend
        speaks, e.g. ``{"Latin"}``; text in other scripts is dropped by :meth:`segments`.
        None when unknown (a G2P for a language without a known script): nothing dropped."""
        return self._scripts

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

    @property
    def g2p_name(self) -> str | None:
        """The G2P's name ("misaki", "espeak" ...), None for a voice without one."""
        return self._g2p_name

    @property
    def lexicon(self) -> Lexicon | None:
        """The pronunciation :class:`~ttsengine.frontend.lexicon.Lexicon` (None: none)."""
        return self._lexicon

    @lexicon.setter
    def lexicon(self, lexicon: Lexicon | None) -> None:
        self._lexicon = lexicon or None

    def segments(self, text: str, *, dropped: Counter[str] | None = None,
                 lexicon: Lexicon | None = None) -> list[Segment]:
        """Normalize, split and tokenize ``text``.

        Text the voice cannot speak is dropped, never spelled out or passed to the G2P
        (espeak would read "Chinese letter" for each Han character on an English voice):

        * runs of letters in a script outside :attr:`scripts` (Han, Cyrillic ... on an
          English voice; Latin on a pinyin voice), with the punctuation between them, each
          run replaced by a space. Punctuation, digits and symbols (Common) are kept, and
          so is a lone Greek letter on a Latin-script phoneme voice (read "beta", "pi");
        * invalid text, first of all (before normalization): lone UTF-16 surrogates
          (``json.loads('"\\ud800"')`` makes them; a surrogate pair spelled as two code
          points is joined into its character), private-use and unassigned code points.
          Invalid text is cleaned, not refused, as one broken emoji should not fail a
          paragraph.

        Words of :attr:`lexicon` (and of ``lexicon``, which takes precedence: SSML
        ``phoneme``) are respelled or given their phonemes.

        What was dropped is logged as ONE warning per call on the ``ttsengine`` logger,
        naming the scripts, or, when ``dropped`` is given, counted into it (label ->
        characters) for the caller to report with :meth:`warn_dropped` (one warning for a
        whole batch).

        Raises InvalidInputError (a ValueError) when ``text`` is not a str, is empty, or
        has nothing speakable left (the message names the dropped scripts).
        """
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise InvalidInputError("text is empty")
        counts: Counter[str] = Counter()
        original = text
        text = self._drop_invalid(text, counts)
        normalized = self._drop_scripts(self.normalize_text(text), counts)
        lexicons = tuple(lex for lex in (lexicon, self._lexicon) if lex)
        for lex in lexicons:
            normalized = lex.respell(normalized)
        pieces = split_text(normalized, self._max_chars, self._language)
        out: list[Segment] = []
        piece_words: list[list[tuple[str, int, int]]] = []
        for piece in pieces:
            ids = self._onset_ids + self._encode_with(piece.text, lexicons)
            pause = SENTENCE_PAUSE_S if piece.sentence_end else CLAUSE_PAUSE_S
            if not any(i in self._speakable for i in ids):
                if out and pause > out[-1].pause_after:  # keep the dropped piece's pause
                    out[-1] = dataclasses.replace(out[-1], pause_after=pause)
                continue
            out.append(Segment(piece.text, ids, pause, language=self._language))
            piece_words.append(spoken_words(piece.text))
        out = self._with_words(out, piece_words, original)
        if not out:
            detail = f": dropped {self._describe(counts)}" if counts else ""
            raise InvalidInputError(
                f"text contains no speakable symbols for voice frontend "
                f"'{self._kind}/{self._language}'{detail}")
        out[-1] = dataclasses.replace(out[-1], pause_after=0.0)
        if dropped is None:
            self.warn_dropped(counts)
        else:
            dropped.update(counts)
        return out

    def _with_words(self, segments: list[Segment], words: list[list[tuple[str, int, int]]],
                    original: str) -> list[Segment]:
        """``segments`` with their :class:`WordSpan` s (tokens and spans into ``original``)."""
        spans = iter(align_spans(original, [w for piece in words for w, _, _ in piece]))
        out = []
        for segment, piece in zip(segments, words):
            ranges = token_ranges(segment.ids, [w for w, _, _ in piece], self._speakable)
            spoken = tuple(WordSpan(w, first, stop, next(spans))
                           for (w, _, _), (first, stop) in zip(piece, ranges))
            out.append(dataclasses.replace(segment, words=spoken))
        return out

    def warn_dropped(self, dropped: Mapping[str, int]) -> None:
        """Logs one warning listing what :meth:`segments` dropped (nothing if empty)."""
        if dropped:
            logger.warning("frontend %s/%s: dropped characters the voice cannot speak: %s",
                           self._kind, self._language, self._describe(dropped))

    def _describe(self, dropped: Mapping[str, int]) -> str:
        text = _describe_dropped(dropped)
        if self._scripts is not None and set(dropped) - {INVALID_SURROGATE, INVALID_CODE_POINT}:
            speaks = ", ".join(sorted(self._scripts)) or "no"
            text += f" (this voice speaks {speaks} script{'s' if len(self._scripts) > 1 else ''})"
        return text

    @staticmethod
    def _drop_invalid(text: str, counts: Counter[str]) -> str:
        """``text`` without invalid code points: lone surrogates (invalid UTF-16 that no
        encoder accepts; a pair spelled as two code points is joined into its character),
        private-use and unassigned ones (which no voice can speak)."""
        if text.isascii():
            return text
        if _SURROGATE_RE.search(text) is not None:
            text = _SURROGATE_PAIR_RE.sub(_join_surrogate_pair, text)
            text, n = _SURROGATE_RE.subn("", text)
            if n:
                counts[INVALID_SURROGATE] += n
        bad = {ch for ch in set(text) if ch >= "\x80" and unicodedata.category(ch) in ("Co", "Cn")}
        if bad:
            kept = [ch for ch in text if ch not in bad]
            counts[INVALID_CODE_POINT] += len(text) - len(kept)
            text = "".join(kept)
        return text

    def _drop_scripts(self, text: str, counts: Counter[str]) -> str:
        """``text`` without the letters this frontend cannot speak (see :meth:`segments`)."""
        allowed = self._scripts
        if text.isascii() and (allowed is None or "Latin" in allowed):
            return text  # fast path: ASCII is Latin letters and Common characters
        lone_greek = (self._kind == "phonemes" and allowed is not None and "Latin" in allowed
                      and "Greek" not in allowed)
        # 1. runs of characters of one script (combining marks join the run before them),
        # found in C: each character is translated to a one-character label of its script
        script_of = {ch: _script_of(ch) for ch in set(text)}
        names = dict(enumerate(sorted(set(script_of.values()))))
        label = {script: chr(0xE000 + i) for i, script in names.items()}
        labels = text.translate({ord(ch): label[script] for ch, script in script_of.items()})
        runs: list[list] = []  # [script, start, stop, drop]
        for m in _RUN_RE.finditer(labels):
            script = names[ord(m.group(1)) - 0xE000]
            if script == INHERITED:
                script = runs[-1][0] if runs else COMMON
            if runs and runs[-1][0] == script:
                runs[-1][2] = m.end()
            else:
                runs.append([script, m.start(), m.end(), False])
        for run in runs:
            script = run[0]
            if script == COMMON:
                continue
            if script == UNKNOWN:
                run[3] = True
            elif allowed is not None and script not in allowed:
                run[3] = not (lone_greek and script == "Greek"
                              and sum(1 for c in text[run[1]:run[2]] if c.isalpha()) == 1)
        if not any(run[3] for run in runs):
            return text
        # 2. punctuation and spaces between two dropped runs belong to the dropped text
        for k in range(1, len(runs) - 1):
            run = runs[k]
            if (run[0] == COMMON and runs[k - 1][3] and runs[k + 1][3]
                    and not any(c.isalnum() for c in text[run[1]:run[2]])):
                run[3] = True
        # 3. each dropped stretch becomes one space (nothing in Chinese, which has none),
        # and the clause punctuation right after it goes with it
        gap = "" if self._kind == "pinyin" else " "
        out: list[str] = []
        after_drop = False
        for drop, group in itertools.groupby(runs, key=lambda run: run[3]):
            if not drop:
                kept = "".join(text[run[1]:run[2]] for run in group)
                out.append(kept.lstrip(_CLAUSE_PUNCT) if after_drop else kept)
                after_drop = False
                continue
            out.append(gap)
            after_drop = True
            for script, first, stop, _ in group:
                if script == UNKNOWN:
                    counts[INVALID_CODE_POINT] += stop - first
                elif script != COMMON:
                    counts[script] += sum(1 for c in text[first:stop] if not unicodedata.combining(c))
        return "".join(out)

    def _encode_with(self, text: str, lexicons: tuple[Lexicon, ...]) -> list[int]:
        """:meth:`encode` with the phonemes of the lexicons' words (phoneme voices)."""
        if not lexicons or self._kind != "phonemes":
            return self.encode(text)
        head, rest = lexicons[0], lexicons[1:]
        out: list[int] = []
        space = self._ids.get(SPACE)
        for run, phonemes in head.split(text):
            ids = self._encode_with(run, rest) if phonemes is None else self.symbol_ids(phonemes)
            if out and ids and space is not None and out[-1] != space and ids[0] != space:
                out.append(space)
            out += ids
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
