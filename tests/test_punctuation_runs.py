"""Runs of repeated punctuation are read as one mark (#23): "Wow" + "!" * 200 gave 7.9 s
of babble with the default voice; now it sounds like "Wow!", with the same pause."""

from __future__ import annotations

import importlib.util

import pytest

from ttsengine.frontend.normalize import normalize_chinese, normalize_english, normalize_text

RUNS = [
    ("Wow" + "!" * 200, "Wow!"),
    ("Wow" + "!?" * 50, "Wow!?"),
    ("Really" + "?" * 40 + " Yes.", "Really? Yes."),
    ("Wow !  !  ! ! !", "Wow!"),
    ("Wait" + "." * 50 + " what", "Wait... what"),
    ("Wait . . . . . what", "Wait... what"),
    ("Hmm" + "," * 30 + " ok", "Hmm, ok"),
    ("Hi" + ";" * 40 + " there", "Hi; there"),
    ("No" + "-" * 40 + "yes", "No — yes"),
    ("Hi" + "…" * 30, "Hi..."),
    ("(((((hi)))))", "(hi)"),
    ('He said """"""Wow""""""', 'He said "Wow"'),
    ("a" + "+" * 20 + "b", "a plus b"),
    ("I " + "&" * 9 + " you", "I and you"),
]
KEPT = ['He said "Wow!" and left.', "see (above).", "Wow! Great...", "x -- y", "C++ is fun", "So... yes?!",
        "a, b; c: d", "He left..", "path//to"]


@pytest.mark.parametrize("text, expected", RUNS)
def test_runs_of_punctuation_are_collapsed(text, expected):
    assert normalize_english(text) == normalize_english(expected)


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_punctuation_is_kept(text):
    normalized = normalize_english(text)
    for mark in "\"()?!;:,":
        assert normalized.count(mark) == text.count(mark), (text, normalized)


def test_other_languages_and_raw_text():
    assert normalize_text("Hola" + "!" * 100 + " ¿¿¿qué???", "es") == "Hola! ¿qué?"
    assert normalize_text("Привет" + "!" * 50, "ru") == "Привет!"
    assert normalize_chinese("好" + "！" * 30 + "真的吗" + "？" * 20) == "好！真的吗？"
    assert normalize_chinese("等等" + "。" * 20) == "等等。"


def test_frontend_tokens_of_a_run_equal_one_mark(tiny_synth):
    frontend = tiny_synth.frontend
    assert [s.ids for s in frontend.segments("Wow" + "!" * 200)] == [s.ids for s in frontend.segments("Wow!")]
    raw = type(frontend).from_config({**frontend.to_config(), "normalize": False})
    assert [s.ids for s in raw.segments("Wow" + "!" * 200)] == [s.ids for s in raw.segments("Wow!")]


@pytest.mark.parametrize("run, one", [("Wow" + "!" * 200, "Wow!"), ("Hmm" + "," * 100 + " ok.", "Hmm, ok."),
                                      ("Wait" + "." * 100 + " no.", "Wait... no."),
                                      ("Stop" + "?!" * 100 + " Now.", "Stop?! Now.")])
def test_audio_of_a_run_is_as_long_as_one_mark(tiny_synth, run, one):
    long, short = tiny_synth.synthesize(run), tiny_synth.synthesize(one)
    assert abs(long.duration - short.duration) < 0.05, (long.duration, short.duration)


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed")
def test_default_voice_wow_with_200_bangs():
    from ttsengine import Synthesizer

    synth = Synthesizer("default", device="cpu", backend="onnxruntime", num_threads=1)
    long, short = synth.synthesize("Wow" + "!" * 200), synth.synthesize("Wow!")
    assert long.duration < 1.2 * short.duration + 0.05, (long.duration, short.duration)
