"""GAN discriminators: HiFi-GAN's multi-period (MPD) and multi-scale (MSD) (Kong et al. 2020)
and a multi-resolution spectrogram discriminator (MRD, as UnivNet and Vocos train with).

Training only: the voice bundle stores the generator, never these. MPD / MSD layer shapes
follow the paper (periods 2, 3, 5, 7, 11; three scales, the first with spectral norm);
``width`` scales every channel count (1.0 = the paper's; smaller for CPU training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

__all__ = ["PeriodDiscriminator", "ScaleDiscriminator", "MultiPeriodDiscriminator",
           "MultiScaleDiscriminator", "HiFiGANDiscriminator", "ResolutionDiscriminator",
           "MultiResolutionDiscriminator", "VocoderDiscriminator"]

LRELU_SLOPE = 0.1

DiscOutput = tuple[list[Tensor], list[list[Tensor]]]


def _score(convs: nn.ModuleList, conv_post: nn.Module, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Leaky-ReLU conv stack + output conv: (flattened scores, every layer's output)."""
    fmap = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        fmap.append(x)
    x = conv_post(x)
    fmap.append(x)
    return torch.flatten(x, 1, -1), fmap


def _width(channels: int, width: float) -> int:
    """Channels scaled by ``width`` (1.0 = the paper), at least 16 (the group count)."""
    return max(16, int(round(channels * width / 16)) * 16)


class PeriodDiscriminator(nn.Module):
    """Reshapes the wave [B, 1, L] to [B, 1, L/p, p] and applies 2-D convs along time."""

    def __init__(self, period: int, kernel: int = 5, stride: int = 3, width: float = 1.0) -> None:
        super().__init__()
        self.period = period
        channels = tuple(_width(c, width) for c in (32, 128, 512, 1024))
        pad = (kernel - 1) // 2
        convs = []
        c_in = 1
        for c in channels:
            convs.append(weight_norm(nn.Conv2d(c_in, c, (kernel, 1), (stride, 1), padding=(pad, 0))))
            c_in = c
        convs.append(weight_norm(nn.Conv2d(c_in, c_in, (kernel, 1), 1, padding=(pad, 0))))
        self.convs = nn.ModuleList(convs)
        self.conv_post = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        b, c, t = x.shape
        if t % self.period:
            n_pad = self.period - (t % self.period)
            x = F.pad(x, (0, n_pad), "reflect" if t > n_pad else "constant")
            t = t + n_pad
        return _score(self.convs, self.conv_post, x.view(b, c, t // self.period, self.period))


class ScaleDiscriminator(nn.Module):
    """1-D grouped-conv discriminator on the (possibly average-pooled) wave."""

    def __init__(self, use_spectral_norm: bool = False, width: float = 1.0) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        c1, c2, c3, c4 = (_width(c, width) for c in (128, 256, 512, 1024))
        self.convs = nn.ModuleList([
            norm(nn.Conv1d(1, c1, 15, 1, padding=7)),
            norm(nn.Conv1d(c1, c1, 41, 2, groups=4, padding=20)),
            norm(nn.Conv1d(c1, c2, 41, 2, groups=16, padding=20)),
            norm(nn.Conv1d(c2, c3, 41, 4, groups=16, padding=20)),
            norm(nn.Conv1d(c3, c4, 41, 4, groups=16, padding=20)),
            norm(nn.Conv1d(c4, c4, 41, 1, groups=16, padding=20)),
            norm(nn.Conv1d(c4, c4, 5, 1, padding=2)),
        ])
        self.conv_post = norm(nn.Conv1d(c4, 1, 3, 1, padding=1))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        return _score(self.convs, self.conv_post, x)


class _Ensemble(nn.Module):
    """Sub-discriminators that all see the same wave: (their scores, their feature maps)."""

    discriminators: nn.ModuleList

    def forward(self, wave: Tensor) -> DiscOutput:
        outs, fmaps = [], []
        for d in self.discriminators:
            o, f = d(wave)
            outs.append(o)
            fmaps.append(f)
        return outs, fmaps


class MultiPeriodDiscriminator(_Ensemble):
    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, width=width) for p in periods)


class MultiScaleDiscriminator(nn.Module):
    def __init__(self, n_scales: int = 3, width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(use_spectral_norm=(i == 0), width=width) for i in range(n_scales))
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, wave: Tensor) -> DiscOutput:
        outs, fmaps = [], []
        x = wave
        for i, d in enumerate(self.discriminators):
            if i:
                x = self.pool(x)
            o, f = d(x)
            outs.append(o)
            fmaps.append(f)
        return outs, fmaps


class _Combined(nn.Module):
    """Ensembles side by side: the scores and feature maps of all their sub-discriminators, in
    the order the ensembles were assigned (their attribute names key the checkpoints)."""

    def forward(self, wave: Tensor) -> DiscOutput:
        outs: list[Tensor] = []
        fmaps: list[list[Tensor]] = []
        for ensemble in self.children():
            o, f = ensemble(wave)
            outs += o
            fmaps += f
        return outs, fmaps


class HiFiGANDiscriminator(_Combined):
    """MPD + MSD together: wave [B, 1, L] -> (scores, feature maps) of all sub-discriminators.

    ``width`` scales the channel counts (1.0 = the paper's; smaller for CPU tests).
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(width=width)
        self.msd = MultiScaleDiscriminator(width=width)


class ResolutionDiscriminator(nn.Module):
    """2-D convs over one STFT's log-magnitude [B, 1, frames, bins] (strided along frequency)."""

    def __init__(self, n_fft: int, hop: int, channels: int = 32) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        c = channels
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
        ])
        self.conv_post = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        spec = torch.stft(x.squeeze(1), self.n_fft, self.hop, self.n_fft, self.window, center=True,
                          return_complex=True)
        x = torch.log(spec.abs().clamp(min=1e-5)).transpose(1, 2).unsqueeze(1)  # [B, 1, frames, bins]
        return _score(self.convs, self.conv_post, x)


class MultiResolutionDiscriminator(_Ensemble):
    """Spectrogram discriminators at several (n_fft, hop): they see the harmonics' fine
    structure, which a wave-domain discriminator learns slowly."""

    def __init__(self, resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (2048, 512)),
                 channels: int = 16) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(ResolutionDiscriminator(n, h, channels) for n, h in resolutions)


class VocoderDiscriminator(_Combined):
    """MPD + MRD (the Vocos recipe): wave [B, 1, L] -> (scores, feature maps)."""

    def __init__(self, mpd_width: float = 0.25, mrd_channels: int = 16) -> None:
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(width=mpd_width)
        self.mrd = MultiResolutionDiscriminator(channels=mrd_channels)
