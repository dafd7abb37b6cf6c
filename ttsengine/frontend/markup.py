"""Language-neutral clean-up run before any normalization: SSML / HTML-like markup that
must not be read aloud, symbols that have no speech (emoji, pictographs, dingbats),
invisible characters (deleted: they never split a word), stray combining marks
(zalgo text, marks without a letter) and runs of repeated punctuation.

Both passes are single regex scans (linear in the length of the text); no markup parser
is involved, so only the tags below are recognised and everything else is left as text.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

__all__ = ["strip_markup", "drop_unspoken_symbols", "drop_invisible", "drop_stray_marks", "collapse_punctuation",
           "clean_text"]

# SSML (W3C + the usual vendor namespaces, any ``prefix:name``) and common inline /
# block HTML. A tag is only recognised with one of these names and with quoted attribute
# values, so prose such as "if a <b and c> d" is left alone.
_TAG_NAMES = (
    "speak|break|emphasis|prosody|say-as|sub|phoneme|voice|audio|mark|lang|lexicon|meta"
    "|metadata|desc|token|w|p|s|par|seq|media|html|head|body|title|div|span|a|b|i|u|em"
    "|strong|br|hr|img|h[1-6]|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|td|th|sup|small|big"
    "|code|pre|blockquote|q|cite|font|center|section|article|header|footer|nav|main|aside"
    "|label|abbr|del|ins|strike|tt|figure|figcaption|time"
)
_ATTRS = r"""(?:\s+[\w:.-]+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*"""
_TAG_RE = re.compile(
    r"<!--[^<>]*-->"                                   # comment
    r"|<[?!][^<>]*>"                                   # <?xml ...?>, <!DOCTYPE ...>
    r"|</?(?:(?:" + _TAG_NAMES + r")(?![\w:-])|[A-Za-z][\w.-]*:[\w.-]+)"
    + _ATTRS + r"\s*/?>",
    re.IGNORECASE)
# SSML <sub alias="World Wide Web">WWW</sub>: the alias is what is meant to be spoken.
_SUB_ALIAS_RE = re.compile(
    r"""<sub\s+alias\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')\s*>[^<>]*</sub\s*>""", re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def strip_markup(text: str, repl: str = " ") -> str:
    """Remove SSML / HTML-like tags (each becomes ``repl``; an SSML ``<sub alias=...>``
    becomes its alias) and decode HTML character references (``&amp;`` -> ``&``)."""
    if "<" in text:
        text = _SUB_ALIAS_RE.sub(lambda m: repl + (m.group(1) or m.group(2) or "") + repl, text)
        text = _TAG_RE.sub(repl, text)
    if "&" in text:
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)
    return text


# Characters that may be unspoken symbols: everything but ASCII, Latin-1 letters, the
# common letter blocks and CJK text (those are never dropped, so they skip the callback).
_CANDIDATE_RE = re.compile(
    "[\u00a9\u00ae\u00b6\u2013-\u2bff\u2e00-\u2e7f\u3200-\u33ff\ua000-\uabff\ud800-\uf8ff"
    "\ufe00-\ufe0f\ufff0-\uffff\U00010000-\U0010ffff]")
_KEEP = frozenset("°")  # So, but spoken ("degrees") by the English rules
_DROP_EXTRA = frozenset("•‣⁃†‡¶\u20e3")  # bullets, daggers, pilcrow, keycap
_DROP_CATEGORIES = frozenset(("So", "Co", "Cn", "Cs"))


def _is_unspoken(ch: str) -> bool:
    if ch in _KEEP:
        return False
    if ch in _DROP_EXTRA:
        return True
    code = ord(ch)
    if (0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE01EF  # variation selectors, tags
            or 0x20DD <= code <= 0x20E4 or 0x2190 <= code <= 0x21FF):  # enclosing, arrows
        return True
    if unicodedata.normalize("NFKC", ch) != ch:
        return False  # a compatibility form ("㎏", "℃", "№"): the language's rules decide
    category = unicodedata.category(ch)
    return category in _DROP_CATEGORIES or (category == "Sk" and code >= 0x1F000)


def drop_unspoken_symbols(text: str, repl: str = " ") -> str:
    """Replace every symbol that has no speech (emoji and their modifiers / joiners'
    selectors, pictographs, dingbats, arrows, ©, ®, private-use and unassigned code points)
    with ``repl``, so that no G2P reads them by their Unicode names. The degree sign and
    compatibility characters (``℃``, ``㎏``) are kept."""
    return _CANDIDATE_RE.sub(lambda m: repl if _is_unspoken(m.group(0)) else m.group(0), text)


# Invisible characters: C0 / C1 controls that are not whitespace (NUL, ESC ...), and the
# default-ignorable code points of Unicode (DerivedCoreProperties.txt): soft hyphen,
# combining grapheme joiner, zero-width space / (non-)joiner, word joiner, invisible
# operators, bidi marks and overrides, BOM, variation selectors, Hangul fillers, Mongolian
# selectors, tags ... (which cover every format character, category Cf, but the visible
# "prepended concatenation marks" such as U+0600 ARABIC NUMBER SIGN and the Egyptian
# hieroglyph format controls). They are deleted, not made spaces: "hel\u200dlo" is "hello".
# Whitespace controls (tab, newline, U+001C..U+001F, U+0085) are left to the whitespace rules.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")


def drop_invisible(text: str) -> str:
    """``text`` without invisible characters (controls that are not whitespace, and
    default-ignorable code points such as U+200D ZWJ, U+00AD SOFT HYPHEN, U+2060 WORD
    JOINER, U+FEFF BOM): deleted, so a word they sit in stays one word."""
    return _INVISIBLE_RE.sub("", text)


# Combining marks shared by all scripts (script Inherited): what zalgo text stacks on its
# letters, and what no English or Chinese word needs once NFC / NFKC composed "é", "ñ", "ǜ".
GENERIC_MARKS = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Overlays (canonical combining class 1: strokes and slashes through a letter) are never
# spelling; more than MAX_GENERIC_MARKS generic marks on one letter is zalgo (after NFC, a
# letter of a real orthography keeps at most two: Yoruba "ẹ́", Russian stress "а́").
MAX_GENERIC_MARKS = 3
_DECORATED_RE = re.compile(
    f"[\u0334-\u0338\u20d2\u20d3\u20d8-\u20da\u20e5\u20e6\u20ea\u20eb]|[{GENERIC_MARKS}]{{{MAX_GENERIC_MARKS + 1},}}")
_GENERIC_MARK_RE = re.compile(f"[{GENERIC_MARKS}]")
_MARKED_WORD_RE = re.compile(f"[\\w{GENERIC_MARKS}]+")


def _base_letters(word: str) -> str:
    """``word`` without its generic marks, also those NFC had composed into its letters."""
    return unicodedata.normalize("NFC", _GENERIC_MARK_RE.sub("", unicodedata.normalize("NFD", word)))


@functools.lru_cache(maxsize=1)
def _baseless_marks_re() -> re.Pattern[str]:
    """Runs of combining marks (categories Mn, Mc, Me) after no letter or digit: at the
    start of the text, or after a space, punctuation or a symbol. Built on first use from
    Python's Unicode tables (all marks below U+20000; the variation selectors above are
    invisible characters)."""
    ranges: list[list[int]] = []
    for code in range(0x20000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    marks = "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)
    return re.compile(f"(?:^|(?<=[^\\w{marks}]))[{marks}]+")


def drop_stray_marks(text: str, generic: bool = False) -> str:
    """``text`` (NFC or NFKC) without stray combining marks, so that zalgo text reads as
    its letters and text of only combining marks has nothing left to speak:

    * a word decorated with marks (an overlay, or a stack of more than MAX_GENERIC_MARKS
      generic marks on a letter; ``generic``: any generic mark that composition left,
      which an English or Chinese word never has) loses all its generic marks, also those
      composed into its letters ("Hȩ̸ļ̷l̶o̸" -> "Hello");
    * runs of marks on no letter or digit are dropped.
    """
    if text.isascii():
        return text
    if _GENERIC_MARK_RE.search(text) is not None:
        decorated = _GENERIC_MARK_RE if generic else _DECORATED_RE
        text = _MARKED_WORD_RE.sub(
            lambda m: _base_letters(m.group()) if decorated.search(m.group()) else m.group(), text)
    return _baseless_marks_re().sub("", text)


# Runs of punctuation, collapsed so that "Wow" + "!" * 200 is read as "Wow!" (each mark is a
# token, and a voice makes sound, not silence, of a long run of them). Spaces inside a run go
# with it ("! ! !"). The pause the run stands for is kept: the sentence end, the ellipsis, the
# clause break, the dash.
_TERMINAL_RUN_RE = re.compile(r"[!?！？](?:[ \t]*[!?！？])+")  # each of ! and ? once: "?!?!" -> "?!"
# four dots or more, also spaced ". . . .", -> an ellipsis "..." (a sentence's end and an
# ellipsis, "end. ...", stay apart)
_DOTS_RUN_RE = re.compile(r"[ \t]?(?:\.{4,}|\.(?: \.){3,})")
_CLAUSE_RUN_RE = re.compile(r"[,;，；、](?:[ \t]*[,;，；、])+")  # -> its first mark
_DASH_RUN_RE = re.compile(r"[-‐‑–—―](?:[ \t]*[-‐‑–—―]){3,}")  # four dashes or more -> " — "
# Any other mark or symbol three times or more in a row ("(((", "'''", "***", "+++", "&&&",
# "…………", "。。。"): once. Two are left alone: "--", "''", "//", "::" mean something.
_REPEAT_RUN_RE = re.compile(r"([^\w\s.\-‐‑–—―]|_)(?:[ \t]*\1){2,}")


def collapse_punctuation(text: str) -> str:
    """``text`` with runs of repeated punctuation made short: "!!!" and "?!?!" -> "!" and
    "?!" (each of ! and ? once, in order), four or more dots -> "...", ",,," / ";;" -> their
    first mark, four or more dashes -> " — ", and any other mark or symbol repeated three
    times or more -> once."""
    text = _TERMINAL_RUN_RE.sub(lambda m: "".join(dict.fromkeys(c for c in m.group() if not c.isspace())), text)
    text = _DOTS_RUN_RE.sub("...", text)
    text = _CLAUSE_RUN_RE.sub(lambda m: m.group()[0], text)
    text = _DASH_RUN_RE.sub(" — ", text)
    return _REPEAT_RUN_RE.sub(lambda m: m.group(1), text)


_WHITESPACE_RE = re.compile(r"\s+")


def clean_text(text: str, generic_marks: bool = False) -> str:
    """Invisible characters deleted (a word they sit in stays one word: controls that are
    not whitespace, ZWJ, soft hyphen, BOM ...), NFC, stray combining marks removed (zalgo
    stacks, marks on no letter; ``generic_marks``: every generic mark left after NFC),
    runs of repeated punctuation made short (see ``markup.collapse_punctuation``),
    whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFC", drop_invisible(text))
    text = collapse_punctuation(drop_stray_marks(text, generic_marks))  # "!!!!!" -> "!"
    return _WHITESPACE_RE.sub(" ", text).strip()
