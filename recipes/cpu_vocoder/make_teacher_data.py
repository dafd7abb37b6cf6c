"""Teacher targets for distilling a CPU vocoder: (mel, V1 wave) pairs.

Mels are what the student sees at inference: the voice's own acoustic model run on corpus
sentences at varied speeds (and, for a share of utterances, the ground-truth mels of the
corpus recordings). The wave is what the voice's HiFi-GAN V1 path (its mel postfilter
included) makes of that mel: a deterministic function of the mel, unlike a recording.

    python recipes/cpu_vocoder/make_teacher_data.py --voice default \
        --metadata prepared/metadata.jsonl -o teacher --count 1200

Both come from the pipeline itself (ONNX Runtime, fp32 graphs): the decoder's output and the
vocoder's output of each segment are copied as the runner hands them on, so a pair lines up
frame by frame whatever the text's segmentation. V1 on a CPU runs at about 0.6x real time:
~3 s per utterance on one thread. Writes ``NNNNN.npz`` (mel float16 [80, T], wave int16
[T * hop]), the format of ``ttsengine distill-vocoder``; resumes where it stopped.
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
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in open(args.metadata, encoding="utf-8")]
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    synth = Synthesizer(args.voice, backend="onnxruntime", device="cpu", precision="fp32", vocoder="hifigan",
                        num_threads=args.threads)
    runner = synth._pipeline.runner
    decoder, vocoder = runner.decoder, runner.vocoder
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    mels: list[np.ndarray] = []

    def keep_mel(expanded, frame_lengths, mel):
        decoder(expanded, frame_lengths, mel)
        mels.append(np.array(mel[0, :, : int(frame_lengths[0])]))

    def keep_wave(mel, frame_lengths, wave, phase=None):
        vocoder(mel, frame_lengths, wave)
        pairs.append((np.array(mel[0]), np.array(wave[0])))

    runner.decoder, runner.vocoder = keep_mel, keep_wave
    mel_dir = Path(args.metadata).parent / "mels"
    hop = synth.voice.hop_length
    for index, row in enumerate(rows[: args.count]):
        ground_truth = rng.random() < args.gt_share
        speed = rng.uniform(0.85, 1.2)  # both drawn for every row: resuming keeps the choices
        path = out / f"{index:05d}.npz"
        if path.exists():
            continue
        pairs.clear()
        mels.clear()
        if ground_truth:
            mel = np.load(mel_dir / f"{row['id']}.npy").astype(np.float32)
            mel = mel.T if mel.shape[0] != synth.voice.n_mels else mel
            wave = np.zeros((1, mel.shape[1] * hop), np.float32)
            keep_wave(np.ascontiguousarray(mel[None]), np.array([mel.shape[1]], np.int64), wave)
        else:
            synth.synthesize(row["text"], speed=speed)
        mel, wave = max(pairs, key=lambda pair: pair[0].shape[-1])  # the longest segment of the text
        pcm = np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)
        np.savez(path, mel=mel.astype(np.float16), wave=pcm)
        if index % 50 == 0:
            print(f"{index}: {mel.shape[-1]} frames, {'ground-truth' if ground_truth else 'predicted'} mel",
                  flush=True)


if __name__ == "__main__":
    main()
