"""Words of a segment: which tokens speak each word, and where the word is in the input text.

The G2P runs on a whole piece of text (context matters for pronunciation), so words are
found afterwards: a phoneme voice's tokens are space-separated groups, one per word; when
the groups and the words do not pair up one to one (a G2P that merges or splits words,
Chinese without spaces) the sounding tokens are shared out in proportion to the words'
letters. Spans into the original text come from a forward search for each normalized word
(case-insensitive); a word the normalizer made up ("3" -> "three") gets the stretch of
original text between its neighbours' spans.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

__all__ = ["spoken_words", "token_ranges", "align_spans"]

# a word: what spaces separate, without the punctuation around it ("well-known" is one
# word, as misaki reads it); it must hold a letter or digit
_WORD_RE = re.compile(r"[^\W_](?:\S*[^\W_])?")
_HAN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# inside a token with Han in it: each Han character, and each run of other letters / digits
# ("我用iPhone打电话" -> 我, 用, iPhone, 打, 电, 话); punctuation is no word
_HAN_TOKEN_WORD_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|(?:(?![\u3400-\u9fff\uf900-\ufaff])[^\W_])+")
#: How far ahead (characters) the original text is searched for a normalized word.
_SEARCH_WINDOW = 80
_EDGE_PUNCT = frozenset(".,;:!?\"'()[]{}…“”‘’«»")


def spoken_words(text: str) -> list[tuple[str, int, int]]:
    """The words of a normalized piece as (word, start, stop); each Han character is a word
    (and a run of other letters between Han characters, "iPhone" in 我用iPhone打电话)."""
    out: list[tuple[str, int, int]] = []
    for m in _WORD_RE.finditer(text):
        word = m.group()
        if _HAN_RE.search(word):
            start = m.start()
            for w in _HAN_TOKEN_WORD_RE.finditer(word):
                out.append((w.group(), start + w.start(), start + w.end()))
        else:
            out.append((word, m.start(), m.end()))
    return out


def _groups(ids: Sequence[int], sounding: frozenset[int]) -> list[tuple[int, int]]:
    """[first, stop) of each run of sounding tokens (spaces and punctuation end a run)."""
    groups: list[tuple[int, int]] = []
    first = -1
    for i, token in enumerate(ids):
        if token in sounding:
            if first < 0:
                first = i
        elif first >= 0:
            groups.append((first, i))
            first = -1
    if first >= 0:
        groups.append((first, len(ids)))
    return groups


def token_ranges(ids: Sequence[int], words: Sequence[str], sounding: frozenset[int]) -> list[tuple[int, int]]:
    """[first, stop) token range of each word: the runs of sounding tokens one to one when
    their numbers agree, else the sounding tokens in proportion to the words' lengths."""
    if not words:
        return []
    groups = _groups(ids, sounding)
    if len(groups) == len(words):
        return groups
    positions = [i for i, token in enumerate(ids) if token in sounding]
    if not positions:
        return [(len(ids), len(ids))] * len(words)
    weights = [max(1, len(w)) for w in words]
    total, n = sum(weights), len(positions)
    out, cumulative = [], 0
    for weight in weights:
        a = round(cumulative * n / total)
        cumulative += weight
        b = max(round(cumulative * n / total), a)
        if a < n:
            out.append((positions[a], positions[b - 1] + 1) if b > a else (positions[a], positions[a]))
        else:
            out.append((positions[-1] + 1, positions[-1] + 1))
    return out


def align_spans(original: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """[start, stop) offsets in ``original`` of each normalized word (see the module doc)."""
    folded = original.lower()
    if len(folded) != len(original):  # a few letters change length when lowered ("İ"): keep offsets
        folded = original
    found: list[tuple[int, int] | None] = []
    cursor = 0
    for word in words:
        while cursor < len(folded) and folded[cursor].isspace():  # blanked markup is no distance
            cursor += 1
        key = (word.lower() if folded is not original else word).replace("’", "'")
        at = folded.find(key, cursor, cursor + _SEARCH_WINDOW + len(key))
        if at < 0 and "'" in key:
            at = folded.find(key.replace("'", "’"), cursor, cursor + _SEARCH_WINDOW + len(key))
        if at < 0:
            found.append(None)
        else:
            found.append((at, at + len(key)))
            cursor = at + len(key)
    spans: list[tuple[int, int]] = []
    for k, span in enumerate(found):
        if span is not None:
            spans.append(span)
            continue
        start = next((s[1] for s in reversed(found[:k]) if s is not None), 0)
        stop = next((s[0] for s in found[k + 1:] if s is not None), len(original))
        while start < stop and (original[start].isspace() or original[start] in _EDGE_PUNCT):
            start += 1
        while stop > start and (original[stop - 1].isspace() or original[stop - 1] in _EDGE_PUNCT):
            stop -= 1
        spans.append((start, stop))
    return spans
