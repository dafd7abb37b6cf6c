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
import statistics
import tempfile
import time

TEXT = "The quick brown fox jumps over the lazy dog while the engine keeps its latency low."


def measure(synth, text: str, repeats: int) -> tuple[float, list[float]]:
    for _ in range(2):  # warm-up
        audio = synth.synthesize(text)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        audio = synth.synthesize(text)
        times.append(time.perf_counter() - start)
    return audio.duration, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    import torch

    from ttsengine import Synthesizer
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
            seconds, times = measure(synth, TEXT, args.repeats)
            rows.append((label, seconds, times))
    print(f"{'voice':32s} {'audio s':>8s} {'median s':>9s} {'RTF med':>8s} {'RTF min':>8s} {'RTF max':>8s}")
    for label, seconds, times in rows:
        med = statistics.median(times)
        print(f"{label:32s} {seconds:8.2f} {med:9.3f} {med / seconds:8.4f} "
              f"{min(times) / seconds:8.4f} {max(times) / seconds:8.4f}")


if __name__ == "__main__":
    main()
