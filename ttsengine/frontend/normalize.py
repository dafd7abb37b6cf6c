"""Text normalization: English (numbers, currency, abbreviations ...), Chinese numbers,
and the Unicode / punctuation clean-up shared by every language.

Every function here is a sequence of regex passes over the text, so normalization is
linear in the length of the text. Number words are produced by a small built-in
converter (cross-checked against ``inflect`` in the tests): importing ``inflect`` costs
~1.6 s, far more than the whole frontend otherwise needs for a paragraph.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = [
    "normalize_text",
    "normalize_english",
    "normalize_chinese",
    "clean_text",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
    "digits_to_words",
    "number_to_chinese",
    "is_english",
    "is_chinese",
]

# --------------------------------------------------------------------------- languages


def is_english(language: str | None) -> bool:
    """True for ``en``, ``en-us``, ``en-gb`` ... (and None, the English default)."""
    return language is None or language.lower().replace("_", "-").split("-")[0] == "en"


def is_chinese(language: str | None) -> bool:
    """True for ``zh``, ``zh-cn``, ``cmn`` ..."""
    return language is not None and language.lower().replace("_", "-").split("-")[0] in (
        "zh", "cmn")


# --------------------------------------------------------------------------- number words

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")
_MAX_CARDINAL = 10 ** 18 - 1  # above this numbers are read digit by digit


def _two_digits(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("-" + _ONES[ones] if ones else "")


def _three_digits(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(_ONES[hundreds] + " hundred")
    if rest or not hundreds:
        parts.append(_two_digits(rest))
    return " ".join(parts)


def number_to_words(n: int) -> str:
    """Cardinal number words, US style: 1999 -> 'one thousand nine hundred ninety-nine'."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n > _MAX_CARDINAL:
        return digits_to_words(str(n))
    if n == 0:
        return "zero"
    parts = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            words = _three_digits(group)
            parts.append(words + (" " + _SCALES[scale] if scale else ""))
        scale += 1
    return " ".join(reversed(parts))


_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _ordinalize_word(word: str) -> str:
    head, sep, last = word.rpartition("-")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return head + sep + last


def ordinal_to_words(n: int) -> str:
    """Ordinal number words: 22 -> 'twenty-second'."""
    words = number_to_words(n).split(" ")
    words[-1] = _ordinalize_word(words[-1])
    return " ".join(words)


def year_to_words(n: int) -> str:
    """Year reading: 1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand five',
    1900 -> 'nineteen hundred', 1905 -> 'nineteen oh five', 2024 -> 'twenty twenty-four'.
    Numbers outside 1000..2999 (and multiples of 1000) are read as cardinals."""
    if not 1000 <= n <= 2999 or n % 1000 == 0:
        return number_to_words(n)
    high, low = divmod(n, 100)
    if 2000 <= n < 2010:
        return number_to_words(n)
    if low == 0:
        return _two_digits(high) + " hundred"
    if low < 10:
        return _two_digits(high) + " oh " + _ONES[low]
    return _two_digits(high) + " " + _two_digits(low)


def digits_to_words(digits: str) -> str:
    """Digit-by-digit reading: '007' -> 'zero zero seven'."""
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def _pluralize_word(word: str) -> str:
    head, sep, last = word.rpartition("-")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return head + sep + last


def _decimal_to_words(integer: str, fraction: str | None) -> str:
    words = _int_to_words(integer)
    if fraction:
        words += " point " + digits_to_words(fraction)
    return words


def _int_to_words(digits: str) -> str:
    digits = digits.replace(",", "")
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 18:
        return digits_to_words(digits)
    return number_to_words(int(digits))


def _ordinal_digits(digits: str) -> str:
    digits = digits.replace(",", "")
    if len(digits) > 18:
        return _ordinalize_word(digits_to_words(digits))
    return ordinal_to_words(int(digits))


# --------------------------------------------------------------------------- clean-up

# Full-width / CJK punctuation that carries its own spacing -> ASCII + space.
_WIDE_PUNCT = {
    "，": ", ", "、": ", ", "。": ". ", "！": "! ", "？": "? ", "；": "; ", "：": ": ",
    "（": " (", "）": ") ", "【": " (", "】": ") ", "〔": " (", "〕": ") ",
    "「": ' "', "」": '" ', "『": ' "', "』": '" ', "《": ' "', "》": '" ',
    "〈": ' "', "〉": '" ', "…": "...", "⋯": "...", "\u3000": " ",
}
_QUOTES = {
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‟": '"',
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
    "[": "(", "]": ")", "{": "(", "}": ")", "–": "-", "‐": "-", "‑": "-", "−": "-",
    "―": "—", "⁄": "/",
}
_WIDE_TABLE = str.maketrans(_WIDE_PUNCT)
_QUOTE_TABLE = str.maketrans(_QUOTES)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +(?=[,.!?;:)](?:\s|$))")
_SPACE_AFTER_OPEN_RE = re.compile(r"(?<=\() +")
_SPACED_DASH_RE = re.compile(r"(?<=\s)-{1,3}(?=\s)|(?<=\w)--+(?=\w)")


def clean_text(text: str) -> str:
    """NFC, control characters removed, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()


def _clean_english(text: str) -> str:
    text = text.translate(_WIDE_TABLE)
    text = unicodedata.normalize("NFKC", text)  # full-width letters/digits, ligatures ...
    text = text.translate(_QUOTE_TABLE)
    text = _CONTROL_RE.sub(" ", text)
    text = _SPACED_DASH_RE.sub(" — ", text)
    return _SPACE_RE.sub(" ", text).strip()


# --------------------------------------------------------------------------- English rules

_UPPER_AHEAD_RE = re.compile(r"\s+[\"'(]*[A-Z]")
_ONLY_SPACE_RE = re.compile(r"\s*$")


def _ends_sentence(text: str, pos: int) -> bool:
    """True when the period ending at ``pos`` is plausibly also a sentence end: nothing
    but whitespace follows, or the next word starts with a capital letter."""
    if _ONLY_SPACE_RE.match(text, pos):
        return True
    return _UPPER_AHEAD_RE.match(text, pos) is not None


# Abbreviations, keyed by the lowercase word without its period. Titles never end a sentence.
_TITLES = {
    "mr": "mister", "mrs": "misses", "ms": "miz", "dr": "doctor", "prof": "professor",
    "capt": "captain", "gen": "general", "lt": "lieutenant", "col": "colonel",
    "sgt": "sergeant", "gov": "governor", "sen": "senator", "rep": "representative",
    "rev": "reverend", "hon": "honorable", "mt": "mount", "ft": "fort", "messrs": "messieurs",
}
_TRAILING = {  # key -> (expansion, needs a capital, may also end a sentence)
    "etc": ("et cetera", False, True), "inc": ("incorporated", True, True),
    "ltd": ("limited", True, True), "co": ("company", True, True),
    "corp": ("corporation", True, True), "jr": ("junior", True, True),
    "sr": ("senior", True, True), "ave": ("avenue", True, True),
    "blvd": ("boulevard", True, True), "rd": ("road", True, True),
    "approx": ("approximately", False, True), "dept": ("department", True, True),
    "vs": ("versus", False, False), "e.g": ("for example", False, False),
    "i.e": ("that is", False, False),
}
_MONTHS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "sept": "September",
    "oct": "October", "nov": "November", "dec": "December",
}

_ABBREV_RE = re.compile(
    r"(?<![\w.])(e\.g|i\.e|[A-Za-z]{1,6})\.(?=\s|$|[,;:!?)\"'])")
_DIGIT_AHEAD_RE = re.compile(r"\s*#?\d")
_VS_RE = re.compile(r"(?<![\w.])vs(?![\w.])")
_ACRONYM_RE = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})(?=\s|$|[,;:!?)\"'])")


def _expand_abbreviation(m: re.Match[str], text: str) -> str:
    word = m.group(1)
    key = word.lower()
    end = m.end()
    if key in _TITLES and word[0].isupper():
        return _TITLES[key]
    if key == "st" and word[0].isupper():
        if end < len(text) and _UPPER_AHEAD_RE.match(text, end) and not _after_name(text, m.start()):
            return "Saint"
        return "street" + ("." if _ends_sentence(text, end) else "")
    if key == "no" and _DIGIT_AHEAD_RE.match(text, end):
        return "number"
    if key in _MONTHS and word[0].isupper() and _DIGIT_AHEAD_RE.match(text, end):
        return _MONTHS[key]
    if key in _TRAILING:
        expansion, needs_capital, may_end = _TRAILING[key]
        if not needs_capital or word[0].isupper():
            return expansion + ("." if may_end and _ends_sentence(text, end) else "")
    return m.group(0)


_PREV_CAPITAL_RE = re.compile(r"[A-Z][A-Za-z]* $")


def _after_name(text: str, start: int) -> bool:
    """True when the word before ``start`` is a capitalized word that is not the first
    word of its sentence ("Main St." -> street, "In St. Louis" -> saint)."""
    lo = max(0, start - 40)
    window = text[lo:start]
    m = _PREV_CAPITAL_RE.search(window)
    if m is None:
        return False
    before = window[:m.start()].rstrip(" \"'(")
    if not before:
        return lo > 0  # window starts mid-text: assume mid-sentence
    return before[-1] not in ".!?"


def _expand_acronym(m: re.Match[str], text: str) -> str:
    letters = m.group(1).replace(".", "").upper()
    return letters + ("." if _ends_sentence(text, m.end()) else "")


_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
}
_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)"
_SCALE = r"(?:\s?(thousand|million|billion|trillion|[kKmMbB]n?)\b)?"
_CURRENCY_PREFIX_RE = re.compile(r"([$£€¥])\s?" + _NUM + r"(?:\.(\d+))?" + _SCALE)
_CURRENCY_SUFFIX_RE = re.compile(r"(?<![\d.,])" + _NUM + r"(?:[.,](\d{1,2}))?\s?(€)")
_SCALE_ABBR = {"k": "thousand", "m": "million", "b": "billion", "bn": "billion"}


def _money(symbol: str, integer: str, fraction: str | None, scale: str | None) -> str:
    one, many, sub_one, sub_many = _CURRENCY[symbol]
    if scale:
        scale = _SCALE_ABBR.get(scale.lower(), scale.lower())
        return f"{_decimal_to_words(integer, fraction)} {scale} {many}"
    integer = integer.replace(",", "")
    main = int(integer) if len(integer) <= 18 else 2  # (only singular/plural matters)
    if fraction and (sub_one is None or len(fraction) > 2):
        return f"{_decimal_to_words(integer, fraction)} {many}"
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if main or not cents:
        parts.append(f"{_int_to_words(integer)} {one if main == 1 else many}")
    if cents:
        parts.append(f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}")
    return " and ".join(parts)


_AMPM_RE = re.compile(r"(\d)\s?([AaPp])\.?[Mm](?![\w])")
_PERCENT_RE = re.compile(r"(?<![\d.,])" + _NUM + r"(?:\.(\d+))?\s?%")
_ORDINAL_RE = re.compile(r"(?<![\d.,])" + _NUM + r"(st|nd|rd|th)\b", re.IGNORECASE)
_DECADE_RE = re.compile(r"(?<![\w.,])'?(\d{1,3}0)s\b")
_TIME_RE = re.compile(r"(?<![\d:.])([01]?\d|2[0-4]):([0-5]\d)(?![\d:])")
_DECIMAL_RE = re.compile(r"(?<![\d.,])" + _NUM + r"\.(\d+)(?![\d]|\.\d)")
_LEADING_POINT_RE = re.compile(r"(?<![\w.,])\.(\d+)")
_MINUS_RE = re.compile(r"(?<![\w.,)])-(?=[$£€¥]?\d)")
_GROUPED_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d]|,\d)")
_YEAR_RE = re.compile(r"(?<![\d.,])(1[1-9]\d\d|20\d\d)(?![\d]|,\d|\.\d)")
_INT_RE = re.compile(r"\d+")
_PHONE_RE = re.compile(r"(?<![\d-])(\(\d{3}\) ?|\d{3}-)(\d{3})-(\d{4})(?![\d-])"
                       r"|(?<![\d-])(\d{3})-(\d{4})(?![\d-])")
_DEGREE_RE = re.compile(r"\s?°\s?([CF])\b|\s?°")
_SYMBOLS = (
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"(?<=\w)@(?=\w)"), " at "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#(?=\s?\d)"), "number "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s+=\s+"), " equals "),
)


def _decade(m: re.Match[str]) -> str:
    n = int(m.group(1))
    words = year_to_words(n) if n >= 1000 else number_to_words(n)
    parts = words.split(" ")
    parts[-1] = _pluralize_word(parts[-1])
    return " ".join(parts)


def _phone(m: re.Match[str]) -> str:
    groups = [g.strip("()- ") for g in m.groups() if g]
    return ", ".join(digits_to_words(g) for g in groups)


def _time(m: re.Match[str]) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes == 0:
        return number_to_words(hours) + (" o'clock" if hours <= 12 else " hundred")
    if minutes < 10:
        return f"{number_to_words(hours)} oh {_ONES[minutes]}"
    return f"{number_to_words(hours)} {_two_digits(minutes)}"


def _degree(m: re.Match[str]) -> str:
    unit = m.group(1)
    if unit == "C":
        return " degrees Celsius"
    if unit == "F":
        return " degrees Fahrenheit"
    return " degrees"


def _english_rules() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]]:
    return [
        (_PHONE_RE, _phone),
        (_DEGREE_RE, _degree),
        (_AMPM_RE, lambda m: f"{m.group(1)} {m.group(2).upper()}M"),
        (_MINUS_RE, "minus "),
        (_CURRENCY_PREFIX_RE, lambda m: _money(m.group(1), m.group(2), m.group(3), m.group(4))),
        (_CURRENCY_SUFFIX_RE, lambda m: _money(m.group(3), m.group(1), m.group(2), None)),
        (_PERCENT_RE, lambda m: _decimal_to_words(m.group(1), m.group(2)) + " percent"),
        (_ORDINAL_RE, lambda m: _ordinal_digits(m.group(1))),
        (_DECADE_RE, _decade),
        (_TIME_RE, _time),
        (_DECIMAL_RE, lambda m: _decimal_to_words(m.group(1), m.group(2))),
        (_LEADING_POINT_RE, lambda m: "point " + digits_to_words(m.group(1))),
        (_GROUPED_RE, lambda m: _int_to_words(m.group(1))),
        (_YEAR_RE, lambda m: year_to_words(int(m.group(1)))),
        (_INT_RE, lambda m: _int_to_words(m.group(0))),
    ]


_RULES = _english_rules()


def normalize_english(text: str) -> str:
    """Normalize English text for synthesis.

    Full-width / typographic punctuation to ASCII, abbreviations (Mr., Dr., St., etc.,
    e.g., vs. ...), dotted acronyms (U.S.A. -> USA), currency ($3.50 -> 'three dollars
    and fifty cents'), percentages, ordinals (22nd), decades (1990s), times (3:30),
    years (1999 -> 'nineteen ninety-nine'), decimals, negative numbers and cardinals.
    """
    text = _clean_english(text)
    if not text:
        return text
    text = _ABBREV_RE.sub(lambda m: _expand_abbreviation(m, text), text)
    text = _VS_RE.sub("versus", text)
    text = _ACRONYM_RE.sub(lambda m: _expand_acronym(m, text), text)
    for pattern, repl in _SYMBOLS:
        text = pattern.sub(repl, text)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = text.replace("%", " percent")
    text = _SPACE_RE.sub(" ", text).strip()
    text = _SPACE_AFTER_OPEN_RE.sub("", text)
    return _SPACE_BEFORE_PUNCT_RE.sub("", text)


# --------------------------------------------------------------------------- Chinese

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千")
_ZH_BIG = ("", "万", "亿", "万亿")


def _zh_below_10000(n: int) -> str:
    out = []
    zero = False
    for pos in (3, 2, 1, 0):
        d = (n // 10 ** pos) % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_ZH_DIGITS[d] + _ZH_UNITS[pos])
    return "".join(out)


def number_to_chinese(n: int) -> str:
    """Chinese cardinal reading: 10 -> 十, 105 -> 一百零五, 20240 -> 二万零二百四十."""
    if n < 0:
        return "负" + number_to_chinese(-n)
    if n == 0:
        return "零"
    if n >= 10 ** 16:
        return "".join(_ZH_DIGITS[int(d)] for d in str(n))
    groups = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out = []
    need_zero = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out.append("零")
        out.append(_zh_below_10000(g) + _ZH_BIG[idx])
        need_zero = False
    text = "".join(out)
    if text.startswith("一十"):
        text = text[1:]
    return text


def _zh_digits(digits: str) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in digits)


def _zh_int(digits: str) -> str:
    digits = digits.replace(",", "")
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 16:
        return _zh_digits(digits)
    return number_to_chinese(int(digits))


def _zh_decimal(integer: str, fraction: str | None) -> str:
    return _zh_int(integer) + ("点" + _zh_digits(fraction) if fraction else "")


_ZH_WIDE_ALNUM = str.maketrans(
    {chr(0xFF10 + i): str(i) for i in range(10)}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
    | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
    | {"\u3000": " ", "．": "."}
)
_ZH_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?<![0-9A-Za-z.])-?" + _NUM + r"(?:\.(\d+))?\s?[%％]"),
     lambda m: ("负" if m.group(0).startswith("-") else "") + "百分之"
     + _zh_decimal(m.group(1), m.group(2))),
    (re.compile(r"(?<!\d)(\d{2,4})(?=年)"), lambda m: _zh_digits(m.group(1))),
    (re.compile(r"(?<![0-9A-Za-z.])(-?)" + _NUM + r"(?:\.(\d+))?(?![\d])"),
     lambda m: ("负" if m.group(1) else "") + _zh_decimal(m.group(2), m.group(3))),
]


def normalize_chinese(text: str) -> str:
    """Normalize Chinese text: full-width letters/digits to ASCII, numbers to Chinese
    characters (years digit by digit, percentages, decimals). CJK punctuation is kept
    for the sentence splitter."""
    text = clean_text(text.translate(_ZH_WIDE_ALNUM))
    for pattern, repl in _ZH_RULES:
        text = pattern.sub(repl, text)
    return text


def normalize_text(text: str, language: str | None) -> str:
    """Language-dispatching normalization (English, Chinese, or generic clean-up)."""
    if is_chinese(language):
        return normalize_chinese(text)
    if is_english(language):
        return normalize_english(text)
    return clean_text(text)
