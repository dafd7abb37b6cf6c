"""The text frontend: text -> normalized sentences -> token ids.

:class:`Frontend` does what every kind shares (invalid text and unspeakable scripts dropped,
sentence splitting, symbol ids, pauses, word spans); what differs between kinds (how text
is normalized and read into symbols) is a :class:`~ttsengine.frontend.kind.FrontendKind`,
one module per kind.
"""

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
from .g2p import G2P
from .kind import FrontendKind, TokenRun
from .kinds import kind_class
from .normalize import clean_text
from .split import DEFAULT_MAX_CHARS, split_text
from .lexicon import Lexicon
from .words import align_spans, spoken_words, token_ranges
from .symbols import (
    COMMON, INHERITED, PAD, SPACE, UNKNOWN, canonical_punctuation, char_script, is_speakable,
)

__all__ = ["Segment", "WordSpan", "Frontend", "SENTENCE_PAUSE_S", "CLAUSE_PAUSE_S", "INVALID_SURROGATE",
           "INVALID_CODE_POINT"]

logger = logging.getLogger("ttsengine")

SENTENCE_PAUSE_S = 0.25
"""Silence after a segment that ends a sentence."""
CLAUSE_PAUSE_S = 0.1
"""Silence after a segment cut inside a sentence (at a comma or a space)."""

_CONFIG_KEYS = frozenset({"kind", "language", "g2p", "g2p_language", "symbols", "max_segment_chars",
                          "normalize", "onset_symbol"})

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
    the request's speed (SSML ``prosody rate``), ``language`` the piece's language,
    ``languages`` the language of each token (parallel to ``ids``: Mandarin and English
    tokens of a ``mixed`` voice; :meth:`Frontend.language_ids` numbers them).
    """

    text: str
    ids: list[int]
    pause_after: float
    words: tuple[WordSpan, ...] = ()
    speed: float = 1.0
    language: str = ""
    languages: tuple[str, ...] = ()


def _validate_symbols(kind: type[FrontendKind], symbols: Any) -> tuple[str, ...]:
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Iterable):
        raise ValueError("frontend 'symbols' must be a list of strings")
    table = tuple(symbols)
    if len(table) < 2:
        raise ValueError("frontend 'symbols' must hold the pad '_' and at least one symbol")
    for s in table:
        if not isinstance(s, str) or not s:
            raise ValueError(f"frontend symbol {s!r} is not a non-empty string")
        if not kind.multi_char_symbols and len(s) != 1:
            raise ValueError(f"frontend kind {kind.name!r} uses one character per symbol, got {s!r}")
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
                 g2p: str | G2P | None = None, max_segment_chars: int = DEFAULT_MAX_CHARS,
                 normalize: bool = True, onset_symbol: str | None = None,
                 g2p_language: str | None = None) -> None:
        kind_cls = kind_class(kind)
        if language is None:
            language = kind_cls.default_language
        if not isinstance(language, str) or not language:
            raise ValueError(f"frontend 'language' must be a non-empty string, got {language!r}")
        kind_cls.check_language(language)
        if g2p_language is not None and kind_cls.name != "mixed":
            raise ValueError(f"frontend 'g2p_language' is for kind 'mixed' only, not {kind!r}")
        if isinstance(max_segment_chars, bool) or not isinstance(max_segment_chars, int) \
                or max_segment_chars < 1:
            raise ValueError(f"'max_segment_chars' must be a positive int, got {max_segment_chars!r}")
        if not isinstance(normalize, bool):
            raise ValueError(f"'normalize' must be true or false, got {normalize!r}")
        self._kind = kind_cls.name
        self._language = language
        self._symbols = _validate_symbols(kind_cls, symbols)
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
        self._reader: FrontendKind = kind_cls(language, self._symbols, g2p,
                                              {"g2p_language": g2p_language})
        self._scripts = self._reader.scripts()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Frontend:
        """Build from a voice.json ``"frontend"`` section.

        Keys: ``kind`` (phonemes | pinyin | chars | mixed), ``symbols`` (required), ``language``,
        ``g2p`` (phonemes: default "espeak"; mixed: the G2P of English runs, default "misaki"),
        ``g2p_language`` (mixed only: that G2P's language, default "en-us"), ``max_segment_chars`` (200),
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
        kind_class(kind)  # unknown kind: ValueError
        g2p = cfg.get("g2p") or None
        if g2p is not None and not isinstance(g2p, str):
            raise ValueError(f"frontend 'g2p' must be a string, got {g2p!r}")
        return cls(kind, cfg["symbols"], cfg.get("language"), g2p=g2p,
                   max_segment_chars=cfg.get("max_segment_chars", DEFAULT_MAX_CHARS),
                   normalize=cfg.get("normalize", True), onset_symbol=cfg.get("onset_symbol"),
                   g2p_language=cfg.get("g2p_language"))

    def to_config(self) -> dict[str, Any]:
        """The voice.json ``"frontend"`` section describing this frontend."""
        cfg: dict[str, Any] = {"kind": self._kind, "language": self._language}
        cfg.update(self._reader.config())
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
    def languages(self) -> tuple[str, ...]:
        """The languages of this frontend's tokens; a token's language id is the index of
        its language here (one language but for a ``mixed`` voice: ``("zh", "en-us")``)."""
        return self._reader.languages

    def language_ids(self, segment: Segment) -> list[int]:
        """The language id of each token of ``segment`` (index into :attr:`languages`)."""
        index = {language: i for i, language in enumerate(self.languages)}
        return [index.get(language, 0) for language in segment.languages]

    def model_ids(self, segment: Segment) -> list[int]:
        """The acoustic model's input for ``segment``: its token ids, each carrying its
        language (:meth:`model_id`) where this frontend has several languages."""
        if len(self.languages) < 2 or not segment.languages:
            return list(segment.ids)
        return [self.model_id(i, lang) for i, lang in zip(segment.ids, self.language_ids(segment))]

    def model_id(self, symbol_id: int, language_id: int) -> int:
        """The one rule of a voice with several languages: a model input id is
        ``symbol id + len(symbols) x language id`` (the model decodes it with ``n_symbols``,
        which a voice with several languages keeps equal to ``len(symbols)``); plain ids otherwise."""
        return symbol_id + len(self.symbols) * language_id if len(self.languages) > 1 else symbol_id

    def split_model_id(self, model_id: int) -> tuple[str, str]:
        """The symbol and language of a model input id (inverse of :meth:`model_id`)."""
        n = len(self.symbols)
        return self.symbols[model_id % n], self.languages[model_id // n if len(self.languages) > 1 else 0]

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
        self._reader.warmup()

    def normalize_text(self, text: str) -> str:
        """The normalized text (before sentence splitting)."""
        if not self._normalize:
            return clean_text(text)
        return self._reader.normalize(text)

    @property
    def g2p_name(self) -> str | None:
        """The G2P's name ("misaki", "espeak" ...), None for a voice without one."""
        return self._reader.g2p_name

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
        pieces = split_text(normalized, self._max_chars, self._reader.split_language(normalized))
        out: list[Segment] = []
        piece_words: list[list[tuple[str, int, int]]] = []
        for piece in pieces:
            ids, languages = self._encode_with(piece.text, lexicons)
            if self._onset_ids:
                ids = self._onset_ids + ids
                languages = languages[:1] + languages if languages else [self._language]
            pause = SENTENCE_PAUSE_S if piece.sentence_end else CLAUSE_PAUSE_S
            if not any(i in self._speakable for i in ids):
                if out and pause > out[-1].pause_after:  # keep the dropped piece's pause
                    out[-1] = dataclasses.replace(out[-1], pause_after=pause)
                continue
            out.append(Segment(piece.text, ids, pause, language=self._reader.piece_language(piece.text),
                               languages=tuple(languages)))
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
        lone_greek = (self._reader.reads_lone_greek and allowed is not None and "Latin" in allowed
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
        gap = self._reader.drop_gap
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

    def _encode_with(self, text: str, lexicons: tuple[Lexicon, ...]) -> tuple[list[int], list[str]]:
        """Token ids of ``text`` and the language of each, with the phonemes of the
        lexicons' words (kinds that use a lexicon)."""
        if not lexicons or not self._reader.uses_lexicon:
            return self._encode_runs(self._reader.tokens(text))
        head, rest = lexicons[0], lexicons[1:]
        out: list[int] = []
        languages: list[str] = []
        space = self._ids.get(SPACE)
        for run, phonemes in head.split(text):
            if phonemes is None:
                ids, langs = self._encode_with(run, rest)
            else:
                ids = self.symbol_ids(phonemes)
                langs = [self._language] * len(ids)
            if out and ids and space is not None and out[-1] != space and ids[0] != space:
                out.append(space)
                languages.append(languages[-1])
            out += ids
            languages += langs
        return out, languages

    def _encode_runs(self, runs: list[TokenRun]) -> tuple[list[int], list[str]]:
        ids: list[int] = []
        languages: list[str] = []
        for run in runs:
            run_ids = self.symbol_ids(run.symbols)
            ids += run_ids
            languages += [run.language] * len(run_ids)
        return ids, languages

    def encode(self, text: str) -> list[int]:
        """Token ids of one (already normalized) piece of text; unknown symbols dropped."""
        return self._encode_runs(self._reader.tokens(text))[0]

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
