"""Long text read block by block: the front end of a stream works as the audio is needed,
so the first chunk of a megabyte of text comes as quickly as that of one sentence."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidInputError
from .frontend import SENTENCE_PAUSE_S, Segment

__all__ = ["LAZY_CHARS", "BLOCK_CHARS", "text_blocks", "lazy_segments"]

#: Text up to this many characters is read whole (as ``Frontend.segments`` does).
LAZY_CHARS = 2000
#: Aimed size of a block; a block ends after a sentence mark or a line break followed by
#: white space, else (no such place within 4x this) at a space, else anywhere.
BLOCK_CHARS = 1000
# a Chinese sentence mark ends a sentence without a space after it (but before a closing quote)
_BOUNDARY = re.compile(r"(?<=[.!?;\u3002\uff01\uff1f\n])\s+"
                       r"|(?<=[\u3002\uff01\uff1f\uff1b])(?=[^\s\u201d\u2019\u300d\u300f\uff09\u300b\u0022\u0027])")


def text_blocks(text: str, size: int = BLOCK_CHARS) -> Iterator[str]:
    """``text`` in consecutive blocks of about ``size`` characters, cut between sentences."""
    start, n = 0, len(text)
    while start < n:
        if n - start <= size:
            yield text[start:]
            return
        window_end = min(n, start + 4 * size)
        cut = None
        for match in _BOUNDARY.finditer(text, start + size // 2, window_end):
            cut = match.end()
            if cut - start >= size:
                break
        if cut is None:
            space = text.rfind(" ", start + 1, window_end)
            cut = space + 1 if space > start else window_end
        yield text[start:cut]
        start = cut


def _block_segments(frontend: Any, offset: int, block: str) -> list[Segment]:
    """``frontend.segments(block)`` with word spans into the whole text (``block`` starts at
    ``offset``)."""
    segments = frontend.segments(block)
    if not offset:
        return segments
    return [dataclasses.replace(s, words=tuple(
        dataclasses.replace(w, chars=(w.chars[0] + offset, w.chars[1] + offset)) for w in s.words))
        for s in segments]


def _with_offsets(blocks: Iterator[str]) -> Iterator[tuple[int, str]]:
    offset = 0
    for block in blocks:
        yield offset, block
        offset += len(block)


def lazy_segments(frontend: Any, text: str) -> Iterator[Segment]:
    """The segments of ``text``, block by block. The first speakable block is read before
    this returns (so an error about the whole text, e.g. nothing speakable, is raised here,
    not while iterating); later blocks are read as the iterator is consumed. A block's
    last segment keeps a sentence pause before the next block; word spans point into
    ``text``."""
    blocks = _with_offsets(text_blocks(text))
    first_error: InvalidInputError | None = None
    first: list[Segment] | None = None
    for offset, block in blocks:
        try:
            first = _block_segments(frontend, offset, block)
            break
        except InvalidInputError as exc:  # a block of nothing speakable: the next one
            first_error = first_error or exc
    if first is None:
        raise first_error or InvalidInputError("text is empty")
    return _chain(frontend, first, blocks)


def _chain(frontend: Any, first: list[Segment], blocks: Iterator[tuple[int, str]]) -> Iterator[Segment]:
    pending = first
    for offset, block in blocks:
        try:
            more = _block_segments(frontend, offset, block)
        except InvalidInputError:
            continue
        pending[-1] = dataclasses.replace(pending[-1], pause_after=SENTENCE_PAUSE_S)
        yield from pending
        pending = more
    yield from pending
