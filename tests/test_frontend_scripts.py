"""Frontend: text in scripts a voice cannot speak, and invalid text (lone surrogates,
private-use code points), is dropped with one warning per call, or refused with an
InvalidInputError naming the script when nothing speakable is left."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections import Counter

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend import Frontend, default_symbols, register_g2p
from ttsengine.frontend.symbols import char_script

needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("phonemizer") is None
    or importlib.util.find_spec("espeakng_loader") is None,
    reason="phonemizer / espeakng-loader not installed")


def _frontend(kind: str, language: str, **kw) -> Frontend:
    return Frontend.from_config({"kind": kind, "language": language,
                                 "symbols": default_symbols(kind, language), **kw})


@pytest.fixture(scope="module")
def english():
    if importlib.util.find_spec("phonemizer") is None:
        pytest.skip("phonemizer not installed")
    return _frontend("phonemes", "en-us")


@pytest.fixture(scope="module")
def pinyin():
    pytest.importorskip("pypinyin")
    return _frontend("pinyin", "zh")


@pytest.fixture(scope="module")
def chars():
    return _frontend("chars", "en")


def _texts(fe: Frontend, text: str) -> list[str]:
    return [s.text for s in fe.segments(text)]


def _drop_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "ttsengine" and "cannot speak" in r.getMessage()]


# ----------------------------------------------------------------------------- char_script

@pytest.mark.parametrize("ch, script", [
    ("a", "Latin"), ("é", "Latin"), ("Ñ", "Latin"), ("ｈ", "Latin"), ("ﬁ", "Latin"),
    ("你", "Han"), ("〇", "Han"), ("々", "Han"), ("\U00020000", "Han"),
    ("ア", "Katakana"), ("ｱ", "Katakana"), ("ー", "Katakana"), ("あ", "Hiragana"),
    ("한", "Hangul"), ("Ж", "Cyrillic"), ("α", "Greek"), ("ש", "Hebrew"), ("ب", "Arabic"),
    ("क", "Devanagari"), ("ि", "Devanagari"), ("ก", "Thai"), ("ა", "Georgian"),
    ("𐌰", "Gothic"),  # outside the table: named from its Unicode name
    # Common: punctuation, spaces, symbols, every decimal digit
    (",", "Common"), ("。", "Common"), ("،", "Common"), (" ", "Common"), ("😀", "Common"),
    ("©", "Common"), ("½", "Common"), ("7", "Common"), ("٣", "Common"), ("४", "Common"),
    ("µ", "Common"), ("ˈ", "Common"), ("𝐀", "Common"),
    ("\u0301", "Inherited"), ("\ufe0f", "Inherited"),
    ("\ue000", "Unknown"), ("\uffff", "Unknown"), ("\ud800", "Unknown"),
])
def test_char_script(ch, script):
    assert char_script(ch) == script


# ----------------------------------------------------------------------------- scripts

def test_speakable_scripts(chars):
    assert chars.scripts == {"Latin"}  # the letters of its symbol table
    register_g2p("test-scripts-upper", _UpperG2P, replace=True)
    assert _frontend("phonemes", "ru", g2p="test-scripts-upper").scripts == {"Cyrillic"}
    assert _frontend("phonemes", "xx", g2p="test-scripts-upper").scripts is None  # unknown
    register_g2p("test-scripts-declared", _DeclaredG2P, replace=True)
    assert _frontend("phonemes", "xx", g2p="test-scripts-declared").scripts == {"Cyrillic"}
    register_g2p("test-scripts-bad", _BadScriptsG2P, replace=True)
    with pytest.raises(ValueError, match="'scripts' must be a collection of script names"):
        _frontend("phonemes", "xx", g2p="test-scripts-bad")


class _UpperG2P:
    name = "upper"

    def __init__(self, language: str) -> None:
        self.language = language

    def phonemize(self, text: str) -> str:
        return text.lower()


class _DeclaredG2P(_UpperG2P):
    scripts = ("Cyrillic",)


class _BadScriptsG2P(_UpperG2P):
    scripts = 3


@needs_espeak
def test_espeak_scripts(english):
    assert english.scripts == {"Latin"}
    assert _frontend("phonemes", "ru").scripts == {"Cyrillic", "Latin"}  # espeak reads Latin too
    assert _frontend("phonemes", "ja").scripts == {"Han", "Hiragana", "Katakana", "Latin"}


def test_misaki_scripts():
    if importlib.util.find_spec("hibari") is None:
        pytest.skip("hibari-tts not installed")
    fe = _frontend("phonemes", "en-us", g2p="misaki")
    assert fe.scripts == {"Latin"}
    with pytest.raises(InvalidInputError, match=r"Han \(4 characters\)"):
        fe.segments("你好世界")


# ----------------------------------------------------------------------------- English voice

@needs_espeak
@pytest.mark.parametrize("text, script", [
    ("你好世界", "Han"),                # espeak would say "Chinese letter" four times
    ("你好，世界。", "Han"),
    ("Привет, мир!", "Cyrillic"),
    ("안녕하세요", "Hangul"),
    ("こんにちは", "Hiragana"),
    ("Ελληνικά", "Greek"),
    ("नमस्ते", "Devanagari"),
    ("שלום", "Hebrew"),
])
def test_nothing_speakable_names_the_script(english, caplog, text, script):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        with pytest.raises(InvalidInputError, match=rf"no speakable symbols.*{script} \(") as info:
            english.segments(text)
    assert "Latin" in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert _drop_warnings(caplog) == []  # the error says it all


@needs_espeak
def test_other_scripts_dropped_with_one_warning(english, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        segs = english.segments("Hello 你好, Привет! 안녕 there. 世界 Bye.")
    assert [s.text for s in segs] == ["Hello there.", "Bye."]
    (warning,) = _drop_warnings(caplog)
    assert "Cyrillic (6 characters)" in warning and "Han (4 characters)" in warning
    assert "Hangul (2 characters)" in warning and "Latin" in warning
    # the kept text is synthesized exactly as if it had been typed alone
    assert [s.ids for s in segs] == [s.ids for s in english.segments("Hello there. Bye.")]


@needs_espeak
def test_each_call_warns_once(english, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        english.segments("One 一. Two 二.")
        english.segments("One 一.")
    assert len(_drop_warnings(caplog)) == 2


@needs_espeak
@pytest.mark.parametrize("text", [
    "naïve café, Zoë and Ñandú",          # Latin with diacritics
    "the β coefficient; α, β and γ",       # a lone Greek letter reads as a symbol
    "5 µm and 3 Ω",
    "I ❤ it 😀 © 2024, 50% ½",             # symbols, emoji, digits
    "hi ｈｅｌｌｏ",                        # full-width Latin
])
def test_speakable_text_is_kept(english, caplog, text):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        segs = english.segments(text)
    assert _drop_warnings(caplog) == []
    assert " ".join(s.text for s in segs) == english.normalize_text(text)


@needs_espeak
def test_greek_words_are_dropped_but_lone_letters_kept(english, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        assert _texts(english, "αβ testing π") == ["testing π"]
    (warning,) = _drop_warnings(caplog)
    assert "Greek (2 characters)" in warning


@needs_espeak
def test_compatibility_characters_are_judged_after_normalization(english, caplog):
    # "㋐" (a Common symbol) becomes katakana "ア" under NFKC: espeak would read it
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        assert _texts(english, "a ㋐ b") == ["a b"]
    assert "Katakana (1 character)" in _drop_warnings(caplog)[0]


@needs_espeak
def test_counted_into_dropped_instead_of_warning(english, caplog):
    dropped: Counter[str] = Counter()
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        english.segments("Hi 你好.", dropped=dropped)
        english.segments("Ho Привет.", dropped=dropped)
        assert _drop_warnings(caplog) == []
        english.warn_dropped(dropped)
    assert dropped == {"Han": 2, "Cyrillic": 6}
    (warning,) = _drop_warnings(caplog)
    assert "Han" in warning and "Cyrillic" in warning


@needs_espeak
def test_long_foreign_text_is_fast(english):
    text = "Hello. " + "你好世界，" * 20000 + " Bye."  # 100k characters to drop
    start = time.perf_counter()
    segs = english.segments(text)
    elapsed = time.perf_counter() - start
    assert [s.text for s in segs] == ["Hello.", "Bye."]
    assert elapsed < 5.0, elapsed  # linear: measured ~0.25 s here (most of it normalizing)


@needs_espeak
def test_clause_punctuation_after_dropped_text_goes_with_it(english):
    assert _texts(english, "Hello 你好, world. 世界, Bye. Yes 你好! Ok") == [
        "Hello world.", "Bye.", "Yes !", "Ok"]


# ----------------------------------------------------------------------------- other kinds

def test_pinyin_drops_latin(pinyin, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        segs = pinyin.segments("我用iPhone打电话，OK吗？")
    assert [s.text for s in segs] == ["我用打电话，吗？"]  # no space put into Chinese text
    (warning,) = _drop_warnings(caplog)
    assert "Latin (8 characters)" in warning and "Han" in warning
    assert not [r for r in caplog.records if "dropping symbol" in r.getMessage()]
    with pytest.raises(InvalidInputError, match=r"Latin \(5 characters\)"):
        pinyin.segments("hello")  # ASCII: not spelled as initials h, l, l


def test_chars_voice_drops_other_scripts(chars, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        assert _texts(chars, "Ελληνικά abc Ñandú") == ["abc Ñandú"]
    (warning,) = _drop_warnings(caplog)
    assert "Greek (8 characters)" in warning


def test_unknown_language_drops_only_invalid_text(caplog):
    register_g2p("test-scripts-upper", _UpperG2P, replace=True)
    fe = _frontend("phonemes", "xx", g2p="test-scripts-upper")
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        (seg,) = fe.segments("abc дом \ue000 d")
    assert seg.text == "abc дом d"  # no script filter: the G2P decides
    (warning,) = _drop_warnings(caplog)
    assert "private-use or unassigned code points (1 character)" in warning


# ----------------------------------------------------------------------------- invalid text

def test_lone_surrogates_are_dropped_with_a_warning(chars, caplog):
    text = json.loads('"hi \\ud800 there \\udc00"')  # json.loads makes lone surrogates
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        assert _texts(chars, text) == ["hi there"]
    (warning,) = _drop_warnings(caplog)
    assert "lone UTF-16 surrogates (2 characters)" in warning


@needs_espeak
def test_surrogates_never_reach_the_g2p(english, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        (seg,) = english.segments("hi \ud800")  # was a raw UnicodeEncodeError in phonemizer
    assert seg.ids == english.segments("hi")[0].ids
    assert len(_drop_warnings(caplog)) == 1


def test_surrogate_pair_is_joined(caplog):
    # a pair spelled as two code points is one character (U+1D400 bold A), not invalid text
    raw = _frontend("chars", "en", normalize=False)
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        (seg,) = raw.segments("ok \ud835\udc00")
    assert seg.text == "ok \U0001D400"
    assert _drop_warnings(caplog) == []


@pytest.mark.parametrize("text", ["\ud800", "\udfff \ud800", " \ue000 "])
def test_only_invalid_text_is_refused(chars, text):
    with pytest.raises(InvalidInputError, match="no speakable symbols.*dropped"):
        chars.segments(text)


def test_private_use_dropped(chars, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        assert _texts(chars, "a \ue000\U000F0000 b") == ["a b"]
    assert "private-use or unassigned code points (2 characters)" in _drop_warnings(caplog)[0]
