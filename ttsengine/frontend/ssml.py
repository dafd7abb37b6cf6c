"""SSML (a W3C SSML 1.1 subset) -> blocks of plain text with their speed, pause and phonemes.

A text is SSML when it starts with ``<speak`` (after white space); anything else is plain
text. Supported: ``speak``, ``p``, ``s``, ``break`` (``time``, ``strength``), ``prosody``
(``rate``; ``pitch`` and ``volume`` are accepted and ignored), ``say-as``
(``interpret-as``: characters / spell-out, cardinal / number, ordinal, digits, date
with ``format`` such as ``mdy``, time, telephone), ``sub`` (``alias``), ``phoneme``
(``alphabet="ipa"``, ``ph``), ``lang`` (``xml:lang``), and ``emphasis`` / ``mark``
(read as their content / ignored). Any other element, a malformed document, a DTD or
an entity declaration raises :class:`~ttsengine.errors.InvalidInputError` naming the
line and column.

Parsing is the standard library's expat with no DTD and no entity declarations allowed
(so no entity expansion); only the five predefined XML entities and character
references are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from ..errors import InvalidInputError
from .normalize import digits_to_words, number_to_words, ordinal_to_words, year_to_words

__all__ = ["Block", "is_ssml", "parse_ssml", "BREAK_STRENGTHS", "MAX_BREAK_S"]

#: Pause (seconds) of each ``break strength``.
BREAK_STRENGTHS = {"none": 0.0, "x-weak": 0.05, "weak": 0.1, "medium": 0.25, "strong": 0.5, "x-strong": 1.0}
#: Longest ``break`` accepted.
MAX_BREAK_S = 10.0
#: Pauses after a paragraph and a sentence element.
PARAGRAPH_PAUSE_S = 0.5
SENTENCE_PAUSE_S = 0.25
CLAUSE_PAUSE_S = 0.1
_RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}
_RATE_RANGE = (0.25, 4.0)
_TIME_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_ELEMENTS = frozenset("speak p s break prosody say-as sub phoneme lang emphasis mark paragraph sentence".split())
_MONTHS = ("January February March April May June July August September October November December").split()
_SENTENCE_END_RE = re.compile(r"[.!?…。！？]['\"”’)\]]*\s*$")
_CLAUSE_END_RE = re.compile(r"[,;:—，、；：]\s*$")


@dataclass
class Block:
    """A stretch of text read with one speed and language; ``pause_after``: seconds of
    silence after it (None: a sentence pause if its text ends a sentence, else none);
    ``phonemes``: word -> IPA for the words of ``phoneme`` elements."""

    text: str = ""
    speed: float = 1.0
    language: str | None = None
    pause_after: float | None = None
    phonemes: dict[str, str] = field(default_factory=dict)

    def default_pause(self) -> float:
        if self.pause_after is not None:
            return self.pause_after
        if _SENTENCE_END_RE.search(self.text):
            return SENTENCE_PAUSE_S
        return CLAUSE_PAUSE_S if _CLAUSE_END_RE.search(self.text) else 0.0


def is_ssml(text: Any) -> bool:
    """True for a str that starts (after white space) with ``<speak``."""
    return isinstance(text, str) and text.lstrip().startswith("<speak")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    column: int
    children: list[Any] = field(default_factory=list)

    def where(self) -> str:
        return f"line {self.line}, column {self.column + 1}"

    def fail(self, message: str) -> InvalidInputError:
        return InvalidInputError(f"invalid SSML at {self.where()} (<{self.tag}>): {message}")


def _parse_tree(text: str) -> _Node:
    parser = expat.ParserCreate()
    root: list[_Node] = []
    stack: list[_Node] = []

    def refuse(what: str):
        def handler(*_: Any) -> None:
            raise InvalidInputError(f"invalid SSML at line {parser.CurrentLineNumber}, column "
                                    f"{parser.CurrentColumnNumber + 1}: {what} not allowed")
        return handler

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].children.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse("a DTD (<!DOCTYPE>) is")
    parser.EntityDeclHandler = refuse("an entity declaration is")
    parser.ExternalEntityRefHandler = refuse("an external entity is")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise InvalidInputError(
            f"invalid SSML at line {exc.lineno}, column {exc.offset + 1}: {expat.ErrorString(exc.code)}") from None
    if not root or root[0].tag != "speak":
        raise InvalidInputError("invalid SSML at line 1, column 1: the root element must be <speak>")
    return root[0]


def _seconds(node: _Node, value: str) -> float:
    m = _TIME_RE.match(value)
    if not m:
        raise node.fail(f"time must be like '800ms' or '1.5s', got {value!r}")
    seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    if seconds > MAX_BREAK_S:
        raise node.fail(f"time must be at most {MAX_BREAK_S:g}s, got {value!r}")
    return seconds


def _rate(node: _Node, value: str) -> float:
    value = value.strip().lower()
    if value in _RATES:
        return _RATES[value]
    try:
        if value.endswith("%"):
            number = float(value[:-1])
            rate = 1 + number / 100 if value[0] in "+-" else number / 100
        else:
            rate = float(value)
    except ValueError:
        raise node.fail(f"rate must be x-slow ... x-fast, a percentage or a number, got {value!r}") from None
    low, high = _RATE_RANGE
    if not low <= rate <= high:
        raise node.fail(f"rate must be within [{low:g}, {high:g}] (x {low:g} to x {high:g}), got {value!r}")
    return rate


def _text_of(node: _Node) -> str:
    parts = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        else:
            raise child.fail(f"no elements allowed inside <{node.tag}>")
    return "".join(parts).strip()


def _say_as(node: _Node) -> str:
    kind = node.attrs.get("interpret-as", "").strip().lower()
    text = _text_of(node)
    if kind in ("characters", "spell-out", "verbatim"):
        return " ".join(digits_to_words(ch) if ch.isdigit() else ch for ch in text if not ch.isspace())
    digits = re.sub(r"[\s,]", "", text)
    if kind in ("cardinal", "number"):
        if not re.fullmatch(r"-?\d{1,15}", digits):
            raise node.fail(f"a cardinal must be an integer, got {text!r}")
        value = int(digits)
        return ("minus " if value < 0 else "") + number_to_words(abs(value))
    if kind == "ordinal":
        digits = re.sub(r"(st|nd|rd|th)$", "", digits.lower())
        if not re.fullmatch(r"\d{1,15}", digits):
            raise node.fail(f"an ordinal must be a whole number, got {text!r}")
        return ordinal_to_words(int(digits))
    if kind == "digits":
        if not re.fullmatch(r"\d+", digits):
            raise node.fail(f"digits must be digits, got {text!r}")
        return digits_to_words(digits)
    if kind == "telephone":
        groups = re.findall(r"\d+", text)
        if not groups:
            raise node.fail(f"a telephone number needs digits, got {text!r}")
        return ("plus " if text.lstrip().startswith("+") else "") + ", ".join(digits_to_words(g) for g in groups)
    if kind == "date":
        return _date(node, text)
    if kind == "time":
        return text  # the normalizer reads times ("3:30 pm", "14:05")
    raise node.fail(f"unsupported interpret-as {kind!r} (characters, cardinal, ordinal, digits, date, "
                    "time, telephone)")


def _date(node: _Node, text: str) -> str:
    fmt = node.attrs.get("format", "mdy").strip().lower()
    parts = re.findall(r"\d+", text)
    if not fmt or set(fmt) - set("mdy") or len(parts) != len(fmt):
        raise node.fail(f"date {text!r} does not match format {fmt!r} (letters of d, m, y)")
    values = dict(zip(fmt, (int(p) for p in parts)))
    month, day, year = values.get("m"), values.get("d"), values.get("y")
    if month is not None and not 1 <= month <= 12 or day is not None and not 1 <= day <= 31:
        raise node.fail(f"impossible date {text!r} for format {fmt!r}")
    words = []
    if month is not None:
        words.append(_MONTHS[month - 1])
    if day is not None:
        words.append(ordinal_to_words(day))
    out = " ".join(words)
    if year is not None:
        out += (", " if out else "") + year_to_words(year)
    return out


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.current = Block()

    def flush(self, pause: float | None = None) -> None:
        """Ends the current block; ``pause`` after it (also after an empty block: after the
        previous one)."""
        block = self.current
        if block.text.strip():
            self.blocks.append(block)
        elif pause is not None and self.blocks:
            self.blocks[-1].pause_after = pause
            pause = None
        if pause is not None and block.text.strip():
            block.pause_after = pause
        self.current = Block(speed=block.speed, language=block.language)

    def switch(self, speed: float, language: str | None) -> None:
        if (speed, language) != (self.current.speed, self.current.language):
            self.flush()
            self.current.speed, self.current.language = speed, language

    def walk(self, node: _Node, speed: float, language: str | None) -> None:
        tag = node.tag
        if tag not in _ELEMENTS:
            raise node.fail("unsupported element")
        language = node.attrs.get("xml:lang", language)
        if tag == "break":
            if node.children:
                raise node.fail("<break> must be empty")
            if "time" in node.attrs:
                pause = _seconds(node, node.attrs["time"])
            else:
                strength = node.attrs.get("strength", "medium")
                if strength not in BREAK_STRENGTHS:
                    raise node.fail(f"strength must be one of {', '.join(BREAK_STRENGTHS)}, got {strength!r}")
                pause = BREAK_STRENGTHS[strength]
            self.flush(pause * self.current.speed)  # the request's speed still scales it
            return
        if tag == "mark":
            return
        if tag == "prosody" and "rate" in node.attrs:
            speed = speed * _rate(node, node.attrs["rate"])
        self.switch(speed, language)
        if tag == "say-as":
            self.add(" " + _say_as(node) + " ")
        elif tag == "sub":
            if "alias" not in node.attrs:
                raise node.fail("<sub> needs an alias")
            _text_of(node)
            self.add(" " + node.attrs["alias"] + " ")
        elif tag == "phoneme":
            alphabet = node.attrs.get("alphabet", "ipa").lower()
            if alphabet != "ipa":
                raise node.fail(f"only alphabet='ipa' is supported, got {alphabet!r}")
            if not node.attrs.get("ph", "").strip():
                raise node.fail("<phoneme> needs a ph")
            word = "-".join(_text_of(node).split()) or "phoneme"
            self.current.phonemes[word] = node.attrs["ph"].strip()
            self.add(" " + word + " ")
        else:
            for child in node.children:
                if isinstance(child, str):
                    self.add(child)
                else:
                    self.walk(child, speed, language)
                    self.switch(speed, language)
        if tag in ("p", "paragraph", "s", "sentence"):
            self.flush(PARAGRAPH_PAUSE_S if tag in ("p", "paragraph") else SENTENCE_PAUSE_S)

    def add(self, text: str) -> None:
        self.current.text += text


def parse_ssml(text: str) -> list[Block]:
    """The blocks of an SSML document (see the module doc). Raises InvalidInputError."""
    root = _parse_tree(text)
    walker = _Walker()
    walker.walk(root, 1.0, root.attrs.get("xml:lang"))
    walker.flush()
    if not walker.blocks:
        raise InvalidInputError("SSML has no text to speak")
    return walker.blocks


def masked(text: str) -> str:
    """``text`` with its markup blanked out (same length): for finding words in the source."""
    return re.sub(r"<[^>]*>", lambda m: " " * len(m.group()), text)
