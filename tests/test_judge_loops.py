"""The offline judges' loop guard (benchmarks/judge_loops.py): a greedy Whisper decoding that
loops on one word is decoded once more with repeated 3-grams barred; clean transcripts are not
decoded twice. Fake Whisper models: no weights needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import judge_loops

quality = pytest.importorskip("quality")  # imports ttsengine, soundfile and scipy


class Segment:
    def __init__(self, text: str) -> None:
        self.text = text


class FakeWhisper:
    def __init__(self, first: str, second: str = "") -> None:
        self.first, self.second, self.calls = first, second, []

    def transcribe(self, audio, **kwargs):
        self.calls.append(kwargs)
        return iter([Segment(self.second if kwargs.get("no_repeat_ngram_size") else self.first)]), None


@pytest.mark.parametrize("text", ["The bus was late again, so we walked home in the rain.",
                                  "Can you pass me the salt and pepper, please?", "Yes.", ""])
def test_ordinary_sentences_are_not_loops(text):
    assert judge_loops.compression_ratio(text) < judge_loops.LOOP_RATIO


def test_a_repeated_word_is_a_loop():
    assert judge_loops.compression_ratio("The the" + " the" * 60) > judge_loops.LOOP_RATIO


def test_english_judge_decodes_a_loop_again_without_repeats():
    model = FakeWhisper("Two children" + " children" * 60, "Two children played in the park.")
    text, seconds, timed_out = quality.transcribe(model, np.zeros(24000, np.float32), 24000)
    assert text == "Two children played in the park."
    assert [c.get("no_repeat_ngram_size") for c in model.calls] == [None, 3]
    assert not timed_out and seconds >= 0.0
    # the second decoding keeps every other setting of the first (greedy, English, bounded)
    assert {k: v for k, v in model.calls[1].items() if k != "no_repeat_ngram_size"} == model.calls[0]


def test_english_judge_decodes_a_clean_transcript_once():
    model = FakeWhisper("The bus was late again.")
    assert quality.transcribe(model, np.zeros(16000, np.float32), 16000)[0] == "The bus was late again."
    assert len(model.calls) == 1
