"""English / Chinese text normalization."""

from __future__ import annotations

import random
import time

import pytest

from ttsengine.frontend.normalize import (
    clean_text,
    normalize_chinese,
    normalize_english,
    number_to_chinese,
    number_to_words,
    ordinal_to_words,
    year_to_words,
)

ENGLISH_CASES = [
    # numbers
    ("I have 3 cats.", "I have three cats."),
    ("It weighs 1,000,000 tons.", "It weighs one million tons."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("Bond, 007.", "Bond, zero zero seven."),
    ("It fell to -5 today.", "It fell to minus five today."),
    # years and decades
    ("In 1999 we met.", "In nineteen ninety-nine we met."),
    ("In 2005 and 2024.", "In two thousand five and twenty twenty-four."),
    ("In 1900 and 1905.", "In nineteen hundred and nineteen oh five."),
    ("In 2000.", "In two thousand."),
    ("The 1990s and the 80s.", "The nineteen nineties and the eighties."),
    # currency
    ("Dr. Smith paid $3.50.", "doctor Smith paid three dollars and fifty cents."),
    ("It costs $1.", "It costs one dollar."),
    ("Only $0.99!", "Only ninety-nine cents!"),
    ("A $3.5 million deal.", "A three point five million dollars deal."),
    ("£5 and €3.20 and ¥500.", "five pounds and three euros and twenty cents and five hundred yen."),
    ("It is 3,50 €.", "It is three euros and fifty cents."),
    # ordinals, percentages, times
    ("The 1st, 2nd, 3rd, 22nd and 111th.", "The first, second, third, twenty-second and one hundred eleventh."),
    ("Up 50% or 3.5%.", "Up fifty percent or three point five percent."),
    ("At 3:30, 10:05 and 12:00.", "At three thirty, ten oh five and twelve o'clock."),
    ("Meet at 5 p.m. Then go.", "Meet at five PM. Then go."),
    ("Meet at 5pm today.", "Meet at five PM today."),
    # abbreviations
    ("Mr. and Mrs. Jones met Prof. Lee.", "mister and misses Jones met professor Lee."),
    ("I visited St. Louis.", "I visited Saint Louis."),
    ("He lives on Main St. The end.", "He lives on Main street. The end."),
    ("Apples, pears, etc. are fruit.", "Apples, pears, et cetera are fruit."),
    ("We had apples, etc. Then we left.", "We had apples, et cetera. Then we left."),
    ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
    ("Cats vs. dogs.", "Cats versus dogs."),
    ("See No. 5.", "See number five."),
    ("The U.S.A. is big.", "The USA is big."),
    ("Acme Inc. makes things.", "Acme incorporated makes things."),
    # symbols and units
    ("Salt & pepper.", "Salt and pepper."),
    ("It was 30°C.", "It was thirty degrees Celsius."),
    ("Call 555-1234.", "Call five five five, one two three four."),
    # full-width punctuation / typography
    ("Hello，world！How are you？Fine：yes；ok。", "Hello, world! How are you? Fine: yes; ok."),
    ("（aside）and “quotes” ‘single’", "(aside) and \"quotes\" 'single'"),
    ("Wait… what", "Wait... what"),
    ("ＡＢＣ １２", "ABC twelve"),
    ("  lots   of\n\tspace  ", "lots of space"),
]


@pytest.mark.parametrize("text, expected", ENGLISH_CASES)
def test_normalize_english(text, expected):
    assert normalize_english(text) == expected


@pytest.mark.parametrize("text, _", ENGLISH_CASES)
def test_normalize_english_is_idempotent(text, _):
    # the synthesizer may feed a segment's (normalized) text back in
    once = normalize_english(text)
    assert normalize_english(once) == once


def test_number_words_match_inflect():
    """Our converter vs inflect (andword='', comma=''): 0..2099 and 200 random numbers per
    magnitude up to 10**18; measured: 0 mismatches out of 5300 cardinals + ordinals."""
    inflect = pytest.importorskip("inflect")
    engine = inflect.engine()
    rng = random.Random(0)
    numbers = list(range(2100)) + [rng.randrange(10 ** k) for k in range(3, 19) for _ in range(200)]
    bad = [n for n in numbers
           if number_to_words(n) != engine.number_to_words(n, andword="", comma="")]
    assert not bad, [(n, number_to_words(n)) for n in bad[:5]]
    bad = [n for n in numbers if ordinal_to_words(n)
           != engine.number_to_words(engine.ordinal(n), andword="", comma="")]
    assert not bad, [(n, ordinal_to_words(n)) for n in bad[:5]]


@pytest.mark.parametrize("year, words", [
    (1999, "nineteen ninety-nine"), (1066, "ten sixty-six"), (1900, "nineteen hundred"),
    (1905, "nineteen oh five"), (2000, "two thousand"), (2009, "two thousand nine"),
    (2010, "twenty ten"), (2024, "twenty twenty-four"), (1776, "seventeen seventy-six"),
])
def test_year_words(year, words):
    assert year_to_words(year) == words


def test_huge_numbers_read_digit_by_digit():
    out = normalize_english("x " + "12" * 20 + " y")
    assert out == "x " + " ".join(["one two"] * 20) + " y"
    out = normalize_english("1" * 5000)  # above Python's int-from-str limit: must not raise
    assert out.count("one") == 5000


@pytest.mark.parametrize("n, zh", [
    (0, "零"), (10, "十"), (15, "十五"), (20, "二十"), (105, "一百零五"), (1010, "一千零一十"),
    (10001, "一万零一"), (100000, "十万"), (123456789, "一亿二千三百四十五万六千七百八十九"),
    (100000000, "一亿"), (-3, "负三"),
])
def test_number_to_chinese(n, zh):
    assert number_to_chinese(n) == zh


def test_normalize_chinese():
    text = "今天是2024年，温度-3.5度，增长了50%，共有10010人，第1名，１２３个。"
    assert normalize_chinese(text) == (
        "今天是二零二四年，温度负三点五度，增长了百分之五十，共有一万零一十人，第一名，一百二十三个。")


def test_clean_text():
    assert clean_text("a\u200bb\x00c  \n d") == "a b c d"
    assert clean_text("cafe\u0301") == "café"  # NFC


def test_normalization_is_linear():
    """Doubling ×8 the text must cost ~×8, not ×64 (measured ratio ~8-9)."""
    unit = ("Dr. Smith paid $3.50 on Jan. 5, 1999 at 5 p.m. (approx. 3.5% more), i.e. "
            "the 22nd time, etc. The U.S. team won 1,000,000 points! ")
    small, big = unit * 40, unit * 320
    normalize_english(small)
    t0 = time.perf_counter()
    normalize_english(small)
    t1 = time.perf_counter()
    normalize_english(big)
    t2 = time.perf_counter()
    assert (t2 - t1) < 30 * (t1 - t0) + 0.05, (t1 - t0, t2 - t1)
    for bad in ("1" * 40000, "a." * 20000, "!" * 40000, "U.S." * 10000, "5" * 20000 + "x%"):
        t = time.perf_counter()
        normalize_english(bad)
        assert time.perf_counter() - t < 1.0, bad[:10]
