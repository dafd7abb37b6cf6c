"""#23 class 8: readings of markdown, LaTeX, versions, IP addresses, long digit groupings,
E.164 numbers, x/0 and "lead" the metal."""

from __future__ import annotations

import pytest

from ttsengine.frontend.normalize import normalize_english


@pytest.mark.parametrize("text, expected", [
    ("3/0 is undefined.", "three over zero is undefined."),
    ("Install v2.0.1 now.", "Install version two point zero point one now."),
    ("Release 10.15.7 is out.", "Release ten point fifteen point seven is out."),
    ("Ping 192.168.0.1 today.", "Ping one hundred ninety-two dot one hundred sixty-eight dot zero dot one today."),
    ("It costs 1,000,000,000,000,000,000,000 dollars.", "It costs one sextillion dollars."),
    ("1,234,567,890,123,456,789,012", "one sextillion two hundred thirty-four quintillion five hundred sixty-seven "
     "quadrillion eight hundred ninety trillion one hundred twenty-three billion four hundred fifty-six million "
     "seven hundred eighty-nine thousand twelve"),
    ("Pay 1 000 000 now.", "Pay one million now."),
    ("Call +14155552671.", "Call plus one four one five five five five two six seven one."),
    ("This is **bold**, _it_, ~~gone~~ and [a link](http://x.com) with `code`.",
     "This is bold, it, gone and a link with code."),
    ("![a cat](cat.png)", "a cat"),
    ("The formula $E = mc^2$ holds.", "The formula E equals mc squared holds."),
    ("So \\frac{a}{b} and \\sqrt{x} and \\alpha.", "So a over b and the square root of x and alpha."),
    ("Lead is a heavy metal.", "Led is a heavy metal."),
    ("Old pipes are made of lead.", "Old pipes are made of led."),
    # unchanged
    ("They lead the way.", "They lead the way."),
    ("It costs $5 and $10.", "It costs five dollars and ten dollars."),
    ("+1 555 123 4567", "plus one, five five five, one two three, four five six seven"),
    ("555.123.4567", "five five five, one two three, four five six seven"),
    ("my_var_name", "my_var_name"),
])
def test_readings(text, expected):
    assert normalize_english(text) == expected


def test_heading_and_bullets_lose_their_marks():
    out = normalize_english("# Title\n- item one\n* item two\n> quoted")
    assert "#" not in out and "*" not in out and ">" not in out and "-" not in out
    assert all(word in out for word in ("Title", "item one", "item two", "quoted"))


def test_longer_than_decillion_reads_group_by_group():
    out = normalize_english("1" + ",000" * 12)
    assert out.startswith("one, zero zero zero") and "illion" not in out
