"""Folds a global-variance postfilter into a voice's CPU vocoder (no training, no runtime cost).

The vocoder then hears ``mean + scale * (mel - mean)`` of the acoustic model's smooth mels, and
its output is brought back to its former loudness (``ttsengine/training/variance_postfilter.py``
says how and why). The HiFi-GAN path is not touched (it has its own postfilter,
``mel_sharpening``). Clones get the same postfilter for their new speaker (``ttsengine clone``).

    python recipes/cpu_vocoder/variance_postfilter.py TRAINED --scale 1.1 1.6

Rewrites TRAINED's CPU vocoder in place (its ONNX graphs are removed: ship or export the bundle
again) and records ``mel_variance_scale`` and ``output_gain_db`` in voice.json's ``cpu_vocoder``
section. Measured on the default voice: BENCHMARKS.md ("Eighth round").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ttsengine.errors import InvalidInputError
from ttsengine.training.distill import attach_cpu_vocoder, load_cpu_vocoder
from ttsengine.training.variance_postfilter import DEFAULT_SCALE, fold_variance_postfilter
from ttsengine.voice import load_voice


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="bundle with a CPU vocoder (rewritten in place)")
    ap.add_argument("--scale", type=float, nargs="+", default=list(DEFAULT_SCALE), metavar="S",
                    help="variance scale of every mel bin, or LOW HIGH ramped linearly from the first bin to "
                         f"the last (1: no change; default {' '.join(map(str, DEFAULT_SCALE))})")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    section = json.loads((args.voice / "voice.json").read_text(encoding="utf-8")).get("cpu_vocoder")
    if not section:
        sys.exit(f"{args.voice}: no CPU vocoder")
    if section.get("mel_variance_scale"):
        sys.exit(f"{args.voice}: its CPU vocoder already has a variance postfilter "
                 f"(x{section['mel_variance_scale']}); start from the bundle without it")
    voice = load_voice(args.voice)
    default = voice.defaults.get("speaker", 0)
    speaker = int(voice.speakers[default] if isinstance(default, str) else default)
    model = load_cpu_vocoder(args.voice)
    provenance = {k: v for k, v in section.items() if k not in ("arch", "hparams", "receptive_field_frames")}
    scale = args.scale[0] if len(args.scale) == 1 else tuple(args.scale)
    try:
        provenance |= fold_variance_postfilter(args.voice, model, speaker, scale)
    except InvalidInputError as e:
        sys.exit(f"variance_postfilter.py: {e}")
    attach_cpu_vocoder(args.voice, model, provenance)
    print(f"{args.voice}: CPU vocoder hears mean + {provenance['mel_variance_scale']} x (mel - mean); output "
          f"{provenance['output_gain_db']:+.2f} dB keeps its loudness")
    return 0


if __name__ == "__main__":
    sys.exit(main())
