"""Folds a global-variance postfilter into a voice's CPU vocoder (no training, no runtime cost).

The acoustic model, trained with an L1 loss, predicts mels that vary less around their mean than
recorded ones; the CPU vocoder, a regression-trained source-filter network, then makes a duller
sound of them. This script gives the variation back: the vocoder hears
``mean + scale * (mel - mean)``, with ``mean`` the per-bin mean of the voice's own predicted mels
(speech frames of the int8 calibration sentences, ``ttsengine/export/data/calibration.json``,
none of them a held-out benchmark sentence), folded into the vocoder's first convolution
(:meth:`ttsengine.models.istft.ISTFTVocoder.scale_mel_variance`); the wave's loudness on those
sentences is then brought back to what it was (:meth:`~ttsengine.models.istft.ISTFTVocoder.scale_output`:
the wider mel alone made it 3.5 dB louder, with clipped peaks). The HiFi-GAN path is not touched
(it has its own postfilter, ``mel_sharpening``).

    python recipes/cpu_vocoder/variance_postfilter.py TRAINED --scale 1.2

Rewrites TRAINED's CPU vocoder in place (its ONNX graphs are removed: ship or export the
bundle again) and records ``mel_variance_scale`` and ``output_gain_db`` in voice.json's
``cpu_vocoder`` section.
Measured on the default voice: BENCHMARKS.md ("Eighth round").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ttsengine.export.int8 import calibration_sentences
from ttsengine.frontend import Frontend
from ttsengine.models.loading import load_acoustic
from ttsengine.training.clone import _render, _tokens
from ttsengine.training.distill import attach_cpu_vocoder, load_cpu_vocoder
from ttsengine.voice import load_voice

#: Frames whose mean log-mel is this far above the floor count as speech for the mean.
SPEECH_ABOVE_FLOOR = 3.0


def predicted_mels(voice_dir: Path, speaker: int = 0) -> list[np.ndarray]:
    """``voice_dir``'s predicted log-mels [n_mels, F] of its languages' calibration sentences."""
    voice = load_voice(voice_dir)
    acoustic = load_acoustic(voice).eval()
    frontend = Frontend.from_config(dict(voice.frontend))
    return [_render(acoustic, _tokens(frontend, sentence), speaker)[0]
            for _, sentence in calibration_sentences(tuple(frontend.languages))]


def speech_mean(mels: list[np.ndarray], floor: float) -> np.ndarray:
    """Per-bin mean [n_mels] over the frames whose mean is SPEECH_ABOVE_FLOOR above ``floor``."""
    return np.concatenate([m[:, m.mean(0) > floor + SPEECH_ABOVE_FLOOR] for m in mels], axis=1).mean(axis=1)


def output_power(model: torch.nn.Module, mels: list[np.ndarray]) -> float:
    with torch.no_grad():
        return float(np.mean([model(torch.from_numpy(m)[None].float()).pow(2).mean().item() for m in mels]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="bundle with a CPU vocoder (rewritten in place)")
    ap.add_argument("--scale", type=float, default=1.2, help="variance scale (1: no change; default 1.2)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    section = json.loads((args.voice / "voice.json").read_text(encoding="utf-8")).get("cpu_vocoder")
    if not section:
        sys.exit(f"{args.voice}: no CPU vocoder")
    if section.get("mel_variance_scale"):
        sys.exit(f"{args.voice}: its CPU vocoder already has a variance postfilter "
                 f"(x{section['mel_variance_scale']}); start from the bundle without it")
    mels = predicted_mels(args.voice)
    mean = speech_mean(mels, float(np.log(load_voice(args.voice).features["clamp_min"])))
    model = load_cpu_vocoder(args.voice).eval()
    before = output_power(model, mels)
    model.scale_mel_variance(torch.from_numpy(mean).float(), args.scale)
    # the wider mel makes a louder wave (+3.5 dB at 1.2, with peaks clipping): back to the old loudness
    gain = float(np.sqrt(before / output_power(model, mels)))
    model.scale_output(gain)
    provenance = {k: v for k, v in section.items() if k not in ("arch", "hparams", "receptive_field_frames")}
    provenance["mel_variance_scale"] = args.scale
    provenance["output_gain_db"] = round(20 * float(np.log10(gain)), 2)
    provenance["mel_variance_mean"] = ("per-bin mean of the voice's predicted mels (speech frames of "
                                       "ttsengine/export/data/calibration.json), folded into conv_pre")
    attach_cpu_vocoder(args.voice, model, provenance)
    print(f"{args.voice}: CPU vocoder hears mean + {args.scale} x (mel - mean); "
          f"mean log-mel {mean.mean():.3f} (bins {mean.min():.2f} .. {mean.max():.2f}); "
          f"output gain {provenance['output_gain_db']:+.2f} dB keeps its loudness")
    return 0


if __name__ == "__main__":
    sys.exit(main())
