"""A frame-rate vocoder for CPUs: ConvNeXt blocks predict an STFT, an inverse STFT makes the wave.

The Vocos design (Siuzdenko 2023) at small size: every layer runs at the mel frame rate
(86 frames/s at 22,050 Hz, hop 256) instead of the sample rate, so a second of audio costs
tens of times fewer operations than HiFi-GAN V1. The head predicts log-magnitude and phase
of an ``n_fft``-point spectrum per frame; the inverse DFT is two fixed matrix products and the
overlap-add a reshape, so the whole network exports to plain ONNX (MatMul, Conv, Pad, Add).

With ``excitation="pulse"`` it is a source-filter vocoder: the same trunk also predicts F0
and voicing; a band-limited pulse train at that F0 (framed and transformed in-graph) passes a
predicted harmonic filter, plus noise with fixed pseudo-random phases through a noise filter,
plus the free-phase spectrum. The harmonics then keep their phase from frame to frame by
construction (the plain head has to predict it, and smears them above ~2 kHz). The pulse
phase integrates F0, so a streamed window takes the phase at its first block and hands back
the phase per block (``phase`` / ``anchor`` / ``offset`` / ``cycles`` in the ONNX contract).

It is trained by distillation from the voice's HiFi-GAN V1, then on recorded speech (see
``ttsengine.training.distill``), and runs where V1 is too slow: on CPUs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .acoustic import _from_dict

__all__ = ["ISTFTVocoderConfig", "ISTFTVocoder", "ISTFT_CONFIGS"]

#: Log-magnitudes are clamped here before exp (e^8 ~ 3000: far above any real spectrum).
_MAX_LOG_MAGNITUDE = 8.0
#: Kinds of ``ISTFTVocoderConfig.excitation``.
EXCITATIONS = ("none", "pulse")
#: Log-F0 the pitch head predicts relative to (e^5.3 ~ 200 Hz), and its clamp (50-1100 Hz).
_LOG_F0_CENTRE, _LOG_F0_RANGE = 5.3, (3.9, 7.0)
#: Modulus (prime) of the noise part's phase hash.
_NOISE_MODULUS = 65521
#: The noise part's phases repeat every this many frames (11.9 s at 22.05 kHz / hop 256): their
#: cosines and sines are a table of the integer hash's first period (looked up, not computed).
_NOISE_PERIOD = 1024
#: Harmonics of the pulse train stop below this fraction of the sample rate.
_PULSE_TOP = 0.45


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
    #: ``"none"``: the head predicts the whole spectrum (magnitude and a free phase per bin).
    #: ``"pulse"``: source-filter: the network also predicts F0 and voicing from the mel; a
    #: band-limited pulse train at that F0 is filtered by a predicted harmonic filter, plus
    #: shaped noise, plus the free-phase spectrum (harmonics keep their phase from frame to frame).
    excitation: str = "none"
    #: ``"pulse"`` only: keep the free-phase spectrum beside the source-filter parts. After
    #: the hand-over it carries ~1e-3 of the voiced energy; without it the graph skips a
    #: head, its exp / cos / sin and two adds per bin (``ttsengine distill-vocoder
    #: --drop-free-part``).
    free_part: bool = True
    #: The wave's sample rate (the pulse train's phase advances f0 / sample_rate per sample).
    sample_rate: int = 22050

    def __post_init__(self) -> None:
        for name in ("n_mels", "dim", "intermediate", "layers", "hop_length"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ISTFTVocoderConfig.{name} must be >= 1")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError("ISTFTVocoderConfig.kernel must be odd")
        if self.n_fft != 2 * self.hop_length:
            raise ValueError("ISTFTVocoderConfig: n_fft must be 2 * hop_length (50 % overlap-add)")
        if self.excitation not in EXCITATIONS:
            raise ValueError(f"ISTFTVocoderConfig.excitation must be one of {EXCITATIONS}")
        if not self.free_part and self.excitation != "pulse":
            raise ValueError("ISTFTVocoderConfig.free_part=False needs excitation='pulse' (the free part is "
                             "the whole spectrum otherwise)")

    def to_dict(self) -> dict[str, Any]:
        return {"n_mels": self.n_mels, "dim": self.dim, "intermediate": self.intermediate,
                "layers": self.layers, "kernel": self.kernel, "hop_length": self.hop_length,
                "n_fft": self.n_fft, **({"excitation": self.excitation, "sample_rate": self.sample_rate}
                                     if self.excitation != "none" else {}),
                **({} if self.free_part else {"free_part": False})}

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


def _forward_dft_bases(n_fft: int) -> tuple[Tensor, Tensor, Tensor]:
    """The forward real DFT of frames folded about n_fft/2, and the analysis window that
    makes filtering with unit gain exact under the Hann synthesis window at 50 % overlap.

    Returns (cosine basis, sine basis) [bins, bins] for x_sym[n] = (x[n] + x[-n]) / (2 at
    n = 0, hop), x_anti[n] = x[n] - x[-n] (n = 0..hop): real = x_sym @ C, imag = x_anti @ S;
    and the dual window [n_fft] w / (w^2 + w_shifted^2) (w: periodic Hann).
    """
    bins = n_fft // 2 + 1
    k = torch.arange(bins, dtype=torch.float64)[None, :]
    n = torch.arange(bins, dtype=torch.float64)[:, None]
    angle = 2.0 * math.pi * k * n / n_fft
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    dual = window / (window ** 2 + torch.roll(window, n_fft // 2) ** 2)
    return torch.cos(angle).float(), (-torch.sin(angle)).float(), dual.float()


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
        self.head = nn.Linear(c.dim, c.n_fft + 2) if c.free_part else None
        cosine, sine = _inverse_dft_bases(c.n_fft)
        self.register_buffer("cosine_basis", cosine, persistent=False)
        self.register_buffer("sine_basis", sine, persistent=False)
        if c.excitation == "pulse":
            bins = c.n_fft // 2 + 1
            self.pitch_head = nn.Linear(c.dim, 2)          # log-F0 (around e^5.3 Hz), voicing logit
            self.source_head = nn.Linear(c.dim, 3 * bins)  # harmonic log-gain, its phase turn, noise log-gain
            fwd_cos, fwd_sin, dual = _forward_dft_bases(c.n_fft)
            self.register_buffer("forward_cosine", fwd_cos, persistent=False)
            self.register_buffer("forward_sine", fwd_sin, persistent=False)
            self.register_buffer("analysis_window", dual, persistent=False)
            ramp = torch.arange(c.hop_length, dtype=torch.float32) / c.hop_length
            self.register_buffer("ramp", ramp, persistent=False)
            fold = torch.ones(bins)
            fold[0] = fold[-1] = 0.5
            self.register_buffer("fold", fold, persistent=False)
            self.register_buffer("bins", torch.arange(bins, dtype=torch.int64), persistent=False)
            period = self._hashed_phases(torch.arange(_NOISE_PERIOD)[None, :])[0]  # [period, bins]
            self.register_buffer("noise_cos", torch.cos(period), persistent=False)
            self.register_buffer("noise_sin", torch.sin(period), persistent=False)
        self.apply(self._init)
        if c.excitation == "pulse":  # start with quiet harmonic and noise parts (the free part as before)
            with torch.no_grad():
                self.source_head.bias.view(3, -1)[0].fill_(-5.0)
                self.source_head.bias.view(3, -1)[2].fill_(-7.0)

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
        real, imag, _, _ = self.spectrum_and_pitch(mel, frame_lengths)
        return real, imag

    def spectrum_and_pitch(self, mel: Tensor, frame_lengths: Tensor | None = None,
                           log_f0: Tensor | None = None, phase0: Tensor | None = None,
                           anchor: Tensor | None = None, offset: Tensor | None = None,
                           ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """The half spectra (as :meth:`spectrum`) and, with ``excitation="pulse"``, the pitch
        head's output [B, F, 2] (log-F0 around e^5.3, voicing logit) and the pulse train's
        phase in cycles at the start of each of the F + 1 overlap-add blocks [B, F + 1]
        (else None, None).

        ``log_f0`` [B, F] (natural log of Hz, 0 = unvoiced) replaces the predicted F0 and
        voicing (teacher forcing in training); ``phase0`` [B] is the phase in cycles at block
        ``anchor`` [B] (int; 0 when None) and 0 when None; ``offset`` [B] (int; 0 when None)
        is the absolute index of frame 0 (a streamed window's first frame), for the noise."""
        mask = None
        if frame_lengths is not None:
            pos = torch.arange(mel.shape[-1], device=mel.device)
            mask = (pos[None, :] < frame_lengths.to(pos.dtype)[:, None]).unsqueeze(1).to(mel.dtype)
            mel = mel * mask
        x = self.conv_pre(mel)
        x = self.norm_pre(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x, mask)
        hidden = self.norm_post(x.transpose(1, 2))
        bins = self.config.n_fft // 2 + 1  # slices, not chunk(): Split-18 does not convert to opset 17
        real = imag = None
        if self.head is not None:
            out = self.head(hidden)
            log_mag, phase = out[..., :bins], out[..., bins:]
            magnitude = torch.exp(log_mag.clamp(max=_MAX_LOG_MAGNITUDE))
            if mask is not None:
                magnitude = magnitude * mask.transpose(1, 2)
            real, imag = magnitude * torch.cos(phase), magnitude * torch.sin(phase)
        if self.config.excitation == "none":
            return real, imag, None, None
        pitch = self.pitch_head(hidden)
        if log_f0 is None:
            f0_log = (pitch[..., 0] + _LOG_F0_CENTRE).clamp(*_LOG_F0_RANGE)
            voicing = torch.sigmoid(pitch[..., 1])
        else:
            voicing = (log_f0 > 0).to(mel.dtype)
            f0_log = torch.where(log_f0 > 0, log_f0, torch.full_like(log_f0, _LOG_F0_CENTRE))
        if frame_lengths is not None:  # padded frames repeat the row's last one (as a run of that row alone)
            last = (frame_lengths.to(torch.int64) - 1).clamp(min=0)[:, None]
            index = torch.minimum(torch.arange(mel.shape[-1], device=mel.device)[None, :], last)
            f0_log, voicing = torch.gather(f0_log, 1, index), torch.gather(voicing, 1, index)
        ex_real, ex_imag, cycles = self.pulse_spectrum(f0_log.detach(), voicing.detach(), phase0, anchor)
        src = self.source_head(hidden)
        gain = torch.exp(src[..., :bins].clamp(max=_MAX_LOG_MAGNITUDE))
        turn = math.pi * torch.tanh(src[..., bins:2 * bins])
        noise = torch.exp(src[..., 2 * bins:].clamp(max=_MAX_LOG_MAGNITUDE))
        if mask is not None:
            gain, noise = gain * mask.transpose(1, 2), noise * mask.transpose(1, 2)
        cos_t, sin_t = torch.cos(turn), torch.sin(turn)
        noise_cos, noise_sin = self.noise_rotations(mel.shape[-1], offset)
        source_real = gain * (cos_t * ex_real - sin_t * ex_imag) + noise * noise_cos
        source_imag = gain * (sin_t * ex_real + cos_t * ex_imag) + noise * noise_sin
        if real is None or imag is None:
            return source_real, source_imag, pitch, cycles
        return real + source_real, imag + source_imag, pitch, cycles

    @torch.no_grad()
    def scale_mel_variance(self, mean: Tensor, scale: float | Tensor) -> None:
        """Folds a global-variance postfilter into the first convolution (in place): the network
        then hears ``mean + scale * (mel - mean)`` (``mean`` [n_mels]: per mel bin; ``scale`` a
        number or one per mel bin), at no cost; ``scale`` > 1 widens the mel around its mean, as
        the "global variance" postfilters of parametric TTS do (why and how much:
        :mod:`ttsengine.training.variance_postfilter`). Exact wherever the
        convolution's window lies inside the mel; within ``kernel // 2`` frames of its ends the
        zero padding is not shifted by the mean."""
        n_mels = self.config.n_mels
        dtype = self.conv_pre.weight.dtype
        mean = torch.as_tensor(mean, dtype=dtype).reshape(-1)
        if mean.numel() != n_mels:
            raise ValueError(f"mean has {mean.numel()} bins, the vocoder {n_mels}")
        scales = torch.as_tensor(scale, dtype=dtype).reshape(-1)
        if scales.numel() == 1:
            scales = scales.expand(n_mels)
        if scales.numel() != n_mels:
            raise ValueError(f"scale has {scales.numel()} bins, the vocoder {n_mels}")
        if not bool((scales > 0).all()):
            raise ValueError(f"scale must be > 0, got {scale}")
        weight = self.conv_pre.weight  # [dim, n_mels, kernel]
        self.conv_pre.bias += weight.sum(-1) @ ((1.0 - scales) * mean)
        weight *= scales[None, :, None]

    @torch.no_grad()
    def scale_output(self, gain: float) -> None:
        """Multiplies the wave by ``gain`` (in place), folded into the log-magnitude biases of
        every part (free spectrum, harmonic and noise filters): exact while no magnitude
        reaches the clamp of the exponent."""
        if not gain > 0:
            raise ValueError(f"gain must be > 0, got {gain}")
        bins = self.config.n_fft // 2 + 1
        shift = math.log(gain)
        if self.head is not None:
            self.head.bias[:bins] += shift
        if self.config.excitation == "pulse":
            biases = self.source_head.bias.view(3, bins)
            biases[0] += shift
            biases[2] += shift

    @torch.no_grad()
    def without_free_part(self) -> ISTFTVocoder:
        """A copy of this source-filter vocoder without its free-phase part (the same
        weights otherwise; :attr:`ISTFTVocoderConfig.free_part`)."""
        if self.config.excitation != "pulse":
            raise ValueError("without_free_part needs excitation='pulse'")
        config = dataclasses.replace(self.config, free_part=False)
        model = ISTFTVocoder(config)
        model.load_state_dict({k: v for k, v in self.state_dict().items() if not k.startswith("head.")})
        return model

    @torch.no_grad()
    def hand_over_to_the_source(self) -> None:
        """Starts the source-filter heads where the free-phase head is: the harmonic filter
        takes its magnitudes (divided by the pulse train's peak at a harmonic), the noise
        filter the same e^-1 lower, and the free part drops to e^-3. Regression training then
        moves from there; a quiet start (the constructor's) leaves the free part carrying the
        sound (measured: the harmonic part stayed ~1e-5 of the energy after 2000 steps)."""
        if self.config.excitation != "pulse" or self.head is None:
            raise ValueError("hand_over_to_the_source needs excitation='pulse' with the free part")
        bins = self.config.n_fft // 2 + 1
        real, imag, _ = self.pulse_spectrum(torch.full((1, 40), math.log(200.0)), torch.ones(1, 40))
        peak = float(torch.sqrt(real ** 2 + imag ** 2)[0, 10:30].max(-1).values.median())
        weight, bias = self.head.weight[:bins], self.head.bias[:bins]
        source_w, source_b = self.source_head.weight.view(3, bins, -1), self.source_head.bias.view(3, bins)
        source_w[0].copy_(weight)
        source_b[0].copy_(bias - math.log(peak))
        source_w[1].zero_()
        source_b[1].zero_()
        source_w[2].copy_(weight)
        source_b[2].copy_(bias - 1.0)
        self.head.bias[:bins] -= 3.0

    def _hashed_phases(self, frames: Tensor) -> Tensor:
        """Pseudo-random phases [B, F, bins] of absolute frames [B, F] (int64): an integer
        hash of the frame and the bin, exact in int64 everywhere."""
        t, k = frames[..., None], self.bins
        hashed = (t * t * 7919 + k * k * 104729 + t * k * 1299709 + t * 15485863 + k * 32452843) % _NOISE_MODULUS
        return hashed.to(torch.float32) * (2.0 * math.pi / _NOISE_MODULUS)

    def noise_rotations(self, n_frames: int, offset: Tensor | None) -> tuple[Tensor, Tensor]:
        """cos and sin [B or 1, F, bins] of the noise part's fixed pseudo-random phases: those of
        the absolute frame (``offset`` [B] + 0..F-1) modulo :data:`_NOISE_PERIOD`, looked up in
        a table of the integer hash's first period, so a streamed window's noise is the whole
        run's on every backend."""
        frames = torch.arange(n_frames, device=self.bins.device)[None, :]
        if offset is not None:
            frames = frames + offset.to(torch.int64)[:, None]
        frames = torch.remainder(frames, _NOISE_PERIOD)
        return self.noise_cos[frames], self.noise_sin[frames]

    def pulse_spectrum(self, log_f0: Tensor, voicing: Tensor, phase0: Tensor | None = None,
                       anchor: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """A band-limited pulse train (every harmonic of F0 below 0.45 x the sample rate, unit
        amplitude, times the voicing), framed as the output frames and transformed:
        (real, imaginary) [B, F, bins], and its phase at each block start [B, F + 1] (as
        :meth:`spectrum_and_pitch`). F0 and voicing are linear between frame centres."""
        c = self.config
        hop, rate = c.hop_length, float(c.sample_rate)
        f0 = torch.exp(log_f0)
        # sample blocks 0..F of the overlap-add grid; frame t's centre is the start of block t + 1
        f0_pad = torch.cat([f0[:, :1], f0, f0[:, -1:]], dim=1)
        v_pad = torch.cat([voicing[:, :1], voicing, voicing[:, -1:]], dim=1)
        ramp = self.ramp
        f0_s = f0_pad[:, :-1, None] * (1.0 - ramp) + f0_pad[:, 1:, None] * ramp  # [B, F + 1, hop]
        v_s = v_pad[:, :-1, None] * (1.0 - ramp) + v_pad[:, 1:, None] * ramp
        step = f0_s / rate
        within = torch.cumsum(step, dim=-1) - step
        # whole cycles drop out; the running sum in float64 (float32 would round a minute's
        # phase to ~1e-3 cycles)
        block = step.sum(-1).to(torch.float64)
        block = block - torch.floor(block)
        start = torch.cumsum(block, dim=1) - block
        if anchor is not None:
            start = start - torch.gather(start, 1, anchor.to(torch.int64)[:, None])
        if phase0 is not None:
            start = start + phase0.to(torch.float64)[:, None]
        start = (start - torch.floor(start)).to(step.dtype)
        cycles = start[..., None] + within
        angle = 2.0 * math.pi * (cycles - torch.floor(cycles))
        top = torch.floor(_PULSE_TOP * rate / f0_s)
        denominator = 2.0 * torch.sin(0.5 * angle)
        near_zero = torch.abs(denominator) < 1e-4
        safe = torch.where(near_zero, torch.ones_like(denominator), denominator)
        pulses = torch.where(near_zero, top, torch.sin((top + 0.5) * angle) / safe) - 0.5
        pulses = pulses * v_s
        framed = torch.cat([pulses[:, :-1], pulses[:, 1:]], dim=-1) * self.analysis_window  # [B, F, n_fft]
        mirrored = torch.cat([framed[..., :1], torch.flip(framed[..., hop:], dims=[-1])], dim=-1)
        head = framed[..., : hop + 1]
        return ((head + mirrored) * self.fold) @ self.forward_cosine, (head - mirrored) @ self.forward_sine, start

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
        return self.synthesize(mel, frame_lengths)[0]

    def forward_phased(self, mel: Tensor, frame_lengths: Tensor, phase: Tensor, anchor: Tensor,
                       offset: Tensor) -> tuple[Tensor, Tensor]:
        """The source-filter CPU vocoder's graph (:mod:`ttsengine.voice.contract`): (wave,
        phase in cycles at each block start [B, F + 1])."""
        wave, _, cycles = self.synthesize(mel, frame_lengths, phase0=phase, anchor=anchor, offset=offset)
        return wave, cycles

    def synthesize(self, mel: Tensor, frame_lengths: Tensor | None = None, log_f0: Tensor | None = None,
                   phase0: Tensor | None = None, anchor: Tensor | None = None, offset: Tensor | None = None,
                   ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(wave as :meth:`forward`, the pitch head's output, the pulse phase per block; both
        None without excitation); ``log_f0``, ``phase0``, ``anchor``, ``offset`` as in
        :meth:`spectrum_and_pitch`."""
        hop = self.config.hop_length
        batch, n_frames = mel.shape[0], mel.shape[-1]
        real, imag, pitch, cycles = self.spectrum_and_pitch(mel, frame_lengths, log_f0, phase0, anchor, offset)
        first, second = self.windowed_frames(real, imag)
        zero = torch.zeros_like(first[:, :1])  # (not F.pad: ONNX Pad-18 does not convert to opset 17)
        blocks = torch.cat([first, zero], dim=1) + torch.cat([zero, second], dim=1)  # [B, F + 1, hop]
        wave = blocks.reshape(batch, (n_frames + 1) * hop)[:, hop // 2 : hop // 2 + n_frames * hop]
        if frame_lengths is not None:
            pos = torch.arange(n_frames * hop, device=mel.device)
            wave = wave * (pos[None, :] < (frame_lengths.to(pos.dtype) * hop)[:, None]).to(wave.dtype)
        return wave, pitch, cycles

    def receptive_field_frames(self) -> int:
        """One-sided receptive field in mel frames (exactness of chunked vocoding)."""
        return (self.config.kernel // 2) * (self.config.layers + 1) + 1
