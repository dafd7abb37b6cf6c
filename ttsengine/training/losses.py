"""Training losses of the acoustic model and of HiFi-GAN (LSGAN, feature matching, mel), and
the CPU vocoder's harmonic phase loss."""

from __future__ import annotations

import math

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
    "harmonic_amplitudes",
    "harmonic_phase_loss",
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


def harmonic_amplitudes(wave: Tensor, f0: Tensor, hop: int, sample_rate: int, window: int = 1024,
                        harmonics: int = 20) -> Tensor:
    """Complex amplitudes [B, F, K] of the harmonics k * f0 (k = 1..K) of ``wave`` [B, F * hop] in
    a Hann window of ``window`` samples centred on each mel frame (centre i * hop + hop / 2),
    their phases referred to that centre (so a small F0 error barely moves them); ``f0`` [B, F]
    in Hz (0: unvoiced, scored as 0 Hz)."""
    batch, frames = f0.shape
    left = window // 2 - hop // 2
    pieces = F.pad(wave, (left, window)).unfold(-1, window, hop)[:, :frames]  # [B, F, N]
    n = torch.arange(window, device=wave.device, dtype=torch.float32) - (window / 2 - 0.5)
    hann = torch.hann_window(window, periodic=False, device=wave.device)
    k = torch.arange(1, harmonics + 1, device=wave.device, dtype=torch.float32)
    angle = (2 * math.pi / sample_rate) * f0.float()[..., None, None] * k[:, None] * n  # [B, F, K, N]
    weighted = (pieces.float() * hann)[:, :, None, :]
    return torch.complex((weighted * torch.cos(angle)).sum(-1), -(weighted * torch.sin(angle)).sum(-1))


def harmonic_phase_loss(student: Tensor, target: Tensor, f0: Tensor, hop: int, sample_rate: int,
                        max_hz: float = 4000.0, harmonics: int = 20) -> Tensor:
    """How far the phases of the student's harmonics are from the target's, whatever the
    pulses' timing: 1 - cos of the difference of the phases' second difference across
    harmonics (phi[k+1] - 2 phi[k] + phi[k-1], unchanged by a time shift or a constant phase),
    weighted by the weakest of the three target harmonics (relative to the frame's strongest),
    over voiced frames and harmonics below ``max_hz``. 0 for a shifted copy of the target;
    ~1 for unrelated phases. ``f0`` [B, F] in Hz (0 = unvoiced): the target's."""
    a_s = harmonic_amplitudes(student, f0, hop, sample_rate, harmonics=harmonics)
    a_t = harmonic_amplitudes(target, f0, hop, sample_rate, harmonics=harmonics)
    k = torch.arange(1, harmonics + 1, device=f0.device, dtype=torch.float32)
    valid = ((f0[..., None] > 0) & (k * f0[..., None] < max_hz)).float()
    magnitude = a_t.abs()
    magnitude = magnitude / magnitude.amax(-1, keepdim=True).clamp(min=1e-9)
    weight = torch.minimum(torch.minimum(magnitude[..., 2:], magnitude[..., 1:-1]), magnitude[..., :-2])
    weight = weight * valid[..., 2:]

    def curvature(a: Tensor) -> Tensor:
        # atan2 of (real, imag + 0): a silent student harmonic has a defined (if useless) phase
        phase = torch.atan2(a.imag, a.real + 1e-12)
        return phase[..., 2:] - 2 * phase[..., 1:-1] + phase[..., :-2]

    mismatch = 1.0 - torch.cos(curvature(a_s) - curvature(a_t).detach())
    return (weight * mismatch).sum() / weight.sum().clamp(min=1e-6)
