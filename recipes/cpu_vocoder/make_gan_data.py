"""Training pairs for the CPU vocoder's adversarial run: recorded speech and the mels it will see.

For each utterance of a prepared corpus (``ttsengine prepare --durations``), the target is the
recording itself (the teacher's speech at the voice's feature rate) and the input mel is either
its ground-truth mel or the voice's acoustic model's mel for the same tokens, teacher-forced
with the recording's exact durations so that it lines up with the recording frame by frame
(the FastSpeech 2 "fine-tune the vocoder on predicted mels" step: the vocoder learns the
smoother mels it gets at inference, and the real speech it should make of them).

    python recipes/cpu_vocoder/make_gan_data.py --voice default \
        --prepared prepared -o gan_data --count 2000 --predicted-share 0.5

Writes ``NNNNN.npz`` (mel float16 [n_mels, F], wave int16 [F * hop]), the format of
``ttsengine distill-vocoder``; resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import soundfile
import torch

from ttsengine.models.loading import load_acoustic
from ttsengine.frontend import Frontend
from ttsengine.training.datasets import symbols_to_tokens
from ttsengine.voice import load_voice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--prepared", required=True, help="output of `ttsengine prepare --durations`")
    parser.add_argument("-o", "--out", required=True)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--predicted-share", type=float, default=0.5,
                        help="share of utterances whose input is the acoustic model's mel")
    parser.add_argument("--speaker", type=int, default=0, help="speaker id of the acoustic model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    voice = load_voice(args.voice)
    frontend = Frontend.from_config(dict(voice.frontend))
    acoustic = load_acoustic(voice).eval()
    hop = voice.hop_length
    prepared = Path(args.prepared)
    rows = [json.loads(line) for line in open(prepared / "metadata.jsonl", encoding="utf-8")]
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    written = 0
    for index, row in enumerate(rows[: args.count]):
        path = out / f"{index:05d}.npz"
        predicted = rng.random() < args.predicted_share  # drawn for every row: resuming keeps the choices
        if path.exists():
            continue
        wave, rate = soundfile.read(prepared / "wavs" / f"{row['id']}.wav", dtype="int16")
        if rate != voice.features["sample_rate"]:
            raise SystemExit(f"{row['id']}: {rate} Hz, the voice's features are at {voice.features['sample_rate']}")
        mel = np.load(prepared / "mels" / f"{row['id']}.npy").astype(np.float32)
        frames = min(mel.shape[1], len(wave) // hop)
        if predicted and "durations" in row:
            ids, durations = symbols_to_tokens(frontend, row["symbols"], row["durations"])
            if int(durations.sum()) != mel.shape[1]:
                continue
            tokens = torch.tensor([ids])
            with torch.no_grad():
                pred = acoustic(tokens, torch.ones_like(tokens, dtype=torch.bool), torch.tensor([args.speaker]),
                                torch.from_numpy(durations)[None])["mel"][0].numpy()
            mel = pred
        mel, wave = mel[:, :frames], wave[: frames * hop]
        np.savez(path, mel=mel.astype(np.float16), wave=wave)
        written += 1
        if index % 100 == 0:
            print(f"{index}: {frames} frames, {'predicted' if predicted else 'ground-truth'} mel", flush=True)
    print(f"wrote {written} pairs to {out}")


if __name__ == "__main__":
    main()
