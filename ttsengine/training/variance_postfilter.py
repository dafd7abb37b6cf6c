"""A global-variance postfilter for a voice's CPU vocoder, folded into its weights.

The regression-trained CPU vocoder makes a duller sound of the acoustic model's smooth mels than
HiFi-GAN V1 does, most of all in the upper bands (it smears the harmonics above ~2 kHz). Folding
``mean + scale * (mel - mean)`` into the vocoder's first convolution
(:meth:`~ttsengine.models.istft.ISTFTVocoder.scale_mel_variance`) sharpens what it hears at no
runtime cost. It compensates the vocoder rather than restoring a lost variance: over speech frames
the recorded mels' standard deviation per bin is only 1.00-1.07 x the predicted ones' (largest in
the low bins; 160 training utterances of the default voice). ``mean`` is the per-bin mean of the
speaker's own predicted mels (speech frames of the int8 calibration sentences of the voice's
languages, ``ttsengine/export/data/calibration.json``, none a held-out benchmark sentence). ``scale`` is one number for every mel bin or a linear ramp
``(low, high)`` from the first bin to the last: the default ramp 1.1 -> 1.6 was chosen on those
calibration sentences (a uniform 1.2 before it) and measured on the held-out ones. The wider mel
makes a louder wave (+4.5 dB with the default ramp on the default voice, with clipped peaks), so
the wave's loudness on those sentences is brought back
(:meth:`~ttsengine.models.istft.ISTFTVocoder.scale_output`). Measured: BENCHMARKS.md ("Eighth" and
"Ninth round") and the clone benchmark.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ttsengine.errors import InvalidInputError

if TYPE_CHECKING:
    from ttsengine.models.istft import ISTFTVocoder

__all__ = ["DEFAULT_SCALE", "Scale", "fold_variance_postfilter", "variance_scales"]

logger = logging.getLogger("ttsengine")

#: The variance scales the default voice ships with: a linear ramp over the mel bins, 1.1 at the
#: lowest, 1.6 at the highest (the middle of the plateau measured on the calibration sentences).
DEFAULT_SCALE: tuple[float, float] = (1.1, 1.6)

Scale = float | tuple[float, float]
#: Frames whose mean log-mel is this far above the floor count as speech for the mean.
SPEECH_ABOVE_FLOOR = 3.0


def _predicted_mels(voice_dir: str | os.PathLike[str], speaker: int) -> tuple[list[np.ndarray], float]:
    """``speaker``'s predicted log-mels of the calibration sentences, and the mel floor."""
    from ttsengine.export.int8 import calibration_sentences
    from ttsengine.frontend import Frontend
    from ttsengine.models.loading import load_acoustic
    from ttsengine.voice import load_voice

    from .rendering import render_mel, text_tokens

    voice = load_voice(voice_dir)
    acoustic = load_acoustic(voice).eval()
    frontend = Frontend.from_config(dict(voice.frontend))
    mels = [render_mel(acoustic, text_tokens(frontend, sentence), speaker)[0]
            for _, sentence in calibration_sentences(tuple(frontend.languages))]
    return [m for m in mels if m.shape[1] > 0], float(np.log(voice.features["clamp_min"]))


def _power(model: ISTFTVocoder, mels: list[np.ndarray]) -> float:
    import torch

    with torch.no_grad():
        return float(np.mean([model(torch.from_numpy(m)[None].float()).pow(2).mean().item() for m in mels]))


def variance_scales(scale: Scale, n_mels: int) -> np.ndarray:
    """One scale per mel bin: ``scale`` for every bin, or ``(low, high)`` ramped linearly from
    the first bin to the last. Raises :class:`InvalidInputError` unless every scale is > 0."""
    values = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    if values.size == 1:
        scales = np.full(n_mels, float(values[0]))
    elif values.size == 2:
        scales = np.linspace(values[0], values[1], n_mels)
    else:
        raise InvalidInputError(f"variance scale: one number or (low, high), got {scale!r}")
    if not np.all(np.isfinite(scales)) or not np.all(scales > 0):
        raise InvalidInputError(f"variance scale must be > 0, got {scale!r}")
    return scales


def fold_variance_postfilter(voice_dir: str | os.PathLike[str], model: ISTFTVocoder, speaker: int,
                             scale: Scale = DEFAULT_SCALE) -> dict[str, Any]:
    """Folds the postfilter into ``model`` (in place) for ``speaker`` of the bundle at
    ``voice_dir`` (its acoustic model makes the mels); returns the provenance entries for
    voice.json's ``cpu_vocoder`` section."""
    import torch

    scales = variance_scales(scale, model.config.n_mels)
    mels, floor = _predicted_mels(voice_dir, speaker)
    if not mels:
        raise InvalidInputError(f"{voice_dir}: the calibration sentences gave no mel to measure the postfilter on")
    speech = np.concatenate([m[:, m.mean(0) > floor + SPEECH_ABOVE_FLOOR] for m in mels], axis=1)
    if speech.shape[1] == 0:  # an untrained voice: no frame above the floor
        speech = np.concatenate(mels, axis=1)
    mean = speech.mean(axis=1)
    model.eval()
    before = _power(model, mels)
    model.scale_mel_variance(torch.from_numpy(mean).float(), torch.from_numpy(scales).float())
    gain = float(np.sqrt(before / max(_power(model, mels), 1e-20)))
    model.scale_output(gain)
    recorded = float(scales[0]) if np.ptp(scales) == 0 else [round(float(scales[0]), 4), round(float(scales[-1]), 4)]
    logger.info("CPU vocoder: variance postfilter x%s (mean log-mel %.2f), output %+.2f dB", recorded,
                float(mean.mean()), 20 * np.log10(gain))
    return {"mel_variance_scale": recorded, "output_gain_db": round(20 * float(np.log10(gain)), 2),
            "mel_variance_mean": f"per-bin mean of speaker {speaker}'s predicted mels (speech frames of "
                                 "ttsengine/export/data/calibration.json), folded into conv_pre"}
