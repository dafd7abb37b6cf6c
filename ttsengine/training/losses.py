"""Training losses of the acoustic model and of HiFi-GAN (LSGAN, feature matching, mel)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ttsengine.audio import FeatureConfig, mel_filterbank

__all__ = [
    "masked_l1",
    "masked_mse",
    "TorchMel",
    "discriminator_loss",
    "generator_adv_loss",
    "feature_matching_loss",
]


def masked_l1(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean |pred - target| over the positions where ``mask`` (broadcastable) is True."""
    m = mask.to(pred.dtype).expand_as(pred)
    return ((pred - target).abs() * m).sum() / m.sum().clamp(min=1.0)


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    m = mask.to(pred.dtype).expand_as(pred)
    return (((pred - target) ** 2) * m).sum() / m.sum().clamp(min=1.0)


class TorchMel(nn.Module):
    """Differentiable log-mel identical to :func:`ttsengine.audio.log_mel_spectrogram`
    (HiFi-GAN convention: reflect pad (n_fft - hop) / 2, center=False, magnitude, Slaney mel)."""

    def __init__(self, cfg: FeatureConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("basis", torch.from_numpy(mel_filterbank(cfg)), persistent=False)
        n = np.arange(cfg.win_length)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / cfg.win_length)
        self.register_buffer("window", torch.from_numpy(window.astype(np.float32)), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:
        """wave [B, L] -> log-mel [B, n_mels, L // hop] (float32)."""
        c = self.cfg
        pad = (c.n_fft - c.hop_length) // 2
        x = F.pad(wave.float().unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        spec = torch.stft(x, c.n_fft, c.hop_length, c.win_length, self.window, center=False,
                          return_complex=True)
        mag = torch.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9)
        mel = torch.matmul(self.basis, mag).clamp(min=c.clamp_min)
        return torch.log(mel) if c.log == "natural" else torch.log10(mel)


def discriminator_loss(real: list[Tensor], fake: list[Tensor]) -> Tensor:
    """LSGAN: mean (1 - D(real))^2 + D(fake)^2, summed over sub-discriminators."""
    return sum(torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2) for r, f in zip(real, fake))


def generator_adv_loss(fake: list[Tensor]) -> Tensor:
    return sum(torch.mean((1 - f.float()) ** 2) for f in fake)


def feature_matching_loss(real_maps: list[list[Tensor]], fake_maps: list[list[Tensor]]) -> Tensor:
    """2 x sum of L1 distances between the discriminator feature maps (HiFi-GAN)."""
    loss = 0.0
    for rm, fm in zip(real_maps, fake_maps):
        for r, f in zip(rm, fm):
            loss = loss + torch.mean(torch.abs(r.detach().float() - f.float()))
    return 2.0 * loss
