#!/usr/bin/env python3
"""A/B: CPU real-time factor of two ttsengine source trees, interleaved in one run.

Each tree needs its `_core` built in place (e.g. `git worktree add /tmp/base <rev>` and a
CMake build with `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=/tmp/base/ttsengine`). Every round runs
one fresh process per (tree, backend), alternating the trees, so drift in machine load hits
both sides alike. Prints each process's median RTF and, per backend, the median over rounds
and their ratio.

    python benchmarks/ab_rtf.py --baseline /tmp/base --candidate . [--rounds 3] [--repeats 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TEXT = (
    "The quick brown fox jumps over the lazy dog while the engine keeps its latency low, "
    "and every sentence is measured twice."
)

WORKER = r"""
import json, sys
from ttsengine import Synthesizer
from ttsengine.bench.runner import TTSEngineAdapter, measure_rtf
backend, repeats, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
synth = Synthesizer("default", backend=backend, device="cpu", num_threads=int(sys.argv[4]))
result = measure_rtf(TTSEngineAdapter(synth), text, repeats, warmup=3)
print(json.dumps({"rtf": result["rtf"], "audio_s": result["audio_s"]}))
"""


def run(tree: str, backend: str, repeats: int, threads: int) -> float:
    """Median RTF of one fresh process of ``tree`` (warm repetitions, see
    ttsengine.bench.runner.measure_rtf)."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    with tempfile.TemporaryDirectory() as cwd:  # outside both trees: no accidental shadowing
        done = subprocess.run(
            [sys.executable, "-c", WORKER, backend, str(repeats), TEXT, str(threads)],
            env=env, cwd=cwd, capture_output=True, text=True, check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{tree} {backend} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["rtf"]["median"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--backend", action="append", help="default: onnxruntime and torch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    backends = args.backend or ["onnxruntime", "torch"]
    print(f"{os.cpu_count()} cores, {args.threads} threads, load before: {os.getloadavg()[0]:.2f}")
    results: dict[tuple[str, str], list[float]] = {}
    for round_index in range(args.rounds):
        for backend in backends:
            order = [("baseline", args.baseline), ("candidate", args.candidate)]
            if round_index % 2:
                order.reverse()
            for label, tree in order:
                rtf = run(tree, backend, args.repeats, args.threads)
                results.setdefault((backend, label), []).append(rtf)
                print(f"round {round_index + 1} {backend:12s} {label:9s} median RTF {rtf:.4f}")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print(f"{'backend':12s} {'baseline':>9s} {'candidate':>9s} {'speed-up':>8s}")
    for backend in backends:
        base = statistics.median(results[(backend, "baseline")])
        cand = statistics.median(results[(backend, "candidate")])
        print(f"{backend:12s} {base:9.4f} {cand:9.4f} {base / cand:7.2f}x")


if __name__ == "__main__":
    main()
