#!/usr/bin/env python3
"""GPU real-time factor: torch eager vs the CUDA-graph pipeline, same weights, one run.

Needs a CUDA device, a CUDA build of torch and ttsengine built with `_cuda`. Voices: the
bundled `default` and `base` + HiFi-GAN V1 with seeded random weights (speed does not
depend on training). Prints median RTF over warm repetitions on the 5 s sentence, batch-8
throughput and peak device memory, and the speed-up of the graphed path.

    python benchmarks/gpu_rtf.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import tempfile

TEXT = (
    "The quick brown fox jumps over the lazy dog while the engine keeps its latency low, "
    "and every sentence is measured twice."
)


def measure(synth, repeats: int) -> tuple[float, float, float]:
    """(audio seconds, median RTF at batch 1, median throughput at batch 8 in audio s per s)."""
    import torch

    from ttsengine.bench.runner import TTSEngineAdapter, measure_rtf, measure_throughput

    engine = TTSEngineAdapter(synth)
    measure_throughput(engine, [TEXT] * 8, 1, warmup_texts=[TEXT] * 8)  # warm-up of the batch-8 shapes
    torch.cuda.synchronize()
    rtf = measure_rtf(engine, TEXT, repeats, warmup=3)
    throughput = measure_throughput(engine, [TEXT] * 8, 3)
    return rtf["audio_s"], rtf["rtf"]["median"], throughput["throughput"]["median"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import torch

    from ttsengine import Synthesizer
    from ttsengine.backends.torch_backend import TorchBackend
    from ttsengine.pipeline import make_pipeline
    from ttsengine.voice_factory import create_random_voice

    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = create_random_voice(f"{tmp}/base-v1", name="base-v1", acoustic_size="base", vocoder="v1")
        for label, voice in (("default", "default"), ("base-v1", base)):
            for precision in ("fp32", "fp16"):
                for graphs in (False, True):
                    synth = Synthesizer(voice, backend="torch", device="cuda", precision=precision)
                    if not graphs:  # the same weights, eager: the same pipeline around an ungraphed runner
                        runner = TorchBackend(synth.voice, device="cuda", precision=precision, cuda_graphs=False)
                        synth._backend = runner
                        synth._pipeline = make_pipeline(runner, limits=synth.buffers, **synth._dims)
                    assert synth._backend.cuda_graphs == graphs, "ttsengine._cuda is not usable here"
                    torch.cuda.reset_peak_memory_stats()
                    seconds, rtf, throughput = measure(synth, args.repeats)
                    peak = torch.cuda.max_memory_allocated() / 2**20
                    rows.append((label, precision, "graphs" if graphs else "eager", seconds, rtf, throughput, peak))
                    del synth
                    torch.cuda.empty_cache()
    print(f"{'voice':8s} {'prec':4s} {'path':6s} {'audio s':>7s} {'RTF b1':>9s} {'b8 audio s/s':>12s} {'peak MiB':>8s}")
    for label, precision, path, seconds, rtf, throughput, peak in rows:
        print(f"{label:8s} {precision:4s} {path:6s} {seconds:7.2f} {rtf:9.5f} {throughput:12.0f} {peak:8.0f}")
    for i in range(0, len(rows), 2):
        eager, graphed = rows[i], rows[i + 1]
        print(f"{eager[0]} {eager[1]}: graphs vs eager {eager[4] / graphed[4]:.2f}x (RTF), "
              f"{graphed[5] / eager[5]:.2f}x (batch-8 throughput)")


if __name__ == "__main__":
    main()
