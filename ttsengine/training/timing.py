"""Seconds per training step on this machine (``python -m ttsengine.training.timing``).

Acoustic: tiny / base model + aligner + monotonic alignment search, batch ``B`` of ~2 s
clips (188 frames, 28 tokens). Vocoder: HiFi-GAN generator + MPD/MSD discriminator step
(batch 1-2, 8192-sample segments). Random data in the shapes of real batches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from .datasets import AcousticBatch
from .prepare import prepare_dataset
from .synthetic import make_synthetic_corpus
from .trainer import TrainConfig, Trainer


def _trainer(tmp: Path, **overrides: object) -> Trainer:
    prep = tmp / "prep"
    if not prep.is_dir():
        make_synthetic_corpus(tmp / "data", 4)
        prepare_dataset(tmp / "data", prep)
    cfg = TrainConfig(device="cpu", frontend_kind="chars", progress=False, sample_every=0, **overrides)  # type: ignore[arg-type]
    return Trainer(prep, tmp / f"voice-{time.monotonic_ns()}", cfg)


def time_acoustic(tmp: Path, size: str, batch: int, frames: int = 188, tokens: int = 28, steps: int = 3) -> float:
    tr = _trainer(tmp, size=size, steps=1000, batch_size=batch)
    g = torch.Generator().manual_seed(0)
    b = AcousticBatch(
        tokens=torch.randint(1, len(tr.frontend.symbols), (batch, tokens), generator=g),
        token_lengths=torch.full((batch,), tokens), mel=torch.randn(batch, 80, frames, generator=g) - 5,
        mel_lengths=torch.full((batch,), frames), pitch=torch.randn(batch, frames, generator=g),
        voiced=torch.ones(batch, frames, dtype=torch.bool), speakers=torch.zeros(batch, dtype=torch.long))
    times = []
    for step in range(steps + 1):
        t0 = time.perf_counter()
        total, _ = tr.acoustic_losses(b, step)
        tr.opt_a.zero_grad()
        total.backward()
        tr.opt_a.step()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def time_vocoder(tmp: Path, variant: str, batch: int, segment: int = 8192, steps: int = 2) -> float:
    tr = _trainer(tmp, vocoder=variant, steps=0, vocoder_steps=100, vocoder_batch_size=batch, segment_size=segment)
    wave = torch.randn(batch, segment) * 0.1
    tr.data.vocoder_batch = lambda *a, **k: wave  # type: ignore[method-assign]
    times = []
    for step in range(steps + 1):
        t0 = time.perf_counter()
        tr.vocoder_step(step)
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--vocoder-batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-vocoder", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for size in ("tiny", "base"):
            s = time_acoustic(tmp, size, args.batch)
            print(f"acoustic {size:5s} batch {args.batch} x 2 s: {s:.3f} s/step")
        if not args.skip_vocoder:
            s = time_vocoder(tmp, "v1", args.vocoder_batch)
            print(f"hifigan v1 G+D batch {args.vocoder_batch} x 8192: {s:.3f} s/step")


if __name__ == "__main__":
    main()
