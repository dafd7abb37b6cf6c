"""Picks natural English sentences from the LJ Speech transcripts for the default voice's corpus.

The template sentences of ``make_sentences.py`` cover only ~300 distinct words, so the voice
meets most held-out words (and many phoneme contexts) for the first time. LJ Speech's 13,100
transcripts (public domain; https://keithito.com/LJ-Speech-Dataset/) have ~13,800 distinct
words. Only the text is used: hibari-tts speaks it (``build_corpus.py --sentences``).

    python recipes/default_voice/lj_sentences.py LJSpeech-1.1/metadata.csv -n 6000 -o sentences_lj.txt

Reads any ``|``-separated file whose last column is the (number-expanded) text: LJ Speech's
``metadata.csv`` or the ``ljs_audio_text_*_filelist.txt`` lists of NVIDIA's tacotron2. Drops
lines too short or too long, strips brackets and double quotes (hibari would not speak them),
and every line that equals a held-out benchmark sentence; shuffles with a fixed seed.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "benchmarks" / "data" / "heldout_sentences.txt"
ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;:'?!()\-]+$")


def _key(text: str) -> str:
    return re.sub(r"[^a-z]+", " ", text.lower()).strip()


def clean(text: str) -> str | None:
    """The line as hibari should read it, or None when it does not belong in the corpus."""
    text = re.sub(r"[\[\]\"“”]", "", text.replace("’", "'")).strip()
    text = re.sub(r"\s+", " ", text)
    if not ALLOWED.match(text) or not 30 <= len(text) <= 180 or len(_key(text).split()) < 5:
        return None
    return text


def pick(lines: list[str], count: int, seed: int, heldout: set[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for line in lines:
        text = clean(line.rstrip("\n").split("|")[-1])
        if text is None or _key(text) in heldout or _key(text) in seen:
            continue
        seen.add(_key(text))
        kept.append(text)
    random.Random(seed).shuffle(kept)
    return kept[:count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+", type=Path, help="LJ Speech metadata.csv or filelists")
    ap.add_argument("-n", "--count", type=int, default=6000)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lines = [line for source in args.sources for line in source.read_text(encoding="utf-8").splitlines()]
    heldout = {_key(t) for t in HELDOUT.read_text(encoding="utf-8").splitlines() if t.strip()}
    kept = pick(lines, args.count, args.seed, heldout)
    args.output.write_text("\n".join(kept) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(kept)} sentences of {len(lines)} lines")


if __name__ == "__main__":
    main()
