"""Frontend: config validation, segments, ids, pauses, unknown symbols, errors, pinyin."""

from __future__ import annotations

import importlib.util
import logging
import time

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend import Frontend, Segment, default_symbols

needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("phonemizer") is None
    or importlib.util.find_spec("espeakng_loader") is None,
    reason="phonemizer / espeakng-loader not installed")
needs_pypinyin = pytest.mark.skipif(importlib.util.find_spec("pypinyin") is None,
                                    reason="pypinyin not installed")


def _cfg(kind: str = "chars", **kw) -> dict:
    lang = {"phonemes": "en-us", "pinyin": "zh", "chars": "en"}.get(kind, "en")
    cfg = {"kind": kind, "language": lang, "symbols": default_symbols(kind, lang)
           if kind in ("phonemes", "pinyin", "chars") else ["_", "a"]}
    cfg.update(kw)
    return cfg


def _decode(fe: Frontend, seg: Segment, sep: str = "") -> str:
    return sep.join(fe.symbols[i] for i in seg.ids)


@pytest.fixture(scope="module")
def chars():
    return Frontend.from_config(_cfg("chars"))


@pytest.fixture(scope="module")
def phonemes():
    if importlib.util.find_spec("phonemizer") is None:
        pytest.skip("phonemizer not installed")
    return Frontend.from_config(_cfg("phonemes"))


@pytest.fixture(scope="module")
def pinyin():
    if importlib.util.find_spec("pypinyin") is None:
        pytest.skip("pypinyin not installed")
    return Frontend.from_config(_cfg("pinyin"))


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("cfg, match", [
    (_cfg("hieroglyphs"), "unknown frontend kind"),
    ({"kind": "chars"}, "no 'symbols'"),
    ({"symbols": ["_", "a"]}, "no 'kind'"),
    (_cfg(symbols=["a", "_"]), "pad"),
    (_cfg(symbols=["_", "a", "a"]), "duplicates"),
    (_cfg(symbols=["_", "ab"]), "one character"),
    (_cfg(symbols=["_", ",", " "]), "speakable"),
    (_cfg(symbols="_abc"), "list of strings"),
    (_cfg(max_segment_chars=0), "max_segment_chars"),
    (_cfg(normalize="yes"), "normalize"),
    (_cfg(colour="blue"), "unknown frontend config keys"),
    (_cfg("pinyin", language="en-us"), "Chinese"),
    (_cfg("phonemes", g2p="no-such-g2p"), "unknown G2P"),
    (["not", "a", "dict"], "mapping"),
])
def test_bad_config(cfg, match):
    with pytest.raises(ValueError, match=match):
        Frontend.from_config(cfg)


def test_config_round_trip(chars):
    assert chars.symbols == tuple(default_symbols("chars"))
    assert isinstance(chars.symbols, tuple)
    cfg = chars.to_config()
    assert cfg["kind"] == "chars" and cfg["max_segment_chars"] == 200 and cfg["normalize"] is True
    again = Frontend.from_config(cfg)
    assert again.symbols == chars.symbols and again.language == "en"


# ----------------------------------------------------------------------------- segments

def test_chars_segments(chars):
    segs = chars.segments("Café costs $3.50, OK? Yes!")
    assert [s.text for s in segs] == ["Café costs three dollars and fifty cents, OK?", "Yes!"]
    assert _decode(chars, segs[0]) == "cafe costs three dollars and fifty cents, ok?"
    assert [s.pause_after for s in segs] == [0.25, 0.0]
    assert all(0 not in s.ids for s in segs)  # the pad never appears


def test_pauses_and_max_segment_chars():
    fe = Frontend.from_config(_cfg("chars", max_segment_chars=40))
    text = ("One two three four five six seven eight nine ten eleven twelve thirteen. "
            "Short one, then another clause that is long enough to be cut somewhere. End.")
    segs = fe.segments(text)
    assert all(len(s.text) <= 40 for s in segs), [s.text for s in segs]
    pauses = [s.pause_after for s in segs]
    ends = [s.text.endswith((".", "!", "?")) for s in segs]
    assert pauses[-1] == 0.0
    for pause, end in zip(pauses[:-1], ends[:-1]):
        assert pause == (0.25 if end else 0.1)
    assert 0.1 in pauses and 0.25 in pauses
    assert "".join("".join(s.text.split()) for s in segs) == "".join(fe.normalize_text(text).split())


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"])
def test_empty_text(chars, text):
    with pytest.raises(InvalidInputError, match="empty"):
        chars.segments(text)


@pytest.mark.parametrize("text", ["!!! ... ???", "—", "(( ))", "### ~~~"])
def test_nothing_speakable(chars, text):
    with pytest.raises(InvalidInputError, match="no speakable symbols for voice frontend 'chars/en'"):
        chars.segments(text)


def test_not_a_string(chars):
    with pytest.raises(InvalidInputError):
        chars.segments(None)  # type: ignore[arg-type]


def test_unspeakable_segments_dropped(chars):
    segs = chars.segments("Hello there. ... !!! Bye.")
    assert [s.text for s in segs] == ["Hello there.", "Bye."]
    assert [s.pause_after for s in segs] == [0.25, 0.0]


def test_unknown_symbols_dropped_with_one_warning_each(caplog):
    fe = Frontend.from_config(_cfg("chars", symbols=["_", " ", ".", *"abcdefghijklmnopqrst"]))
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        (seg,) = fe.segments("A quiet zoo.")       # u, z, o... 'u' and 'z' are unknown
        fe.segments("A quiet zoo, quietly.")      # same unknowns again + ',' 'y'
    assert _decode(fe, seg) == "a qiet oo."
    warned = [r.getMessage() for r in caplog.records if "dropping symbol" in r.getMessage()]
    symbols = sorted(m.split("'")[1] for m in warned)
    assert symbols == [",", "u", "y", "z"], warned  # one warning per distinct symbol
    # a new Frontend warns again (the set is per Frontend)
    caplog.clear()
    other = Frontend.from_config(_cfg("chars", symbols=["_", " ", *"abcdefghijklmnopqrst"]))
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        other.segments("a z")
    assert len([r for r in caplog.records if "dropping symbol" in r.getMessage()]) == 1


def test_normalize_false(chars):
    fe = Frontend.from_config(_cfg("chars", normalize=False))
    (seg,) = fe.segments("Mr. Smith   has 3 cats.")
    assert seg.text == "Mr. Smith has 3 cats."
    assert _decode(fe, seg) == "mr. smith has  cats."  # digit dropped (with a warning)


# ----------------------------------------------------------------------------- phonemes

@needs_espeak
def test_phoneme_segments(phonemes):
    segs = phonemes.segments("Dr. Smith paid $3.50. The quick brown fox!")
    assert [s.text for s in segs] == ["doctor Smith paid three dollars and fifty cents.",
                                      "The quick brown fox!"]
    assert _decode(phonemes, segs[1]) == "ðə kwˈɪk bɹˈaʊn fˈɑːks!"
    assert [s.pause_after for s in segs] == [0.25, 0.0]
    ids = segs[1].ids
    assert phonemes.symbols[ids[0]] == "ð" and all(isinstance(i, int) for i in ids)


@needs_espeak
def test_phoneme_paragraph_speed(phonemes):
    """1000-character paragraph, warm: measured ~6 ms here (limit generous for CI)."""
    para = ("In 1999, Dr. Smith paid $3.50 for a coffee at the café on Main St. and said, "
            "\"It's the best I've had!\" ") * 12
    para = para[:1000]
    phonemes.segments("warm up.")
    t = time.perf_counter()
    segs = phonemes.segments(para)
    elapsed = time.perf_counter() - t
    assert all(len(s.text) <= 200 for s in segs)
    assert elapsed < 0.5, elapsed


# ----------------------------------------------------------------------------- pinyin

@needs_pypinyin
@pytest.mark.parametrize("word, expected", [
    ("重庆", "ch ong2 q ing4"),
    ("银行", "in2 h ang2"),
    ("行长", "h ang2 zh ang3"),
    ("银行行长", "in2 h ang2 h ang2 zh ang3"),
    ("行走", "x ing2 z ou3"),
    ("中国", "zh ong1 g uo2"),
    ("有去", "iou3 q v4"),
    ("我的", "uo3 d e5"),
    ("嗯", "n2"),
])
def test_pinyin_polyphones(pinyin, word, expected):
    (seg,) = pinyin.segments(word)
    assert _decode(pinyin, seg, " ") == expected


@needs_pypinyin
def test_pinyin_sentences_and_punctuation(pinyin, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        segs = pinyin.segments("你好！今天是2024年，温度3.5度。OK吗？")
    assert [s.text for s in segs] == ["你好！", "今天是二零二四年，温度三点五度。", "吗？"]
    assert _decode(pinyin, segs[0], " ") == "n i3 h ao3 !"
    assert _decode(pinyin, segs[1], " ").endswith("d u4 .")
    assert _decode(pinyin, segs[2], " ") == "m a5 ?"  # latin letters dropped ...
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "Latin (2 characters)" in warned[0]  # ... with one warning
    assert [s.pause_after for s in segs] == [0.25, 0.25, 0.0]
