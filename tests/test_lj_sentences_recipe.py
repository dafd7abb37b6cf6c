"""recipes/default_voice/lj_sentences.py: the natural sentences hibari reads for the default
voice's corpus never include a held-out benchmark sentence, a duplicate, or text hibari would
not speak."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lj_sentences", ROOT / "recipes" / "default_voice" / "lj_sentences.py")
lj_sentences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lj_sentences)

HELDOUT = (ROOT / "benchmarks" / "data" / "heldout_sentences.txt").read_text(encoding="utf-8").splitlines()


def test_clean_strips_quotes_and_refuses_what_hibari_would_not_speak():
    assert lj_sentences.clean('"I think I could do that sort of job," said Calcraft, on the spur.') == \
        "I think I could do that sort of job, said Calcraft, on the spur."
    assert lj_sentences.clean("Too short here.") is None
    assert lj_sentences.clean("x" * 200) is None
    assert lj_sentences.clean("The price was five pounds £ in the old money of that time.") is None


def test_pick_drops_heldout_sentences_and_duplicates_and_is_deterministic():
    heldout = {lj_sentences._key(HELDOUT[0])}
    lines = [f"LJ001-{i:04d}|The printer set the type by hand on day number {w} of the month."
             for i, w in enumerate(["one", "two", "three", "four", "one"])]
    lines.append(f"LJ002-0001|{HELDOUT[0]}")
    first = lj_sentences.pick(lines, 10, seed=0, heldout=heldout)
    assert sorted(first) == sorted({line.split("|")[1] for line in lines[:4]})
    assert lj_sentences.pick(lines, 10, seed=0, heldout=heldout) == first
    assert len(lj_sentences.pick(lines, 2, seed=0, heldout=heldout)) == 2
