#!/usr/bin/env python3
"""Where a CPU vocoder loses naturalness: its magnitudes or its phases, on recordings and on the
acoustic model's own mels (DistillMOS of hybrids).

    python benchmarks/vocoder_diagnosis.py [--voice default] [--cpu-vocoder VOICE_OR_RUN] [--limit 12]
        [--mode recordings,pipeline] [--threads 1] [--json OUT.json]

``recordings`` (copy-synthesis): the hibari-tts teacher reads the first ``--limit`` held-out
sentences; each recording is resampled to the voice's feature rate, its log-mel computed exactly
as in training, and the CPU vocoder makes a wave of that mel (torch, fp32). Scored: the
recording, the vocoder's wave, the vocoder's wave with the recording's F0 forced into its pulse
train (source-filter vocoders), and two hybrids on a 512 / 128 STFT grid: the vocoder's
magnitudes with the recording's phases, and the recording's magnitudes with the vocoder's
phases. A hybrid that scores near the recording says the other half is where the loss is.

``pipeline``: the voice's own predicted mels (ONNX Runtime, fp32), spoken by its CPU vocoder and
by its HiFi-GAN V1 (the reference; the same mel, so the two waves line up sample for sample).
Scored: both, and the two magnitude / phase hybrids against V1 on a 1024 / 256 grid.

``--cpu-vocoder`` scores another CPU vocoder (a bundle, or a ``ttsengine distill-vocoder``
training folder: its latest checkpoint) in the recordings mode; the pipeline mode always runs the
voice's own. Judge: DistillMOS (``ttsengine.bench.naturalness``; gain-invariant), mean and min.
Needs torch, hibari-tts and DistillMOS (see benchmarks/quality.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

HELDOUT = Path(__file__).parent / "data" / "heldout_sentences.txt"


def _stft(wave: np.ndarray, n_fft: int, hop: int):
    import torch

    return torch.stft(torch.from_numpy(wave), n_fft, hop, n_fft, torch.hann_window(n_fft), center=True,
                      return_complex=True)


def _istft(spec, n_fft: int, hop: int, length: int) -> np.ndarray:
    import torch

    return torch.istft(spec, n_fft, hop, n_fft, torch.hann_window(n_fft), center=True, length=length).numpy()


def hybrids(magnitude_of: np.ndarray, phase_of: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """The wave with ``magnitude_of``'s STFT magnitudes and ``phase_of``'s phases (equal lengths)."""
    import torch

    mag, phase = _stft(magnitude_of, n_fft, hop).abs(), _stft(phase_of, n_fft, hop).angle()
    return _istft(mag * torch.exp(1j * phase), n_fft, hop, len(magnitude_of))


def recordings_mode(args: argparse.Namespace, sentences: list[str]) -> dict[str, list[np.ndarray]]:
    import torch
    from hibari import Hibari

    from ttsengine.audio.features import FeatureConfig, log_mel_spectrogram
    from ttsengine.bench.naturalness import resample
    from ttsengine.training.distill import load_cpu_vocoder
    from ttsengine.training.prepare import estimate_log_f0
    from ttsengine.voice import load_voice

    voice = load_voice(args.voice)
    features = FeatureConfig.from_dict(dict(voice.features))
    vocoder = load_cpu_vocoder(args.cpu_vocoder or voice.path).eval()
    teacher = Hibari(threads=args.threads)
    out: dict[str, list[np.ndarray]] = {k: [] for k in (
        "recording", "vocoder", "vocoder, recording's F0", "vocoder magnitudes + recording phases",
        "recording magnitudes + vocoder phases")}
    hop = features.hop_length
    for text in sentences:
        wave = np.asarray(teacher(text, seed=0), dtype=np.float32)
        wave = resample(wave, Fraction(features.sample_rate, teacher.sample_rate)).astype(np.float32)
        mel = log_mel_spectrogram(wave, features)
        frames = mel.shape[1]
        wave = np.pad(wave, (0, max(0, frames * hop - len(wave))))[: frames * hop]
        with torch.no_grad():
            mel_t = torch.from_numpy(mel)[None].float()
            made = vocoder(mel_t)[0].numpy()
            forced = None
            if vocoder.config.excitation == "pulse":
                log_f0 = np.zeros(frames, np.float32)
                estimate = estimate_log_f0(wave, features)[:frames]
                log_f0[: len(estimate)] = estimate
                forced = vocoder.synthesize(mel_t, log_f0=torch.from_numpy(log_f0)[None])[0][0].numpy()
        n = min(len(wave), len(made))
        out["recording"].append(wave[:n])
        out["vocoder"].append(made[:n])
        if forced is not None:
            out["vocoder, recording's F0"].append(forced[:n])
        out["vocoder magnitudes + recording phases"].append(hybrids(made[:n], wave[:n], 512, 128))
        out["recording magnitudes + vocoder phases"].append(hybrids(wave[:n], made[:n], 512, 128))
    return {k: v for k, v in out.items() if v}


def pipeline_mode(args: argparse.Namespace, sentences: list[str]) -> dict[str, list[np.ndarray]]:
    from ttsengine import Synthesizer

    options = dict(backend="onnxruntime", device="cpu", precision="fp32", num_threads=args.threads)
    cpu = Synthesizer(args.voice, vocoder="istft", **options)
    v1 = Synthesizer(args.voice, vocoder="hifigan", **options)
    out: dict[str, list[np.ndarray]] = {k: [] for k in (
        "CPU vocoder", "HiFi-GAN V1", "CPU magnitudes + V1 phases", "V1 magnitudes + CPU phases")}
    for text in sentences:
        a = cpu.synthesize(text).samples.astype(np.float32)
        b = v1.synthesize(text).samples.astype(np.float32)
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        a = a * np.sqrt(np.sum(b ** 2) / max(np.sum(a ** 2), 1e-12))
        out["CPU vocoder"].append(a)
        out["HiFi-GAN V1"].append(b)
        out["CPU magnitudes + V1 phases"].append(hybrids(a, b, 1024, 256))
        out["V1 magnitudes + CPU phases"].append(hybrids(b, a, 1024, 256))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--cpu-vocoder", default=None, help="recordings mode: this bundle's or run's CPU vocoder")
    parser.add_argument("--limit", type=int, default=12, help="first N held-out sentences (default 12)")
    parser.add_argument("--mode", default="recordings,pipeline")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    unknown = set(modes) - {"recordings", "pipeline"}
    if unknown or args.limit < 1:
        parser.error(f"--mode takes recordings, pipeline (got {sorted(unknown)}); --limit >= 1")

    import torch

    from ttsengine.bench.naturalness import distillmos_scores
    from ttsengine.voice import load_voice

    torch.set_num_threads(args.threads)
    voice = load_voice(args.voice)
    rates = {"recordings": int(voice.features["sample_rate"]), "pipeline": int(voice.sample_rate)}
    sentences = [line.strip() for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences = sentences[: args.limit]
    report: dict[str, dict[str, float]] = {}
    for mode in modes:
        waves = recordings_mode(args, sentences) if mode == "recordings" else pipeline_mode(args, sentences)
        print(f"{mode} ({len(sentences)} sentences)")
        for name, items in waves.items():
            scores = distillmos_scores([(w, rates[mode]) for w in items], threads=args.threads)
            report[f"{mode}: {name}"] = {"mean": float(np.mean(scores)), "min": float(np.min(scores))}
            print(f"  {name:40s} DistillMOS {np.mean(scores):.2f} (min {np.min(scores):.2f})", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"voice": args.voice, "sentences": len(sentences), "scores": report},
                                        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
