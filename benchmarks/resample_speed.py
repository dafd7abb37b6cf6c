#!/usr/bin/env python3
"""resample() speed: scipy.signal.resample_poly (the previous implementation) vs the
polyphase kernel in ttsengine._core, same filter, same input, in one run.

Prints the machine, then per rate pair the median / min wall time over warm repetitions
and the max abs difference between the two outputs.

    python benchmarks/resample_speed.py [--seconds 10] [--repeats 15]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics

import numpy as np

PAIRS = ((24000, 16000), (24000, 22050), (24000, 48000), (22050, 24000))


def scipy_resample(x: np.ndarray, orig: int, target: int) -> np.ndarray:
    """The pre-_core resample(): resample_poly with the same Kaiser filter."""
    from scipy.signal import resample_poly

    from ttsengine.audio.resample import _lowpass

    g = math.gcd(orig, target)
    up, down = target // g, orig // g
    y = resample_poly(x, up, down, axis=-1, window=_lowpass(up, down))
    return np.ascontiguousarray(y, dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    from ttsengine.audio import resample
    from ttsengine.bench.environment import cpu_model, load_average, usable_cores
    from ttsengine.bench.runner import timed

    print(f"machine: {cpu_model()}, {usable_cores()} usable cores, load {load_average()}, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    rng = np.random.default_rng(0)
    for orig, target in PAIRS:
        x = rng.uniform(-1, 1, int(args.seconds * orig)).astype(np.float32)
        old, _ = timed(lambda: scipy_resample(x, orig, target), args.repeats, warmup=2)
        new, _ = timed(lambda: resample(x, orig, target), args.repeats, warmup=2)
        diff = float(np.abs(scipy_resample(x, orig, target) - resample(x, orig, target)).max())
        print(
            f"{orig:>5} -> {target:>5} Hz, {args.seconds:g} s: "
            f"scipy {statistics.median(old) * 1e3:7.2f} ms (min {min(old) * 1e3:.2f}), "
            f"_core {statistics.median(new) * 1e3:7.2f} ms (min {min(new) * 1e3:.2f}), "
            f"x{statistics.median(old) / statistics.median(new):.1f}, max abs diff {diff:.1e}"
        )


if __name__ == "__main__":
    main()
