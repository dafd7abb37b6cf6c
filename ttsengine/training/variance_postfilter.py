"""A global-variance postfilter for a voice's CPU vocoder, folded into its weights.

The acoustic model, trained with an L1 loss, predicts mels that vary less around their mean than
recorded ones, and the regression-trained CPU vocoder makes a duller sound of them. Folding
``mean + scale * (mel - mean)`` into the vocoder's first convolution
(:meth:`~ttsengine.models.istft.ISTFTVocoder.scale_mel_variance`) gives the variation back at no
runtime cost; ``mean`` is the per-bin mean of the speaker's own predicted mels (speech frames of
the int8 calibration sentences of the voice's languages, ``ttsengine/export/data/calibration.json``,
none a held-out benchmark sentence). The wider mel makes a louder wave (+3.5 dB at 1.2 on the
default voice, with clipped peaks), so the wave's loudness on those sentences is brought back
(:meth:`~ttsengine.models.istft.ISTFTVocoder.scale_output`). Measured: BENCHMARKS.md ("Eighth
round"; the default voice's CPU path 4.35 -> 4.44 DistillMOS) and the clone benchmark.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ttsengine.errors import InvalidInputError

if TYPE_CHECKING:
    from ttsengine.models.istft import ISTFTVocoder

__all__ = ["DEFAULT_SCALE", "fold_variance_postfilter"]

logger = logging.getLogger("ttsengine")

#: The variance scale the default voice ships with (the middle of the measured plateau 1.15-1.3).
DEFAULT_SCALE = 1.2
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


def fold_variance_postfilter(voice_dir: str | os.PathLike[str], model: ISTFTVocoder, speaker: int,
                             scale: float = DEFAULT_SCALE) -> dict[str, Any]:
    """Folds the postfilter into ``model`` (in place) for ``speaker`` of the bundle at
    ``voice_dir`` (its acoustic model makes the mels); returns the provenance entries for
    voice.json's ``cpu_vocoder`` section."""
    import torch

    mels, floor = _predicted_mels(voice_dir, speaker)
    if not mels:
        raise InvalidInputError(f"{voice_dir}: the calibration sentences gave no mel to measure the postfilter on")
    speech = np.concatenate([m[:, m.mean(0) > floor + SPEECH_ABOVE_FLOOR] for m in mels], axis=1)
    if speech.shape[1] == 0:  # an untrained voice: no frame above the floor
        speech = np.concatenate(mels, axis=1)
    mean = speech.mean(axis=1)
    model.eval()
    before = _power(model, mels)
    model.scale_mel_variance(torch.from_numpy(mean).float(), scale)
    gain = float(np.sqrt(before / max(_power(model, mels), 1e-20)))
    model.scale_output(gain)
    logger.info("CPU vocoder: variance postfilter x%.2f (mean log-mel %.2f), output %+.2f dB", scale,
                float(mean.mean()), 20 * np.log10(gain))
    return {"mel_variance_scale": scale, "output_gain_db": round(20 * float(np.log10(gain)), 2),
            "mel_variance_mean": f"per-bin mean of speaker {speaker}'s predicted mels (speech frames of "
                                 "ttsengine/export/data/calibration.json), folded into conv_pre"}
