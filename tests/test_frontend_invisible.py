"""Invisible characters and combining marks (#23): a default-ignorable or format character
inside a word never splits it, zalgo text reads as its letters, and text of only combining
marks has nothing to speak."""

from __future__ import annotations

import random
import sys
import unicodedata

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend import Frontend
from ttsengine.frontend.normalize import clean_text, normalize_chinese, normalize_english, normalize_text
from ttsengine.voice import load_voice

# Visible format characters (they print a sign), not invisible ones.
_VISIBLE_FORMAT = {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD,
                   *range(0x13430, 0x13440)}
INVISIBLE = sorted(
    {chr(c) for c in range(sys.maxunicode + 1)
     if unicodedata.category(chr(c)) == "Cf" and c not in _VISIBLE_FORMAT}
    | set("\x00\x01\x07\x08\x0e\x1b\x7f\x80\x9f\u00ad\u034f\u115f\u17b4\u180b\u180f\u3164\ufe00\ufe0f"
          "\uffa0\ufff0\U000e0100\U000e01ef"))
NAMED = ["\u200d", "\u200c", "\u2060", "\u00ad", "\ufeff", "\x00", "\u200b", "\u034f", "\ufe0f", "\u2061",
         "\u202e", "\u2066", "\u180e"]


def _zalgo(text: str, per_letter: tuple[int, int], seed: int = 0) -> str:
    rng = random.Random(seed)
    marks = [chr(c) for c in range(0x0300, 0x0370)]
    return "".join(ch + ("".join(rng.choice(marks) for _ in range(rng.randint(*per_letter))) if ch.isalpha() else "")
                   for ch in text)


@pytest.fixture(scope="module")
def frontends():
    """The default voice's frontend (misaki) and the same symbols with espeak."""
    config = dict(load_voice("default").frontend)
    return [Frontend.from_config(config), Frontend.from_config({**config, "g2p": "espeak"})]


def _ids(frontend: Frontend, text: str) -> list[list[int]]:
    return [segment.ids for segment in frontend.segments(text)]


def test_every_invisible_character_inside_a_word_is_deleted():
    assert len(INVISIBLE) > 150
    for ch in INVISIBLE:
        assert normalize_english(f"hel{ch}lo world") == "hello world", f"U+{ord(ch):04X}"
        assert normalize_text(f"hel{ch}lo", "fr") == "hello", f"U+{ord(ch):04X}"
        assert normalize_chinese(f"你{ch}好") == "你好", f"U+{ord(ch):04X}"
        assert clean_text(f"hel{ch}lo") == "hello", f"U+{ord(ch):04X}"


def test_invisible_characters_from_markup_entities():
    assert normalize_english("hel&shy;lo w&#8205;or&zwj;ld &#xFEFF;x") == "hello world x"


def test_whitespace_controls_still_separate_words():
    for ch in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029":
        assert normalize_english(f"one{ch}two") == "one two", f"U+{ord(ch):04X}"


def test_invisible_characters_read_as_the_whole_word(frontends):
    for frontend in frontends:
        expected = _ids(frontend, "Say hello, dichotomy!")
        for ch in NAMED:
            text = f"Say hel{ch}lo, di{ch}cho{ch}{ch}tomy!"
            assert _ids(frontend, text) == expected, (frontend, f"U+{ord(ch):04X}")


@pytest.mark.parametrize("per_letter", [(1, 1), (1, 3), (3, 8), (10, 30)])
def test_zalgo_text_reads_as_its_letters(frontends, per_letter):
    plain = "Hello world, this is zalgo text."
    zalgo = _zalgo(plain, per_letter, seed=sum(per_letter))
    assert normalize_english(zalgo) == normalize_english(plain)
    for frontend in frontends:
        assert _ids(frontend, zalgo) == _ids(frontend, plain), frontend
    strike = "".join(ch + "\u0336" if ch.isalpha() else ch for ch in plain)  # s̶t̶r̶u̶c̶k̶ text
    assert normalize_english(strike) == normalize_english(plain)
    if per_letter[0] > 3:  # other languages: stacks of more than 3 marks are zalgo
        assert normalize_text(zalgo, "fr") == clean_text(plain)
        assert normalize_text(strike, "de") == clean_text(plain)


def test_real_diacritics_are_kept():
    assert normalize_english("résumé, Nguye\u0302\u0303n, nai\u0308ve, café") == "résumé, Nguyễn, naïve, café"
    stressed = "ру\u0301сский"  # Russian stress mark: no precomposed letter
    assert normalize_text(stressed, "ru") == stressed
    hebrew = "שָׁלוֹם"
    assert normalize_text(hebrew, "he") == unicodedata.normalize("NFC", hebrew)
    assert normalize_text("नमस्ते", "hi") == "नमस्ते"
    assert normalize_chinese("lǜ sè 绿色") == "lǜ sè 绿色"


@pytest.mark.parametrize("text", ["\u0301", "\u0301\u0302\u0303" * 20, " \u0300 \u0301\u0327 ", "\u064b\u0652",
                                  "\u0903\u093e", "\u20dd\u0488", "\u200d\u0301\ufeff"])
def test_text_of_only_combining_marks_is_invalid_input(frontends, tiny_synth, text):
    for frontend in frontends:
        with pytest.raises(InvalidInputError, match="no speakable"):
            frontend.segments(text)
    raw = Frontend.from_config({**dict(load_voice("default").frontend), "normalize": False})
    with pytest.raises(InvalidInputError, match="no speakable"):
        raw.segments(text)
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize(text)
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_stream(text)
