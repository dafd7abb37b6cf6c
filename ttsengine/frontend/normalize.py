"""Text normalization: English (numbers, dates, times, fractions, units, currency, phone
numbers, abbreviations ...), Chinese (in :mod:`.normalize_zh`), and the clean-up shared by every language
(Unicode / punctuation, SSML / HTML-like tags and emoji removed: see ``markup``).

Every function here is a sequence of regex passes over the text, so normalization is
linear in the length of the text. Number words are produced by a small built-in
converter (cross-checked against ``inflect`` in the tests): importing ``inflect`` costs
~1.6 s, far more than the whole frontend otherwise needs for a paragraph.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .markup import clean_text, collapse_punctuation, drop_invisible, drop_stray_marks, drop_unspoken_symbols, strip_markup

from .normalize_more import expand_more, strip_markdown_latex
from .number_words import _ONES, _two_digits, number_to_words, _ordinalize_word, ordinal_to_words, year_to_words, digits_to_words
from .language import is_chinese, is_english
from .normalize_zh import normalize_chinese, number_to_chinese
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

# Which language a code names is decided in .language (is_english / is_chinese are re-exported
# here for the callers that import them from this module).


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
_SPACE_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +(?=[,.!?;:)](?:\s|$))")
_SPACE_AFTER_OPEN_RE = re.compile(r"(?<=\() +")
_SPACED_DASH_RE = re.compile(r"(?<=\s)-{1,3}(?=\s)|(?<=\w)--+(?=\w)")


# Characters that NFKC would turn into plain digits / letters glued to their neighbours
# ("x²" -> "x2", "H₂O" -> "H2O", "2½" -> "21⁄2", "Acme™" -> "AcmeTM"): handled before it.
_VULGAR_FRACTION_RE = re.compile(r"(?:(\d) ?)?([½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒↉])")
_SUPERSCRIPT_RE = re.compile(r"[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPERSCRIPT_TABLE = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUBSCRIPT_RE = re.compile(r"[₀₁₂₃₄₅₆₇₈₉]+")
_SUBSCRIPT_TABLE = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TRAILING_LETTERS_RE = re.compile(r"[A-Za-zµμ]+$")


def _vulgar_fraction(m: re.Match[str]) -> str:
    fraction = unicodedata.normalize("NFKC", m.group(2)).replace("\u2044", "/")
    return f"{m.group(1)} {fraction}" if m.group(1) else fraction


def _superscript(m: re.Match[str]) -> str:
    """A power ("x²", "m³", "10⁻³", "(a+b)²" -> "^2" ...) after a digit, a bracket, a
    one- or two-letter symbol or a length unit; a footnote mark ("word¹") otherwise,
    which is dropped."""
    before = m.string[max(0, m.start() - 16):m.start()]
    word = _TRAILING_LETTERS_RE.search(before)
    if (before[-1:].isdigit() or before[-1:] in (")", "]")
            or word and (len(word.group()) <= 2
                         or word.group().replace("µ", "μ") in _LENGTH_UNITS)):
        return "^" + m.group().translate(_SUPERSCRIPT_TABLE)
    return ""


def _pre_nfkc_english(text: str) -> str:
    text = text.replace("™", "").replace("℠", "")
    text = _VULGAR_FRACTION_RE.sub(_vulgar_fraction, text)
    text = _SUPERSCRIPT_RE.sub(_superscript, text)
    return _SUBSCRIPT_RE.sub(lambda m: " " + m.group().translate(_SUBSCRIPT_TABLE) + " ", text)


def _clean_english(text: str) -> str:
    text = drop_invisible(strip_markup(text))  # after the markup: "&shy;" is one too
    text = text.translate(_WIDE_TABLE)
    text = _pre_nfkc_english(text)
    text = unicodedata.normalize("NFKC", text)  # full-width letters/digits, ligatures ...
    text = drop_stray_marks(text, generic=True)  # zalgo reads as its letters
    text = drop_unspoken_symbols(text)
    text = collapse_punctuation(text.translate(_QUOTE_TABLE))  # "Wow!!!!!!" -> "Wow!"
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
_CENTS_RE = re.compile(r"(?<![\d.,])(\d{1,2})\s?¢")
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


# --------------------------------------------------------------------------- units

# Unit symbol (case-sensitive) -> (singular, plural); the number before it is left for the
# number rules. "in" only as "5 in."; "m" and "s" only after a space ("5m" is as often five
# million); "W" and "V" only glued to the number ("100W", "12V": "100 W Main St." is west).
_UNITS: dict[str, tuple[str, str]] = {
    "mm": ("millimeter", "millimeters"), "cm": ("centimeter", "centimeters"),
    "m": ("meter", "meters"), "km": ("kilometer", "kilometers"),
    "μm": ("micrometer", "micrometers"), "nm": ("nanometer", "nanometers"),
    "in": ("inch", "inches"), "ft": ("foot", "feet"), "yd": ("yard", "yards"),
    "mi": ("mile", "miles"),
    "mg": ("milligram", "milligrams"), "g": ("gram", "grams"), "kg": ("kilogram", "kilograms"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"), "gal": ("gallon", "gallons"),
    "ns": ("nanosecond", "nanoseconds"), "μs": ("microsecond", "microseconds"),
    "ms": ("millisecond", "milliseconds"), "s": ("second", "seconds"),
    "sec": ("second", "seconds"), "secs": ("second", "seconds"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"), "PB": ("petabyte", "petabytes"),
    "kbps": ("kilobit per second", "kilobits per second"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "MW": ("megawatt", "megawatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"), "mAh": ("milliamp hour", "milliamp hours"),
    "V": ("volt", "volts"), "dB": ("decibel", "decibels"), "kcal": ("kilocalorie", "kilocalories"),
    "rpm": ("revolution per minute", "revolutions per minute"),
}
_LENGTH_UNITS = frozenset(("mm", "cm", "m", "km", "μm", "nm", "in", "ft", "yd", "mi"))
_PER_UNITS = {"s": "second", "sec": "second", "h": "hour", "hr": "hour", "min": "minute"}
_NEEDS_SPACE = frozenset(("m", "s", "in"))
_NEEDS_NO_SPACE = frozenset(("W", "V"))


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_UNIT_RE = re.compile(
    r"(?<![\w.,$£€¥₹])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s?)(sq\.? ?)?"
    r"(" + _alternation(u for u in _UNITS if u != "in") + r"|in(?=\.))"
    r"(?:\^([23])|([23]))?(?:/(" + _alternation(_PER_UNITS) + r")(\^2)?)?"
    r"(\.)?(?![\w/])")


def _unit(m: re.Match[str]) -> str:
    integer, fraction, space, square, unit, power, digit_power, per, per_squared, period = (
        m.groups())
    power = power or digit_power
    if (unit in (_NEEDS_NO_SPACE if space else _NEEDS_SPACE)
            or (square or power) and unit not in _LENGTH_UNITS):
        return m.group(0)
    one, many = _UNITS[unit]
    words = one if integer == "1" and not fraction else many
    if square or power == "2":
        words = "square " + words
    elif power == "3":
        words = "cubic " + words
    if per:
        words += " per " + _PER_UNITS[per] + (" squared" if per_squared else "")
    if period and _ends_sentence(m.string, m.end()):  # "5 ft." also ends the sentence
        words += "."
    return f"{integer}{fraction or ''} {words}"


# --------------------------------------------------------------------------- powers, phones

_SCIENTIFIC_RE = re.compile(r"(?<![\w.#])(\d+(?:\.\d+)?)[eE]([-+]?)(\d{1,3})(?![\w]|\.\d)")
_CARET_RE = re.compile(r"(?<=[\w)\]]) ?\^ ?([-+]?)(\d{1,3})(?![\d])")
_INTL_PHONE_RE = re.compile(
    r"(?<![\w+])\+(\d{1,3})((?:[ .-](?:\(\d{1,5}\)|\d{1,5})){2,5})(?![\w]|[.-]\d)")


def _power(sign: str, digits: str) -> str:
    """'squared', 'cubed', 'to the fourth', 'to the minus third' ..."""
    n = int(digits)
    if sign == "-":
        return "to the minus " + ordinal_to_words(n)
    if n == 2:
        return "squared"
    if n == 3:
        return "cubed"
    return "to the " + ordinal_to_words(n)


def _intl_phone(m: re.Match[str]) -> str:
    groups = re.findall(r"\d+", m.group(0))
    if not 8 <= sum(len(g) for g in groups) <= 15:
        return m.group(0)
    return "plus " + ", ".join(digits_to_words(g) for g in groups)


_EARLY_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (_INTL_PHONE_RE, _intl_phone),
    (_UNIT_RE, _unit),
    (_SCIENTIFIC_RE, lambda m: f"{m.group(1)} times ten {_power(m.group(2), m.group(3))}"),
    (_CARET_RE, lambda m: " " + _power(m.group(1), m.group(2))),
]

# --------------------------------------------------------------------------- dates, fractions

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)} | {
    abbr.capitalize(): _MONTH_NAMES.index(name) + 1 for abbr, name in _MONTHS.items()}
_MONTH = r"\b(" + _alternation(_MONTH_NUMBER) + r")\b"
_YEAR4 = r"(\d{4})(?![\w]|[.,]\d)"
_ISO_DATE_RE = re.compile(r"(?<![\w.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w-]|\.\d)")
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\w/.-])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/]|[.,]\d)")
_MONTH_DAY_RE = re.compile(
    _MONTH + r" (\d{1,2})(?:st|nd|rd|th)?(?![\w:]|[.,]\d)(?:,? " + _YEAR4 + r")?")
_DAY_MONTH_RE = re.compile(
    r"(?<![\w.,:/])(\d{1,2})(?:st|nd|rd|th)? (?:of )?" + _MONTH + r"(?:,? " + _YEAR4 + r")?")


def _year_words(digits: str) -> str:
    if len(digits) == 2:  # '24 in 1/15/24
        n = int(digits)
        return "oh " + _ONES[n] if n < 10 else _two_digits(n)
    return year_to_words(int(digits))


def _date(month: int, day: int, year: str | None, day_first: bool,
          the: bool = True) -> str | None:
    """US 'January fifteenth, twenty twenty-four' or British (``day_first``) 'the fifteenth
    of January twenty twenty-four'; None for an impossible month or day."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    name, nth = _MONTH_NAMES[month - 1], ordinal_to_words(day)
    if day_first:
        words = ("the " if the else "") + f"{nth} of {name}"
        return words + (f" {_year_words(year)}" if year else "")
    return f"{name} {nth}" + (f", {_year_words(year)}" if year else "")


def _iso_date(m: re.Match[str]) -> str:
    return _date(int(m.group(2)), int(m.group(3)), m.group(1), False) or m.group(0)


def _numeric_date(m: re.Match[str]) -> str:
    """M/D/Y (US); D/M/Y when the first number cannot be a month (15/01/2024)."""
    a, b = int(m.group(1)), int(m.group(2))
    words = _date(a, b, m.group(3), False) if a <= 12 else _date(b, a, m.group(3), True)
    return words or m.group(0)


def _day_month(m: re.Match[str]) -> str:
    the = m.string[max(0, m.start() - 4):m.start()].lower() != "the "
    words = _date(_MONTH_NUMBER[m.group(2)], int(m.group(1)), m.group(3), True, the)
    return words or m.group(0)


_FRACTION_RE = re.compile(r"(?<![\w.,/])(?:(\d{1,3}) )?(\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)")
_NUMBER_SLASH_RE = re.compile(r"(?<=\d)/(?=\d)")
_DENOMINATORS = frozenset((2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 100))


def _fraction(m: re.Match[str]) -> str:
    """1/2 -> 'one half', 3/4 -> 'three quarters', 2 1/2 -> 'two and a half'. Only proper
    fractions with a usual denominator: 24/7, 9/11 or 50/50 are read as two numbers."""
    whole, num, den = m.group(1), int(m.group(2)), int(m.group(3))
    if not 0 < num < den or den not in _DENOMINATORS:
        return m.group(0)
    if den == 2:
        one, many = "half", "halves"
    elif den == 4:
        one, many = "quarter", "quarters"
    else:
        one = ordinal_to_words(den).removeprefix("one ")  # "hundredth"
        many = one + "s"
    if num > 1:
        words = f"{number_to_words(num)} {many}"
    elif whole:
        words = ("an " if one[0] in "aeiou" else "a ") + one
    else:
        words = "one " + one
    return f"{whole} and {words}" if whole else words


# --------------------------------------------------------------------------- other rules

_AMPM_RE = re.compile(r"(\d)\s?([AaPp])(\.?)[Mm](?![\w])(\.)?")
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
_PHONE_RE = re.compile(r"(?<![\d-])(?:(1)[-. ])?(\(\d{3}\) ?|\d{3}[-.])(\d{3})[-.](\d{4})(?![\d-])"
                       r"|(?<![\d-])(\d{3})-(\d{4})(?![\d-])")
_DEGREE_RE = re.compile(r"\s?°\s?([CF])\b|\s?°")
_SYMBOLS = (
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"(?<=\w)@(?=\w)"), " at "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#(?=\s?\d)"), "number "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s+=\s+"), " equals "),
    (re.compile(r"\s*×\s*"), " times "),
    (re.compile(r"\s*÷\s*"), " divided by "),
    (re.compile(r"\s*±\s*"), " plus or minus "),
    (re.compile(r"\s*≈\s*"), " approximately "),
    (re.compile(r"\s*≠\s*"), " not equal to "),
    (re.compile(r"\s*≤\s*"), " less than or equal to "),
    (re.compile(r"\s*≥\s*"), " greater than or equal to "),
    (re.compile(r"\s+<\s+"), " less than "),
    (re.compile(r"\s+>\s+"), " greater than "),
    (re.compile(r"\s*∞\s*"), " infinity "),
    (re.compile(r"§\s*"), "section "),
    (re.compile(r"(?<!\w)~(?=\s?\d)"), "about "),
)


def _decade(m: re.Match[str]) -> str:
    n = int(m.group(1))
    words = year_to_words(n) if n >= 1000 else number_to_words(n)
    parts = words.split(" ")
    parts[-1] = _pluralize_word(parts[-1])
    return " ".join(parts)


def _phone(m: re.Match[str]) -> str:
    groups = [g.strip("()-. ") for g in m.groups() if g]
    return ", ".join(digits_to_words(g) for g in groups)


def _ampm(m: re.Match[str]) -> str:
    """'5 p.m.' -> '5 PM'; the final period stays only where it also ends the sentence."""
    words = f"{m.group(1)} {m.group(2).upper()}M"
    if m.group(4) and (not m.group(3) or _ends_sentence(m.string, m.end())):
        words += "."
    return words


def _spaced(m: re.Match[str], words: str) -> str:
    """Number words, kept apart from letters they were glued to ('H2O' -> 'H two O')."""
    text, start, end = m.string, m.start(), m.end()
    if start and text[start - 1].isalpha():
        words = " " + words
    if end < len(text) and text[end].isalpha():
        words += " "
    return words


def _time(m: re.Match[str]) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes == 0:
        if m.string.startswith((" AM", " PM"), m.end()):  # "5:00 PM" -> "five PM"
            return number_to_words(hours)
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
        (_ISO_DATE_RE, _iso_date),
        (_NUMERIC_DATE_RE, _numeric_date),
        (_MONTH_DAY_RE, lambda m: _date(_MONTH_NUMBER[m.group(1)], int(m.group(2)), m.group(3),
                                        False) or m.group(0)),
        (_DAY_MONTH_RE, _day_month),
        (_FRACTION_RE, _fraction),
        (_NUMBER_SLASH_RE, " "),
        (_DEGREE_RE, _degree),
        (_AMPM_RE, _ampm),
        (_MINUS_RE, "minus "),
        (_CURRENCY_PREFIX_RE, lambda m: _money(m.group(1), m.group(2), m.group(3), m.group(4))),
        (_CURRENCY_SUFFIX_RE, lambda m: _money(m.group(3), m.group(1), m.group(2), None)),
        (_CENTS_RE, lambda m: m.group(1) + (" cent" if m.group(1) == "1" else " cents")),
        (_PERCENT_RE, lambda m: _decimal_to_words(m.group(1), m.group(2)) + " percent"),
        (_ORDINAL_RE, lambda m: _ordinal_digits(m.group(1))),
        (_DECADE_RE, _decade),
        (_TIME_RE, _time),
        (_DECIMAL_RE, lambda m: _spaced(m, _decimal_to_words(m.group(1), m.group(2)))),
        (_LEADING_POINT_RE, lambda m: "point " + digits_to_words(m.group(1))),
        (_GROUPED_RE, lambda m: _int_to_words(m.group(1))),
        (_YEAR_RE, lambda m: _spaced(m, year_to_words(int(m.group(1))))),
        (_INT_RE, lambda m: _spaced(m, _int_to_words(m.group(0)))),
    ]


_RULES = _english_rules()


def normalize_english(text: str) -> str:
    """Normalize English text for synthesis.

    SSML / HTML-like tags and emoji removed, full-width / typographic punctuation to
    ASCII, abbreviations (Mr., Dr., St., etc., e.g., vs. ...), dotted acronyms (U.S.A. ->
    USA), phone numbers (digit by digit, in groups), units (5 ft. -> 'five feet', 3 m² ->
    'three square meters'), powers and scientific notation (x² -> 'x squared', 1e10 ->
    'one times ten to the tenth'), dates (2024-01-15, 1/15/2024, Jan. 15, 2024,
    15 January 2024), fractions (1/2, ¾, 2 1/2), currency ($3.50 -> 'three dollars and
    fifty cents'), percentages, ordinals (22nd), decades (1990s), times (3:30, 3:30 p.m.),
    years (1999 -> 'nineteen ninety-nine'), decimals, negative numbers and cardinals
    (kept apart from letters: H₂O -> 'H two O').
    """
    text = _clean_english(strip_markdown_latex(text))
    if not text:
        return text
    text = expand_more(text)  # versions, IP addresses, long digit groupings, E.164, x/0, "lead"
    text = _ABBREV_RE.sub(lambda m: _expand_abbreviation(m, text), text)
    text = _VS_RE.sub("versus", text)
    text = _ACRONYM_RE.sub(lambda m: _expand_acronym(m, text), text)
    for pattern, repl in _EARLY_RULES:  # before '+' and '-' become words
        text = pattern.sub(repl, text)
    for pattern, repl in _SYMBOLS:
        text = pattern.sub(repl, text)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = text.replace("%", " percent")
    text = _SPACE_RE.sub(" ", text).strip()
    text = _SPACE_AFTER_OPEN_RE.sub("", text)
    return _SPACE_BEFORE_PUNCT_RE.sub("", text)


def normalize_text(text: str, language: str | None) -> str:
    """Language-dispatching normalization (English, Chinese, or generic clean-up: tags and
    emoji removed, Unicode and whitespace cleaned)."""
    if is_chinese(language):
        return normalize_chinese(text)
    if is_english(language):
        return normalize_english(text)
    return clean_text(drop_unspoken_symbols(drop_invisible(strip_markup(text))))
