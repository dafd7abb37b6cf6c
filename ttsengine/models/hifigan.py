"""HiFi-GAN generator (Kong et al. 2020), state-dict compatible with the official code.

Submodule names follow the official generator (``conv_pre``, ``ups.N``,
``resblocks.N.convs1.M`` / ``convs2.M`` for resblock type "1", ``resblocks.N.convs.M``
for type "2", ``conv_post``), so official checkpoints load by name through
:func:`load_official_checkpoint`. The forward math is the official one; in addition an
optional ``frame_lengths`` zeroes the padded region at the input of every convolution so
that each item of a padded batch equals its single run.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from ttsengine.errors import VoiceLoadError

from .acoustic import _from_dict
from .checkpoint import load_state_checked
from .postfilter import MAX_SHARPENING, sharpening_matrix

__all__ = [
    "HiFiGANConfig",
    "HIFIGAN_CONFIGS",
    "HiFiGANGenerator",
    "load_official_checkpoint",
]

logger = logging.getLogger("ttsengine")

LRELU_SLOPE = 0.1


@dataclass(frozen=True, kw_only=True)
class HiFiGANConfig:
    """Generator hyper-parameters (the official config.json keys of the generator)."""

    n_mels: int = 80
    upsample_rates: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    upsample_initial_channel: int
    resblock: str
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    #: Postfilter strength on the input mel (:mod:`ttsengine.models.postfilter`; 0: off). Not
    #: an official key: set for a voice whose acoustic model's mels are smoother than the
    #: recorded mels the generator learned from.
    mel_sharpening: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "upsample_rates", tuple(int(u) for u in self.upsample_rates))
        set_(self, "upsample_kernel_sizes", tuple(int(k) for k in self.upsample_kernel_sizes))
        set_(self, "resblock_kernel_sizes", tuple(int(k) for k in self.resblock_kernel_sizes))
        set_(self, "resblock_dilation_sizes",
             tuple(tuple(int(d) for d in ds) for ds in self.resblock_dilation_sizes))
        set_(self, "resblock", str(self.resblock))
        if self.resblock not in ("1", "2"):
            raise ValueError(f"HiFiGANConfig.resblock must be '1' or '2', got {self.resblock!r}")
        if not self.upsample_rates or len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("HiFiGANConfig: upsample_rates and upsample_kernel_sizes must be "
                             "non-empty and of equal length")
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if u < 1 or k < u or (k - u) % 2:
                raise ValueError(f"HiFiGANConfig: upsample kernel {k} / rate {u} must satisfy "
                                 "k >= u and k - u even (output length = input * rate)")
        if not self.resblock_kernel_sizes or len(self.resblock_kernel_sizes) != len(
                self.resblock_dilation_sizes):
            raise ValueError("HiFiGANConfig: resblock_kernel_sizes and resblock_dilation_sizes "
                             "must be non-empty and of equal length")
        if any(k % 2 == 0 for k in self.resblock_kernel_sizes):
            raise ValueError("HiFiGANConfig: resblock kernel sizes must be odd")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError("HiFiGANConfig: upsample_initial_channel must be divisible by "
                             f"2**{len(self.upsample_rates)}")
        if self.n_mels < 1:
            raise ValueError("HiFiGANConfig.n_mels must be >= 1")
        if not 0.0 <= self.mel_sharpening <= MAX_SHARPENING:
            raise ValueError(f"HiFiGANConfig.mel_sharpening must be in [0, {MAX_SHARPENING}]")

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame (product of the upsample rates)."""
        return math.prod(self.upsample_rates)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists)."""
        return {
            "n_mels": self.n_mels,
            "upsample_rates": list(self.upsample_rates),
            "upsample_kernel_sizes": list(self.upsample_kernel_sizes),
            "upsample_initial_channel": self.upsample_initial_channel,
            "resblock": self.resblock,
            "resblock_kernel_sizes": list(self.resblock_kernel_sizes),
            "resblock_dilation_sizes": [list(d) for d in self.resblock_dilation_sizes],
            **({"mel_sharpening": self.mel_sharpening} if self.mel_sharpening else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HiFiGANConfig:
        """Inverse of :meth:`to_dict`; ValueError on unknown or missing required keys."""
        return _from_dict(cls, d)


_RB1_DILATIONS = ((1, 3, 5), (1, 3, 5), (1, 3, 5))

HIFIGAN_CONFIGS: dict[str, HiFiGANConfig] = {
    "v1": HiFiGANConfig(upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
                        upsample_initial_channel=512, resblock="1",
                        resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=_RB1_DILATIONS),
    "v2": HiFiGANConfig(upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
                        upsample_initial_channel=128, resblock="1",
                        resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=_RB1_DILATIONS),
    "v3": HiFiGANConfig(upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                        upsample_initial_channel=256, resblock="2",
                        resblock_kernel_sizes=(3, 5, 7),
                        resblock_dilation_sizes=((1, 2), (2, 6), (3, 12))),
}


def _padding(kernel: int, dilation: int) -> int:
    return (kernel * dilation - dilation) // 2


def _init_official(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
        nn.init.normal_(m.weight, 0.0, 0.01)


def _masked(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask


class ResBlock1(nn.Module):
    """Official resblock type 1: per dilation, lrelu -> dilated conv -> lrelu -> conv, residual."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, 1, dilation=d, padding=_padding(kernel, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, 1, dilation=1, padding=_padding(kernel, 1))
            for _ in dilations
        )
        self.convs1.apply(_init_official)
        self.convs2.apply(_init_official)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = c1(_masked(F.leaky_relu(x, LRELU_SLOPE), mask))
            xt = c2(_masked(F.leaky_relu(xt, LRELU_SLOPE), mask))
            x = xt + x
        return x


class ResBlock2(nn.Module):
    """Official resblock type 2: per dilation, lrelu -> dilated conv, residual."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, 1, dilation=d, padding=_padding(kernel, d))
            for d in dilations
        )
        self.convs.apply(_init_official)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for c in self.convs:
            x = c(_masked(F.leaky_relu(x, LRELU_SLOPE), mask)) + x
        return x


class HiFiGANGenerator(nn.Module):
    """HiFi-GAN generator: mel [B, n_mels, F] -> waveform [B, F * hop_length] in (-1, 1)."""

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.num_kernels = len(c.resblock_kernel_sizes)
        self.num_upsamples = len(c.upsample_rates)
        ch0 = c.upsample_initial_channel
        self.conv_pre = nn.Conv1d(c.n_mels, ch0, 7, 1, padding=3)
        if c.mel_sharpening:
            self.register_buffer("sharpening", sharpening_matrix(c.n_mels, c.mel_sharpening), persistent=False)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(ch0 // 2**i, ch0 // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes))
        )
        block = ResBlock1 if c.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList(
            block(ch0 // 2 ** (i + 1), k, d)
            for i in range(self.num_upsamples)
            for k, d in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes)
        )
        self.conv_post = nn.Conv1d(ch0 // 2**self.num_upsamples, 1, 7, 1, padding=3)
        self.ups.apply(_init_official)
        self.conv_post.apply(_init_official)

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def _masks(self, frame_lengths: Tensor, n_frames: int, dtype: torch.dtype) -> list[Tensor]:
        """Float masks [B, 1, L] for each resolution: frames, after ups.0, ups.1, ..."""
        masks = []
        scale = 1
        for r in (1,) + self.config.upsample_rates:
            scale *= r
            pos = torch.arange(n_frames * scale, device=frame_lengths.device)
            m = pos.unsqueeze(0) < (frame_lengths.to(pos.dtype) * scale).unsqueeze(1)
            masks.append(m.unsqueeze(1).to(dtype))
        return masks

    def forward(self, mel: Tensor, frame_lengths: Tensor | None = None) -> Tensor:
        """mel [B, n_mels, F] (+ optional Long[B] valid frames) -> wave [B, F * hop].

        With ``frame_lengths`` the padded region is zeroed at the input of every
        convolution (and in the output), so each item equals its unpadded single run.
        """
        masks: list[Tensor | None]
        if frame_lengths is None:
            masks = [None] * (self.num_upsamples + 1)
        else:
            masks = list(self._masks(frame_lengths, mel.shape[-1], mel.dtype))
        if self.config.mel_sharpening:
            mel = self.sharpening.to(mel.dtype) @ mel
        x = self.conv_pre(_masked(mel, masks[0]))
        for i, up in enumerate(self.ups):
            x = up(_masked(F.leaky_relu(x, LRELU_SLOPE), masks[i]))
            xs = self.resblocks[i * self.num_kernels](x, masks[i + 1])
            for j in range(1, self.num_kernels):
                xs = xs + self.resblocks[i * self.num_kernels + j](x, masks[i + 1])
            x = xs / self.num_kernels
        x = self.conv_post(_masked(F.leaky_relu(x), masks[-1]))  # default slope 0.01
        x = _masked(torch.tanh(x), masks[-1])
        return x.squeeze(1)

    # ------------------------------------------------------------------ weight norm
    def _convs(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]

    @property
    def has_weight_norm(self) -> bool:
        return any(parametrize.is_parametrized(m, "weight") for m in self._convs())

    def apply_weight_norm(self) -> HiFiGANGenerator:
        """Parametrize every conv with weight norm (dim 0, as the official code); for training."""
        for m in self._convs():
            if not parametrize.is_parametrized(m, "weight"):
                weight_norm(m, "weight", dim=0)
        return self

    def remove_weight_norm(self) -> HiFiGANGenerator:
        """Fold weight norm into plain weights (inference runs without it)."""
        for m in self._convs():
            if parametrize.is_parametrized(m, "weight"):
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
        return self

    # ------------------------------------------------------------------ receptive field
    def receptive_field_frames(self) -> int:
        """One-sided receptive field in mel frames.

        Output frame j (samples [j*hop, (j+1)*hop)) depends only on mel frames
        [j - R, j + R]; a chunk with R frames of context on each side is exact inside.
        Computed analytically by mapping the dependency interval back through every layer.
        """
        return hifigan_receptive_field(self.config)


def _resblock_extent(config: HiFiGANConfig, kernel: int, dilations: tuple[int, ...]) -> int:
    half = (kernel - 1) // 2
    if config.resblock == "1":
        return sum(d * half + half for d in dilations)
    return sum(d * half for d in dilations)


def hifigan_receptive_field(config: HiFiGANConfig) -> int:
    """One-sided receptive field in mel frames of a generator with ``config``."""
    lo, hi = 0, config.hop_length - 1  # output samples of frame 0
    lo, hi = lo - 3, hi + 3  # conv_post (k7)
    for i in reversed(range(len(config.upsample_rates))):
        ext = max(_resblock_extent(config, k, d) for k, d in
                  zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes))
        lo, hi = lo - ext, hi + ext
        u, k = config.upsample_rates[i], config.upsample_kernel_sizes[i]
        p = (k - u) // 2
        # transposed conv: output n <- inputs ceil((n + p - k + 1) / u) .. floor((n + p) / u)
        lo = -((-(lo + p - k + 1)) // u)
        hi = (hi + p) // u
    lo, hi = lo - 3, hi + 3  # conv_pre (k7)
    return max(-lo, hi)


# ---------------------------------------------------------------------- checkpoints
def _fold_weight_norm(sd: Mapping[str, Any]) -> dict[str, Tensor]:
    """Fold 'X.weight_g'/'X.weight_v' (or parametrization originals) into 'X.weight'."""
    pairs = {
        ".weight_g": ".weight_v",
        ".parametrizations.weight.original0": ".parametrizations.weight.original1",
    }
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for key, val in sd.items():
        if not isinstance(val, Tensor):
            raise VoiceLoadError(f"HiFi-GAN checkpoint entry {key!r} is not a tensor")
    for key in sd:
        for g_suf, v_suf in pairs.items():
            if key.endswith(g_suf):
                base = key[: -len(g_suf)]
                v_key = base + v_suf
                if v_key not in sd:
                    raise VoiceLoadError(f"HiFi-GAN checkpoint has {key!r} without {v_key!r}")
                g = sd[key].double()
                v = sd[v_key].double()
                dims = tuple(range(1, v.dim()))
                if g.numel() != v.shape[0]:
                    raise VoiceLoadError(f"HiFi-GAN checkpoint: {key!r} shape {tuple(g.shape)} "
                                         f"does not match {v_key!r} shape {tuple(v.shape)}")
                w = g.reshape((-1,) + (1,) * (v.dim() - 1)) * v / v.norm(dim=dims, keepdim=True)
                out[base + ".weight"] = w.float()
                used.update((key, v_key))
    for key, val in sd.items():
        if key in used:
            continue
        if key.endswith(tuple(pairs.values())):
            raise VoiceLoadError(f"HiFi-GAN checkpoint has {key!r} without its weight-norm gain")
        out[key] = val.float()
    return out


def load_official_checkpoint(
    source: str | os.PathLike[str] | Mapping[str, Any], config: HiFiGANConfig
) -> HiFiGANGenerator:
    """Load an official HiFi-GAN generator checkpoint into a plain (no weight norm) model.

    ``source`` is a path to a file saved with torch.save or an already-loaded dict, either
    ``{'generator': state_dict}`` (official layout) or a bare state dict. Weight-norm pairs
    ``X.weight_g`` / ``X.weight_v`` are folded into ``X.weight``; plain ``X.weight`` is
    accepted too. Files are read with ``torch.load(weights_only=True)``. Returns the model
    in eval mode; raises VoiceLoadError on unreadable files, missing / unexpected keys or
    shape mismatches.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise VoiceLoadError(f"HiFi-GAN checkpoint not found: {path}")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt file, or a pickle that is not plain tensors
            raise VoiceLoadError(f"cannot read HiFi-GAN checkpoint {path}: {exc}") from exc
        where = path
    else:
        obj = source
        where = "<dict>"
    if not isinstance(obj, Mapping):
        raise VoiceLoadError(f"HiFi-GAN checkpoint {where} is not a dict (got {type(obj).__name__})")
    sd = obj["generator"] if "generator" in obj else obj
    if not isinstance(sd, Mapping):
        raise VoiceLoadError(f"HiFi-GAN checkpoint {where}: 'generator' is not a state dict")
    folded = _fold_weight_norm(sd)

    context = (
        f"the config (upsample_initial_channel={config.upsample_initial_channel}, "
        f"resblock={config.resblock!r})"
    )
    model = load_state_checked(HiFiGANGenerator(config), folded, f"HiFi-GAN checkpoint {where}", context)
    logger.debug("loaded HiFi-GAN checkpoint %s (%d tensors)", where, len(folded))
    return model
