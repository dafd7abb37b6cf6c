#!/usr/bin/env python3
"""Does a speaker keep its voice across languages? Speaker similarity of each speaker of a
bilingual voice with itself, English against Mandarin (issue #25: >= 0.75), beside its
similarity with the other speakers (how distinct the speakers are).

    python benchmarks/crosslingual.py --voice bilingual [--n 10] [--vocoder auto] [--json OUT]

Each speaker says the first ``--n`` held-out English sentences (``data/heldout_sentences.txt``)
and the first ``--n`` held-out Mandarin ones (``data/heldout_zh.txt``); resemblyzer embeds every
utterance (``pip install --no-deps resemblyzer webrtcvad-wheels`` plus librosa, as
``clone_bench.py``); a figure is the mean cosine over all pairs of two sets (the embeddings are
L2-normalised). ``self en~zh`` is a speaker's English set against its own Mandarin set;
``en~en`` and ``zh~zh`` rows against the other speakers show what "a different speaker" scores.

``--kokoro jf_tebukuro,jf_nezumi,...`` calibrates the judge: Kokoro-82M voice vectors
(``clone_targets.kokoro``, benchmark-only) read the same sentences in both languages with one
timbre, so their ``self en~zh`` is what a speaker who keeps its voice across languages scores, and
``others en~zh`` (a voice's English against the other voices' Mandarin) what a different voice
scores across languages.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def read(path: Path, n: int) -> list[str]:
    return [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()][:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voice", default="bilingual")
    ap.add_argument("--n", type=int, default=10, help="sentences per language and speaker")
    ap.add_argument("--vocoder", default="auto", choices=("auto", "hifigan", "istft"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kokoro", default="",
                    help="comma-separated Kokoro voice vectors to score the same way (judge calibration)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from resemblyzer import VoiceEncoder, preprocess_wav

    from ttsengine import Synthesizer

    synth = Synthesizer(args.voice, device="cpu", num_threads=args.threads, vocoder=args.vocoder)
    langs = len(synth.frontend.languages)
    if langs < 2:
        print(f"error: voice {args.voice!r} speaks one language ({synth.frontend.language})", file=sys.stderr)
        return 2
    sets = {"en": read(HERE / "data" / "heldout_sentences.txt", args.n), "zh": read(HERE / "data" / "heldout_zh.txt", args.n)}
    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(wave: np.ndarray, rate: int) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(np.asarray(wave, np.float32), source_sr=rate))

    emb: dict[tuple[str, str], np.ndarray] = {}
    for speaker in synth.voice.speakers:
        for lang, sentences in sets.items():
            audios = [synth.synthesize(text, speaker=speaker) for text in sentences]
            emb[(speaker, lang)] = np.stack([embed(a.samples, a.sample_rate) for a in audios])
    print(f"voice {args.voice}, vocoder {args.vocoder}, {args.n} sentences per language")
    result = table(emb, list(synth.voice.speakers))
    reference: dict[str, dict[str, float]] = {}
    if args.kokoro:
        sys.path.insert(0, str(HERE))
        from clone_targets import kokoro

        voices = [v.strip() for v in args.kokoro.split(",") if v.strip()]
        kemb: dict[tuple[str, str], np.ndarray] = {}
        for v in voices:
            for lang, sentences in sets.items():
                speak = kokoro(v, lang)
                kemb[(v, lang)] = np.stack([embed(*speak(text)) for text in sentences])
        print("judge calibration: Kokoro-82M, one voice vector in both languages")
        reference = table(kemb, voices)
    print("self en~en / zh~zh include each utterance with itself (1.0): the ceiling of a set's spread")
    if args.json:
        args.json.write_text(json.dumps({"voice": args.voice, "vocoder": args.vocoder, "n": args.n,
                                         "speakers": result, "kokoro": reference}, indent=1), encoding="utf-8")
    return 0


def table(emb: dict[tuple[str, str], np.ndarray], speakers: list[str]) -> dict[str, dict[str, float]]:
    """Prints and returns each speaker's row: itself across and within languages, and the mean
    over the other speakers (same language, and its English against their Mandarin)."""

    def sim(a: tuple[str, str], b: tuple[str, str]) -> float:
        return float(np.mean(emb[a] @ emb[b].T))

    def others(s: str, la: str, lb: str) -> float:
        rest = [o for o in speakers if o != s]
        return float(np.mean([sim((s, la), (o, lb)) for o in rest])) if rest else float("nan")

    result: dict[str, dict[str, float]] = {}
    print(f"{'speaker':<12} {'self en~zh':>10} {'self en~en':>10} {'self zh~zh':>10} {'others en':>10} "
          f"{'others zh':>10} {'others en~zh':>12}")
    for s in speakers:
        row = {"self_en_zh": sim((s, "en"), (s, "zh")), "self_en_en": sim((s, "en"), (s, "en")),
               "self_zh_zh": sim((s, "zh"), (s, "zh")), "others_en": others(s, "en", "en"),
               "others_zh": others(s, "zh", "zh"), "others_en_zh": others(s, "en", "zh")}
        result[s] = row
        print(f"{s:<12} {row['self_en_zh']:>10.3f} {row['self_en_en']:>10.3f} {row['self_zh_zh']:>10.3f} "
              f"{row['others_en']:>10.3f} {row['others_zh']:>10.3f} {row['others_en_zh']:>12.3f}")
    return result


if __name__ == "__main__":
    raise SystemExit(main())
