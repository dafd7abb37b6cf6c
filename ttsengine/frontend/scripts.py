"""The writing system (Unicode script) of a character: :func:`char_script`, with which a
frontend drops text its voice cannot speak and :mod:`.language` finds a text's languages."""

from __future__ import annotations

import bisect
import unicodedata
from functools import lru_cache

__all__ = ["COMMON", "INHERITED", "UNKNOWN", "char_script"]

COMMON = "Common"
"""Script of characters every voice may get: punctuation, spaces, symbols, digits."""
INHERITED = "Inherited"
"""Script of combining marks that take the script of the character they follow."""
UNKNOWN = "Unknown"
"""Script of private-use and unassigned code points (nothing can speak them)."""

# (first, last, script): the letter blocks of the scripts a voice may meet, sorted. Names
# are Unicode Script property values. Punctuation, spaces and controls are Common whatever
# their block; letters outside these ranges get a script from their Unicode name.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"), (0x0061, 0x007A, "Latin"), (0x00AA, 0x00AA, "Latin"),
    (0x00B5, 0x00B5, COMMON), (0x00BA, 0x00BA, "Latin"), (0x00C0, 0x024F, "Latin"),
    (0x0250, 0x02AF, "Latin"), (0x02B0, 0x02FF, COMMON), (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"), (0x0530, 0x058F, "Armenian"), (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"), (0x0700, 0x074F, "Syriac"), (0x0750, 0x077F, "Arabic"),
    (0x0780, 0x07BF, "Thaana"), (0x07C0, 0x07FF, "Nko"), (0x0800, 0x083F, "Samaritan"),
    (0x0840, 0x085F, "Mandaic"), (0x0860, 0x086F, "Syriac"), (0x0870, 0x08FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"), (0x0980, 0x09FF, "Bengali"), (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"), (0x0B00, 0x0B7F, "Oriya"), (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"), (0x0C80, 0x0CFF, "Kannada"), (0x0D00, 0x0D7F, "Malayalam"),
    (0x0D80, 0x0DFF, "Sinhala"), (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"), (0x1000, 0x109F, "Myanmar"), (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"), (0x1200, 0x139F, "Ethiopic"), (0x13A0, 0x13FF, "Cherokee"),
    (0x1400, 0x167F, "Canadian Aboriginal"), (0x1680, 0x169F, "Ogham"), (0x16A0, 0x16FF, "Runic"),
    (0x1780, 0x17FF, "Khmer"), (0x1800, 0x18AF, "Mongolian"), (0x1C80, 0x1C8F, "Cyrillic"),
    (0x1C90, 0x1CBF, "Georgian"), (0x1D00, 0x1DBF, "Latin"), (0x1E00, 0x1EFF, "Latin"),
    (0x1F00, 0x1FFF, "Greek"), (0x2071, 0x2071, "Latin"), (0x207F, 0x207F, "Latin"),
    (0x2090, 0x209C, "Latin"), (0x2100, 0x218F, COMMON), (0x2C00, 0x2C5F, "Glagolitic"),
    (0x2C60, 0x2C7F, "Latin"), (0x2C80, 0x2CFF, "Coptic"), (0x2D00, 0x2D2F, "Georgian"),
    (0x2D30, 0x2D7F, "Tifinagh"), (0x2D80, 0x2DDF, "Ethiopic"), (0x2DE0, 0x2DFF, "Cyrillic"),
    (0x3005, 0x3007, "Han"), (0x3021, 0x3029, "Han"), (0x3031, 0x3035, "Hiragana"),
    (0x3038, 0x303B, "Han"), (0x3041, 0x309F, "Hiragana"), (0x30A0, 0x30FF, "Katakana"),
    (0x3105, 0x312F, "Bopomofo"), (0x3131, 0x318F, "Hangul"), (0x31A0, 0x31BF, "Bopomofo"),
    (0x31F0, 0x31FF, "Katakana"), (0x3400, 0x4DBF, "Han"), (0x4E00, 0x9FFF, "Han"),
    (0xA000, 0xA4CF, "Yi"), (0xA640, 0xA69F, "Cyrillic"), (0xA720, 0xA7FF, "Latin"),
    (0xA960, 0xA97F, "Hangul"), (0xAB30, 0xAB6F, "Latin"), (0xAC00, 0xD7FF, "Hangul"),
    (0xF900, 0xFAFF, "Han"), (0xFB00, 0xFB06, "Latin"), (0xFB13, 0xFB17, "Armenian"),
    (0xFB1D, 0xFB4F, "Hebrew"), (0xFB50, 0xFDFF, "Arabic"), (0xFE70, 0xFEFF, "Arabic"),
    (0xFF21, 0xFF3A, "Latin"), (0xFF41, 0xFF5A, "Latin"), (0xFF66, 0xFF9F, "Katakana"),
    (0xFFA0, 0xFFDC, "Hangul"), (0x1D400, 0x1D7FF, COMMON), (0x20000, 0x3134F, "Han"),
)
_RANGE_STARTS = tuple(first for first, _, _ in _SCRIPT_RANGES)
# Words of a character's Unicode name that follow its script's name ("GOTHIC LETTER AHSA").
_NAME_MARKERS = (" LETTER", " SYLLABLE", " CHARACTER", " IDEOGRAPH", " VOWEL", " CONSONANT",
                 " SIGN", " LIGATURE", " SYMBOL", " DIGIT", " NUMBER", " MARK", " CAPITAL",
                 " SMALL", " FINAL", " INITIAL", " MEDIAL", " ABBREVIATION", " COMBINING")


def _script_from_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    cuts = [i for i in (name.find(marker) for marker in _NAME_MARKERS) if i > 0]
    return name[:min(cuts)].title() if cuts else UNKNOWN


@lru_cache(maxsize=8192)
def char_script(ch: str) -> str:
    """The writing system of one character, as a Unicode Script name ("Latin", "Han",
    "Cyrillic" ...), :data:`COMMON` for punctuation, spaces, symbols and every decimal digit,
    :data:`INHERITED` for a combining mark outside a script's block (it belongs to the
    character before it) and :data:`UNKNOWN` for private-use, unassigned and surrogate code
    points.

    A compact approximation of the Unicode Script property (no extra dependency): exact
    for the letters of the common scripts, by Unicode name for rare ones.
    """
    category = unicodedata.category(ch)
    major = category[0]
    if category in ("Co", "Cn", "Cs"):
        return UNKNOWN
    if major in "PZC" or category == "Nd":
        return COMMON
    code = ord(ch)
    k = bisect.bisect_right(_RANGE_STARTS, code) - 1
    if k >= 0 and code <= _SCRIPT_RANGES[k][1]:
        return _SCRIPT_RANGES[k][2]
    if major in "SN":
        return COMMON
    if major == "M":
        return INHERITED
    return _script_from_name(ch)
