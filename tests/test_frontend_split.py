"""Sentence splitting and the max-length bound."""

from __future__ import annotations

import gc
import random
import time

import pytest

from ttsengine.frontend.split import split_sentences, split_text


def _squash(s: str) -> str:
    return "".join(s.split())


@pytest.mark.parametrize("text, expected", [
    ("Dr. Smith paid $3.50. He left.", ["Dr. Smith paid $3.50.", "He left."]),
    ("It is 3.14 exactly! Really? Yes.", ["It is 3.14 exactly!", "Really?", "Yes."]),
    ("J. K. Rowling wrote it. Mr. Potter agreed.", ["J. K. Rowling wrote it.", "Mr. Potter agreed."]),
    ("Apples, pears, etc. are fruit. We ate them, etc. Then we left.",
     ["Apples, pears, etc. are fruit.", "We ate them, etc.", "Then we left."]),
    ("The U.S. team won. The U.S. flag waved.", ["The U.S. team won.", "The U.S. flag waved."]),
    ('She said "Hi!" He left... And then... nothing.',
     ['She said "Hi!"', "He left...", "And then... nothing."]),
    ("See No. 5 here. No. I refuse.", ["See No. 5 here.", "No.", "I refuse."]),
    ("e.g. this one, vs. that one. Done", ["e.g. this one, vs. that one.", "Done"]),
    ("no terminator at all", ["no terminator at all"]),
    ("  spaced \n\n out.  ", ["spaced out."]),
    ("No space.Between them!Really?Yes. Mrs.Smith, example.com and ASP.NET stay.",
     ["No space.", "Between them!", "Really?", "Yes.", "Mrs.Smith, example.com and ASP.NET stay."]),
])
def test_english_sentences(text, expected):
    assert split_sentences(text, "en-us") == expected


def test_chinese_sentences():
    text = "你好。今天天气很好！你去吗？我去；他也去……好的“真的？”结束"
    assert split_sentences(text, "zh") == [
        "你好。", "今天天气很好！", "你去吗？", "我去；", "他也去……", "好的“真的？”", "结束"]
    assert split_sentences("价格是3.5元。好", "zh") == ["价格是3.5元。", "好"]


def _random_text(rng: random.Random, n_words: int) -> str:
    words = []
    for _ in range(n_words):
        w = "".join(rng.choice("abcdefghij") for _ in range(rng.choice([1, 2, 3, 5, 8, 13])))
        r = rng.random()
        if r < 0.08:
            w += "."
        elif r < 0.14:
            w += ","
        elif r < 0.16:
            w += "!"
        elif r < 0.17:
            w = w.capitalize()
        elif r < 0.18:
            w = "x" * rng.choice([60, 250])  # a word longer than some limits
        words.append(w)
    return " ".join(words)


@pytest.mark.parametrize("max_chars", [20, 50, 200])
def test_pieces_bounded_and_nothing_lost(max_chars):
    rng = random.Random(max_chars)
    for _ in range(20):
        text = _random_text(rng, 300)
        pieces = split_text(text, max_chars, "en")
        assert all(0 < len(p.text) <= max_chars for p in pieces), max(len(p.text) for p in pieces)
        # only whitespace may be lost, order kept
        assert _squash("".join(p.text for p in pieces)) == _squash(text)
        assert pieces[-1].sentence_end


def test_long_sentence_prefers_commas_then_spaces():
    clause = "word " * 15 + "end,"  # 79 chars
    sentence = " ".join([clause] * 4) + " final words here."
    pieces = split_text(sentence, 100, "en")
    # 4 clauses of 79 chars: each piece ends at a comma; the tail fits with the last clause
    assert [p.text[-1] for p in pieces] == [","] * 3 + ["."], [p.text for p in pieces]
    assert [p.sentence_end for p in pieces] == [False] * 3 + [True]
    # no commas: split at spaces, never inside a word
    words = " ".join(f"w{i:03d}" for i in range(100)) + "."
    pieces = split_text(words, 42, "en")
    assert all(len(p.text) <= 42 for p in pieces)
    assert all(tok.startswith("w") and len(tok.rstrip(".")) == 4
               for p in pieces for tok in p.text.split())
    # a single word longer than the limit is cut hard
    pieces = split_text("a " + "x" * 25 + " b.", 10, "en")
    assert [p.text for p in pieces] == ["a", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx b."]


def test_chinese_long_sentence_split_at_cjk_commas():
    sentence = "，".join(["我们今天去公园玩"] * 30) + "。"
    pieces = split_text(sentence, 50, "zh")
    assert all(len(p.text) <= 50 for p in pieces)
    assert all(p.text.endswith(("，", "。")) for p in pieces)
    assert "".join(p.text for p in pieces) == sentence
    nopunct = "好" * 130
    assert [len(p.text) for p in split_text(nopunct, 50, "zh")] == [50, 50, 30]


def test_bad_max_chars():
    with pytest.raises(ValueError):
        split_text("hello", 0)


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def test_split_is_linear():
    """×8 more text must cost well under ×64 (quadratic); measured ratio ~8."""
    rng = random.Random(1)
    small = _random_text(rng, 4000)
    big = small * 8
    split_text(small, 200, "en")
    # best of 3 with the garbage collector off: in a CI run of the full suite one single timed
    # call took 0.59 s instead of ~0.004 s (a stall of the process, not the algorithm)
    gc.disable()
    try:
        t_small = min(_timed(split_text, small, 200, "en") for _ in range(3))
        t_big = min(_timed(split_text, big, 200, "en") for _ in range(3))
    finally:
        gc.enable()
    assert t_big < 30 * t_small + 0.05, (t_small, t_big)
    for bad in ("x" * 200000, "a." * 100000, "!" * 200000, "a, " * 60000, "好" * 200000):
        t = time.perf_counter()
        pieces = split_text(bad, 200, "zh" if bad[0] == "好" else "en")
        assert time.perf_counter() - t < 1.0
        assert all(len(p.text) <= 200 for p in pieces)
