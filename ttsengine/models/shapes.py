"""The networks' weight shapes and receptive fields, computed from voice.json's
hyper-parameters without torch: what a bundle's safetensors files must hold
(:mod:`ttsengine.voice.weights`) and how much mel context a streamed vocoder window needs.

Each function mirrors a torch model (``AcousticModel``, ``HiFiGANGenerator``,
``ISTFTVocoder``); tests/test_voice_validation.py keeps them equal.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "Shapes", "acoustic_tensors", "hifigan_receptive_field_frames", "hifigan_tensors", "istft_receptive_field_frames",
    "istft_tensors",
]

#: tensor name -> its shape as (size, hparam that sets it) per dimension.
Shapes = dict[str, tuple[tuple[int, str], ...]]


def acoustic_tensors(h: dict[str, Any]) -> Shapes:
    """The state dict of ``AcousticModel(AcousticConfig(**h))``, without torch."""
    d = (h["d_model"], "d_model")
    out: Shapes = {
        "token_embedding.weight": ((h["n_symbols"], "n_symbols"), d),
        "speaker_embedding.weight": ((h["n_speakers"], "n_speakers"), (h["speaker_dim"], "speaker_dim")),
        "speaker_proj.weight": (d, (h["speaker_dim"], "speaker_dim")),
        "speaker_proj.bias": (d,),
    }
    if h.get("n_languages", 1) > 1:
        out["language_embedding.weight"] = ((h["n_languages"], "n_languages"), d)
    ffn = (h["ffn_dim"], "ffn_dim")
    decoder_kernels = ("decoder_ffn_kernels", h["decoder_ffn_kernels"]) if h["decoder_ffn_kernels"] else None
    for stack, layers in (("encoder", h["enc_layers"]), ("decoder", h["dec_layers"])):
        source, kernels = decoder_kernels if stack == "decoder" and decoder_kernels else ("ffn_kernels", h["ffn_kernels"])
        k0, k1 = ((k, source) for k in kernels)
        for i in range(layers):
            p = f"{stack}.{i}."
            out.update({
                p + "attn.qkv.weight": ((3 * d[0], "d_model"), d), p + "attn.qkv.bias": ((3 * d[0], "d_model"),),
                p + "attn.out.weight": (d, d), p + "attn.out.bias": (d,),
                p + "norm1.weight": (d,), p + "norm1.bias": (d,),
                p + "ffn.conv1.weight": (ffn, d, k0), p + "ffn.conv1.bias": (ffn,),
                p + "ffn.conv2.weight": (d, ffn, k1), p + "ffn.conv2.bias": (d,),
                p + "norm2.weight": (d,), p + "norm2.bias": (d,),
            })
    f, k = (h["duration_filter"], "duration_filter"), (h["duration_kernel"], "duration_kernel")
    predictors = ["duration"] + [name for name in ("pitch", "energy") if h[f"use_{name}"]]
    for name in predictors:
        p = f"{name}_predictor."
        out.update({
            p + "conv1.weight": (f, d, k), p + "conv1.bias": (f,), p + "norm1.weight": (f,), p + "norm1.bias": (f,),
            p + "conv2.weight": (f, f, k), p + "conv2.bias": (f,), p + "norm2.weight": (f,), p + "norm2.bias": (f,),
            p + "proj.weight": ((1, "-"), f), p + "proj.bias": ((1, "-"),),
        })
        if name != "duration":
            out[f"{name}_embedding.weight"] = (d, (1, "-"), (3, "-"))
            out[f"{name}_embedding.bias"] = (d,)
    n_mels = (h["n_mels"], "n_mels")
    out["mel_proj.weight"] = (n_mels, d)
    out["mel_proj.bias"] = (n_mels,)
    return out


def hifigan_tensors(h: dict[str, Any]) -> Shapes:
    """The state dict of ``HiFiGANGenerator(HiFiGANConfig(**h))`` (weight norm removed), without torch."""
    ch0 = h["upsample_initial_channel"]

    def ch(i: int) -> tuple[int, str]:
        return ch0 // 2**i, "upsample_initial_channel"

    out: Shapes = {
        "conv_pre.weight": (ch(0), (h["n_mels"], "n_mels"), (7, "-")),
        "conv_pre.bias": (ch(0),),
    }
    n, n_kernels = len(h["upsample_rates"]), len(h["resblock_kernel_sizes"])
    for i, k in enumerate(h["upsample_kernel_sizes"]):
        out[f"ups.{i}.weight"] = (ch(i), ch(i + 1), (k, "upsample_kernel_sizes"))
        out[f"ups.{i}.bias"] = (ch(i + 1),)
    for i in range(n):
        for j, (k, dilations) in enumerate(zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"])):
            p = f"resblocks.{i * n_kernels + j}."
            convs = ("convs1", "convs2") if h["resblock"] == "1" else ("convs",)
            for conv in convs:
                for m in range(len(dilations)):
                    out[f"{p}{conv}.{m}.weight"] = (ch(i + 1), ch(i + 1), (k, "resblock_kernel_sizes"))
                    out[f"{p}{conv}.{m}.bias"] = (ch(i + 1),)
    out["conv_post.weight"] = ((1, "-"), ch(n), (7, "-"))
    out["conv_post.bias"] = ((1, "-"),)
    return out


def istft_tensors(h: dict[str, Any]) -> Shapes:
    """The state dict of ``ISTFTVocoder(ISTFTVocoderConfig(**h))``, without torch."""
    dim, inter = (h["dim"], "dim"), (h["intermediate"], "intermediate")
    out: Shapes = {
        "conv_pre.weight": (dim, (h["n_mels"], "n_mels"), (h["kernel"], "kernel")), "conv_pre.bias": (dim,),
        "norm_pre.weight": (dim,), "norm_pre.bias": (dim,),
        "norm_post.weight": (dim,), "norm_post.bias": (dim,),
    }
    if h.get("free_part", True):
        out.update({"head.weight": ((h["n_fft"] + 2, "n_fft"), dim), "head.bias": ((h["n_fft"] + 2, "n_fft"),)})
    if h.get("excitation", "none") == "pulse":
        source = (3 * (h["n_fft"] // 2 + 1), "n_fft")
        out.update({"pitch_head.weight": ((2, "-"), dim), "pitch_head.bias": ((2, "-"),),
                    "source_head.weight": (source, dim), "source_head.bias": (source,)})
    for i in range(h["layers"]):
        p = f"blocks.{i}."
        out.update({
            p + "dwconv.weight": (dim, (1, "-"), (h["kernel"], "kernel")), p + "dwconv.bias": (dim,),
            p + "norm.weight": (dim,), p + "norm.bias": (dim,),
            p + "pwconv1.weight": (inter, dim), p + "pwconv1.bias": (inter,),
            p + "pwconv2.weight": (dim, inter), p + "pwconv2.bias": (dim,),
            p + "gamma": (dim,),
        })
    return out


def hifigan_receptive_field_frames(h: dict[str, Any]) -> int:
    """``ttsengine.models.hifigan.hifigan_receptive_field`` without torch."""
    rates, kernels = h["upsample_rates"], h["upsample_kernel_sizes"]

    def extent(kernel: int, dilations: tuple[int, ...]) -> int:
        half = (kernel - 1) // 2
        return sum(d * half + (half if h["resblock"] == "1" else 0) for d in dilations)

    lo, hi = -3, math.prod(rates) - 1 + 3
    for i in reversed(range(len(rates))):
        ext = max(extent(k, d) for k, d in zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]))
        lo, hi = lo - ext, hi + ext
        u, k = rates[i], kernels[i]
        p = (k - u) // 2
        lo = -((-(lo + p - k + 1)) // u)
        hi = (hi + p) // u
    return max(-(lo - 3), hi + 3)


def istft_receptive_field_frames(h: dict[str, Any]) -> int:
    """``ttsengine.models.istft.ISTFTVocoder.receptive_field_frames`` without torch."""
    return (h["kernel"] // 2) * (h["layers"] + 1) + 1
