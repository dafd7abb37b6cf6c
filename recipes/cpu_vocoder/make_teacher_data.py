"""Teacher targets for distilling a CPU vocoder: (mel, V1 wave) pairs.

Mels are what the student sees at inference: the voice's own acoustic model run on
corpus sentences at varied speeds (and, for a share of utterances, the ground-truth
mels of the corpus recordings). The wave is the voice's HiFi-GAN V1 run on that mel.

    python recipes/cpu_vocoder/make_teacher_data.py --voice default \
        --metadata /work/data/prepared/metadata.jsonl -o /work/data/distill --count 1200

Writes ``NNNNN.npz`` (mel float16 [80, T], wave int16 [T * hop]); resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from ttsengine import Synthesizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--metadata", required=True, help="prepare's metadata.jsonl (texts, GT mels)")
    parser.add_argument("-o", "--out", required=True)
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--gt-share", type=float, default=0.25, help="share of ground-truth mels")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in open(args.metadata, encoding="utf-8")]
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    synth = Synthesizer(args.voice, backend="onnxruntime", num_threads=args.threads)
    backend, hop = synth._backend, synth.voice.hop_length
    mel_dir = Path(args.metadata).parent / "mels"
    for index, row in enumerate(rows[: args.count]):
        path = out / f"{index:05d}.npz"
        if path.exists():
            continue
        if rng.random() < args.gt_share:
            mel = np.load(mel_dir / f"{row['id']}.npy").astype(np.float32)
            mel = mel.T if mel.shape[0] != synth.voice.n_mels else mel
            mel = mel[None]
        else:
            speed = rng.uniform(0.85, 1.2)
            segments = synth._segments(row["text"])
            with synth._workspaces.acquire() as workspace:
                mel, lengths = synth._mel(segments[:1], [0], speed, workspace)
                mel = np.array(mel[:, :, : int(lengths[0])])
        wave = backend.vocode(mel)[0]
        pcm = np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)
        np.savez(path, mel=mel[0].astype(np.float16), wave=pcm)
        if index % 50 == 0:
            print(f"{index} {mel.shape[-1]} frames", flush=True)


if __name__ == "__main__":
    main()
