"""A postfilter for predicted mels: sharpening along frequency.

An acoustic model trained with an L1 mel loss predicts the mean of what it cannot know, so its
mels are smoother across frequency than recorded ones (formants and harmonics blurred). A
vocoder trained on recorded mels then makes a duller sound. ``mel + s * (mel - blur(mel))``
restores the detail (the "global variance" postfilters of parametric TTS do the same); as a
fixed [n_mels, n_mels] matrix per frame it has no context in time (streamed windows stay
exact) and exports as one MatMul.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["MAX_SHARPENING", "sharpening_matrix"]

#: Upper bound of a vocoder's ``mel_sharpening``.
MAX_SHARPENING = 2.0


def sharpening_matrix(n_mels: int, strength: float, sigma: float = 1.5) -> Tensor:
    """[n_mels, n_mels] M with M @ mel = mel + strength * (mel - blur(mel)): blur is a Gaussian
    of ``sigma`` bins along frequency (radius 4 sigma, edge bins repeated)."""
    radius = int(4.0 * sigma + 0.5)
    weights = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    weights = weights / weights.sum()
    blur = torch.zeros(n_mels, n_mels, dtype=torch.float64)
    for i in range(n_mels):
        for k, w in zip(range(-radius, radius + 1), weights):
            blur[i, min(max(i + k, 0), n_mels - 1)] += w
    return ((1.0 + strength) * torch.eye(n_mels, dtype=torch.float64) - strength * blur).float()
