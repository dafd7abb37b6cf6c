"""A frame-rate vocoder for CPUs: ConvNeXt blocks predict an STFT, an inverse STFT makes the wave.

The Vocos design (Siuzdenko 2023) at small size: every layer runs at the mel frame rate
(86 frames/s at 22,050 Hz, hop 256) instead of the sample rate, so a second of audio costs
tens of times fewer operations than HiFi-GAN V1. The head predicts log-magnitude and phase
of an ``n_fft``-point spectrum per frame; the inverse DFT is two fixed matrix products and the
overlap-add a reshape, so the whole network exports to plain ONNX (MatMul, Conv, Pad, Add).

It is trained by distillation from the voice's HiFi-GAN V1 (see ``ttsengine.training.distill``)
and runs where V1 is too slow: on CPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .acoustic import _from_dict

__all__ = ["ISTFTVocoderConfig", "ISTFTVocoder", "ISTFT_CONFIGS"]

#: Log-magnitudes are clamped here before exp (e^8 ~ 3000: far above any real spectrum).
_MAX_LOG_MAGNITUDE = 8.0


@dataclass(frozen=True, kw_only=True)
class ISTFTVocoderConfig:
    """Hyper-parameters of :class:`ISTFTVocoder` (voice.json ``vocoder.hparams``)."""

    n_mels: int = 80
    dim: int = 128
    intermediate: int = 384
    layers: int = 4
    kernel: int = 7
    hop_length: int = 256
    n_fft: int = 512

    def __post_init__(self) -> None:
        for name in ("n_mels", "dim", "intermediate", "layers", "hop_length"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ISTFTVocoderConfig.{name} must be >= 1")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError("ISTFTVocoderConfig.kernel must be odd")
        if self.n_fft != 2 * self.hop_length:
            raise ValueError("ISTFTVocoderConfig: n_fft must be 2 * hop_length (50 % overlap-add)")

    def to_dict(self) -> dict[str, Any]:
        return {"n_mels": self.n_mels, "dim": self.dim, "intermediate": self.intermediate,
                "layers": self.layers, "kernel": self.kernel, "hop_length": self.hop_length,
                "n_fft": self.n_fft}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ISTFTVocoderConfig:
        return _from_dict(cls, d)


ISTFT_CONFIGS: dict[str, ISTFTVocoderConfig] = {
    "small": ISTFTVocoderConfig(),
    "base": ISTFTVocoderConfig(dim=192, intermediate=576, layers=6),
}


class _ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, intermediate: int, kernel: int, scale: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate)
        self.pwconv2 = nn.Linear(intermediate, dim)
        self.gamma = nn.Parameter(torch.full((dim,), scale))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """x [B, dim, T]; mask [B, 1, T] zeroes padding before the time convolution."""
        y = self.dwconv(x if mask is None else x * mask).transpose(1, 2)
        y = self.pwconv2(_gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)


def _gelu(x: Tensor) -> Tensor:
    """``F.gelu`` (erf form) written in the order ONNX Runtime fuses into one Gelu kernel
    (Div, Erf, Add, Mul by x, Mul by 1/2); the exporter's own decomposition of ``F.gelu``
    is not fused (5 elementwise passes over the widest tensor of every block)."""
    return x * (torch.erf(x / math.sqrt(2.0)) + 1.0) * 0.5


def _inverse_dft_bases(n_fft: int) -> tuple[Tensor, Tensor]:
    """The windowed inverse real DFT of a half spectrum, for output samples 0..n_fft/2.

    Returns (cosine basis, sine basis), each [bins, bins] (bins = n_fft/2 + 1): frame sample
    n = C[n] + S[n] with C = real parts @ cosine basis and S = imaginary parts @ sine basis;
    sample n_fft - n = C[n] - S[n] (cosines are even, sines odd and the periodic Hann window
    symmetric about n_fft/2). Half the multiply-adds of one [n_fft + 2, n_fft] matrix.
    """
    bins = n_fft // 2 + 1
    k = torch.arange(bins, dtype=torch.float64)[:, None]
    n = torch.arange(bins, dtype=torch.float64)[None, :]
    angle = 2.0 * math.pi * k * n / n_fft
    weight = torch.full((bins, 1), 2.0, dtype=torch.float64)
    weight[0] = weight[-1] = 1.0
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)[:bins]  # sums to 1 at 50 % overlap
    cosine = weight * torch.cos(angle) / n_fft * window
    sine = -weight * torch.sin(angle) / n_fft * window
    return cosine.float(), sine.float()


class ISTFTVocoder(nn.Module):
    """mel [B, n_mels, F] (+ optional valid frames [B]) -> wave [B, F * hop]."""

    def __init__(self, config: ISTFTVocoderConfig) -> None:
        super().__init__()
        self.config = c = config
        self.conv_pre = nn.Conv1d(c.n_mels, c.dim, c.kernel, padding=c.kernel // 2)
        self.norm_pre = nn.LayerNorm(c.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            _ConvNeXtBlock(c.dim, c.intermediate, c.kernel, 1.0 / c.layers) for _ in range(c.layers))
        self.norm_post = nn.LayerNorm(c.dim, eps=1e-6)
        self.head = nn.Linear(c.dim, c.n_fft + 2)
        cosine, sine = _inverse_dft_bases(c.n_fft)
        self.register_buffer("cosine_basis", cosine, persistent=False)
        self.register_buffer("sine_basis", sine, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def spectrum(self, mel: Tensor, frame_lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """mel [B, n_mels, F] -> (real, imaginary) half spectra, each [B, F, n_fft/2 + 1], 0 on padding."""
        mask = None
        if frame_lengths is not None:
            pos = torch.arange(mel.shape[-1], device=mel.device)
            mask = (pos[None, :] < frame_lengths.to(pos.dtype)[:, None]).unsqueeze(1).to(mel.dtype)
            mel = mel * mask
        x = self.conv_pre(mel)
        x = self.norm_pre(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x, mask)
        out = self.head(self.norm_post(x.transpose(1, 2)))
        bins = self.config.n_fft // 2 + 1  # slices, not chunk(): Split-18 does not convert to opset 17
        log_mag, phase = out[..., :bins], out[..., bins:]
        magnitude = torch.exp(log_mag.clamp(max=_MAX_LOG_MAGNITUDE))
        if mask is not None:
            magnitude = magnitude * mask.transpose(1, 2)
        return magnitude * torch.cos(phase), magnitude * torch.sin(phase)

    def windowed_frames(self, real: Tensor, imag: Tensor) -> tuple[Tensor, Tensor]:
        """Half spectra [..., n_fft/2 + 1] -> the Hann-windowed inverse DFT's two halves
        (samples 0..hop-1, hop..n_fft-1), each [..., hop]."""
        hop = self.config.hop_length
        even, odd = real @ self.cosine_basis, imag @ self.sine_basis  # samples 0..hop
        # sample n = even + odd, sample n_fft - n = even - odd (odd is 0 at 0 and at hop)
        return (even + odd)[..., :hop], torch.flip((even - odd)[..., 1:], dims=[-1])

    def forward(self, mel: Tensor, frame_lengths: Tensor | None = None) -> Tensor:
        """mel [B, n_mels, F] -> wave [B, F * hop]; samples past ``frame_lengths * hop`` are 0.

        Frame t's window covers samples [(t - 1/2) * hop, (t + 3/2) * hop): centred on the hop
        block [t * hop, (t + 1) * hop) that HiFi-GAN makes for frame t.
        """
        hop = self.config.hop_length
        batch, n_frames = mel.shape[0], mel.shape[-1]
        first, second = self.windowed_frames(*self.spectrum(mel, frame_lengths))
        zero = torch.zeros_like(first[:, :1])  # (not F.pad: ONNX Pad-18 does not convert to opset 17)
        blocks = torch.cat([first, zero], dim=1) + torch.cat([zero, second], dim=1)  # [B, F + 1, hop]
        wave = blocks.reshape(batch, (n_frames + 1) * hop)[:, hop // 2 : hop // 2 + n_frames * hop]
        if frame_lengths is not None:
            pos = torch.arange(n_frames * hop, device=mel.device)
            wave = wave * (pos[None, :] < (frame_lengths.to(pos.dtype) * hop)[:, None]).to(wave.dtype)
        return wave

    def receptive_field_frames(self) -> int:
        """One-sided receptive field in mel frames (exactness of chunked vocoding)."""
        return (self.config.kernel // 2) * (self.config.layers + 1) + 1
