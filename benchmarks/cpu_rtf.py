#!/usr/bin/env python3
"""CPU real-time factor of Synthesizer.synthesize, side by side, in one run.

Voices: the bundled `default`, and `base` acoustic + HiFi-GAN V1 (seeded random weights:
speed does not depend on training). Prints median / min / max over warm repetitions.

    python benchmarks/cpu_rtf.py [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile

TEXT = "The quick brown fox jumps over the lazy dog while the engine keeps its latency low."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    import torch

    from ttsengine import Synthesizer
    from ttsengine.bench.runner import TTSEngineAdapter, measure_rtf
    from ttsengine.voice_factory import create_random_voice

    torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads")
    print(f"text: {TEXT!r}")
    with tempfile.TemporaryDirectory() as tmp:
        base = create_random_voice(f"{tmp}/base-v1", name="base-v1", acoustic_size="base", vocoder="v1")
        rows = []
        for label, voice in (("default (small + HiFi-GAN V2)", "default"), ("base + HiFi-GAN V1", base)):
            synth = Synthesizer(voice, device="cpu", backend="torch")
            rows.append((label, measure_rtf(TTSEngineAdapter(synth), TEXT, args.repeats, warmup=2)))
    print(f"{'voice':32s} {'audio s':>8s} {'median s':>9s} {'RTF med':>8s} {'RTF min':>8s} {'RTF max':>8s}")
    for label, result in rows:
        rtf = result["rtf"]
        print(f"{label:32s} {result['audio_s']:8.2f} {result['seconds']['median']:9.3f} {rtf['median']:8.4f} "
              f"{rtf['min']:8.4f} {rtf['max']:8.4f}")


if __name__ == "__main__":
    main()
