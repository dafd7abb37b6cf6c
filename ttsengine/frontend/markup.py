"""Language-neutral clean-up run before any normalization: SSML / HTML-like markup that
must not be read aloud, and symbols that have no speech (emoji, pictographs, dingbats).

Both passes are single regex scans (linear in the length of the text); no markup parser
is involved, so only the tags below are recognised and everything else is left as text.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["strip_markup", "drop_unspoken_symbols"]

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
