"""English number words: cardinals (to 10^18 - 1), ordinals, years, digit by digit."""

from __future__ import annotations

__all__ = ["number_to_words", "ordinal_to_words", "year_to_words", "digits_to_words"]


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
