"""Sentence splitting with a maximum piece length.

English: ``. ! ?`` (and ellipses) followed by whitespace end a sentence, except: after a
title (Mr., Dr. ...) or an initial (J. K.); after a dotted acronym, a trailing
abbreviation (U.S., etc., Inc.) or an ellipsis unless the next word is capitalized; and
whenever the next word starts with a lowercase letter. Decimals ("3.50") never split because the period is not followed by a
space; a terminator glued to a capitalized word ("end.Next") does split.
Chinese (and Mandarin mixed with English): ``。！？；…`` (and ASCII ``!?;``) end a sentence
wherever they are, a period where a space, the end or a Han character follows.

Sentences longer than ``max_chars`` (characters: a Han character counts one) are cut at
clause punctuation (``, ; : — ，、；：``),
else at spaces, else (a single word longer than the limit) hard at the limit. Only
whitespace is ever dropped; everything runs in time linear in the text length.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .language import is_chinese

__all__ = ["Piece", "split_sentences", "split_text", "DEFAULT_MAX_CHARS"]

DEFAULT_MAX_CHARS = 200

_SPACE_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"\S+")
_CLOSERS = "\"')]}»”’」』）》"
_OPENERS = "\"'([{«“‘「『（《"
# period after these never ends a sentence (the next word belongs to them)
_NEVER_END = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "capt", "gen", "lt", "col", "sgt", "gov", "sen",
    "rep", "rev", "hon", "mt", "ft", "messrs", "vs", "e.g", "i.e", "fig", "vol", "pp",
    "approx", "cf",
})
# period after these ends a sentence only if the next word is capitalized
_MAYBE_END = frozenset({
    "etc", "inc", "ltd", "co", "corp", "jr", "sr", "st", "ave", "blvd", "rd", "dept",
    "esq", "bros", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec",
})
_ABBREVIATIONS = _NEVER_END | _MAYBE_END
# "end.Next": a terminator glued to the next sentence (missing space)
_GLUED_RE = re.compile(r"(?<=[a-z]{2})[.!?]+(?=[A-Z][a-z])")
_TRAILING_WORD_RE = re.compile(r"[A-Za-z]+$")
_ZH_BOUNDARY_RE = re.compile(r"[。！？；!?;…]+[" + re.escape(_CLOSERS) + r"]*|\.(?=\s|$|[\u3400-\u9fff])")
_CLAUSE_RE = re.compile(r"[,;:—](?=\s|$)|[，、；：—]")


@dataclass(frozen=True)
class Piece:
    """A piece of text to synthesize; ``sentence_end`` is False when the piece was cut
    inside a sentence to respect the length limit."""

    text: str
    sentence_end: bool


def _is_english_boundary(core: str, next_token: str | None) -> bool:
    """Decide whether a token ending in ``. ! ?`` (closers stripped: ``core``) ends a
    sentence, given the following token."""
    if next_token is None:
        return True
    nxt = next_token.lstrip(_OPENERS)
    first = nxt[:1]
    if first.islower():
        return False
    if not core.endswith(".") or core.endswith(".."):
        return True
    word = core[:-1].lstrip(_OPENERS)
    low = word.lower()
    if low in _NEVER_END:
        return False
    if low == "no":
        return not first.isdigit()  # "No. 5"
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. K. Rowling"
    if low in _MAYBE_END or "." in word:
        return first.isupper()
    return True


def _unglue(m: re.Match[str]) -> str:
    if m.group() == ".":
        word = _TRAILING_WORD_RE.search(m.string, max(0, m.start() - 12), m.start())
        if word is not None and word.group().lower() in _ABBREVIATIONS:
            return m.group()
    return m.group() + " "


def _english_sentences(text: str) -> list[str]:
    text = _GLUED_RE.sub(_unglue, text)
    out: list[str] = []
    tokens = list(_TOKEN_RE.finditer(text))
    start = 0
    for i, m in enumerate(tokens):
        core = m.group().rstrip(_CLOSERS)
        if not core or core[-1] not in ".!?":
            continue
        nxt = tokens[i + 1].group() if i + 1 < len(tokens) else None
        if _is_english_boundary(core, nxt):
            out.append(text[start:m.end()].strip())
            start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def _chinese_sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _ZH_BOUNDARY_RE.finditer(text):
        piece = text[start:m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split ``text`` into sentences (whitespace collapsed, nothing else dropped)."""
    text = _SPACE_RE.sub(" ", text).strip()
    if not text:
        return []
    if is_chinese(language):
        return _chinese_sentences(text)
    return _english_sentences(text)


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one sentence into pieces of at most ``max_chars`` characters."""
    if len(sentence) <= max_chars:
        return [sentence]
    breaks = [m.end() for m in _CLAUSE_RE.finditer(sentence)]
    pieces: list[str] = []
    start, n = 0, len(sentence)
    while n - start > max_chars:
        limit = start + max_chars
        end = None
        k = bisect.bisect_right(breaks, limit) - 1
        if k >= 0 and breaks[k] > start:
            end = next_start = breaks[k]
        else:
            space = sentence.rfind(" ", start + 1, limit + 1)
            if space > start:
                end, next_start = space, space + 1
            else:
                end = next_start = limit  # one word longer than the limit
        piece = sentence[start:end].strip()
        if piece:
            pieces.append(piece)
        start = next_start
        while start < n and sentence[start] == " ":
            start += 1
    tail = sentence[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def split_text(text: str, max_chars: int = DEFAULT_MAX_CHARS,
               language: str | None = None) -> list[Piece]:
    """Split ``text`` into sentences, then cut sentences longer than ``max_chars``.

    Every returned piece has at most ``max_chars`` characters and only whitespace is
    dropped: joining the pieces with spaces gives ``text`` with its whitespace collapsed
    (except where a single word longer than ``max_chars`` had to be cut).
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    pieces: list[Piece] = []
    for sentence in split_sentences(text, language):
        parts = _split_long(sentence, max_chars)
        for j, part in enumerate(parts):
            pieces.append(Piece(part, j == len(parts) - 1))
    return pieces
