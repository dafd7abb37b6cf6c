"""Building the networks a voice bundle describes and loading their weights (safetensors):
what the torch runner, the exporter and training share."""

from __future__ import annotations

from typing import Any

import torch

from ..backends.device import parse_device
from ..errors import BackendUnavailableError, VoiceLoadError
from ..voice import VoiceConfig

__all__ = ["load_acoustic", "load_vocoder", "resolve_torch_device"]


def _load_state(path: Any, what: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise VoiceLoadError(f"{path}: cannot read {what} weights ({exc})") from None


def _load_into(model: torch.nn.Module, path: Any, what: str) -> torch.nn.Module:
    from .checkpoint import load_state_checked

    return load_state_checked(model, _load_state(path, what), f"{path}: {what} weights", "voice.json")


def load_acoustic(voice: VoiceConfig) -> torch.nn.Module:
    """Builds the acoustic model described by ``voice.json`` and loads its weights."""
    from .acoustic import AcousticConfig, AcousticModel

    section = dict(voice.acoustic)
    if section.get("arch") != "fastspeech2":
        raise VoiceLoadError(f"{voice.path}: unsupported acoustic arch {section.get('arch')!r}")
    try:
        config = AcousticConfig.from_dict(section["hparams"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VoiceLoadError(f"{voice.path}: bad acoustic hparams ({exc})") from None
    return _load_into(AcousticModel(config), voice.acoustic_weights, "acoustic")


def load_vocoder(voice: VoiceConfig) -> torch.nn.Module:
    """Builds the vocoder described by ``voice.json`` (HiFi-GAN, or the CPU vocoder of
    ``voice.with_vocoder("istft")``) and loads its weights."""
    from .hifigan import HiFiGANConfig, HiFiGANGenerator
    from .istft import ISTFTVocoder, ISTFTVocoderConfig

    section = dict(voice.vocoder)
    kinds = {"hifigan": (HiFiGANConfig, HiFiGANGenerator), "istft": (ISTFTVocoderConfig, ISTFTVocoder)}
    if section.get("arch") not in kinds:
        raise VoiceLoadError(f"{voice.path}: unsupported vocoder arch {section.get('arch')!r}")
    config_class, model_class = kinds[section["arch"]]
    try:
        config = config_class.from_dict(section["hparams"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VoiceLoadError(f"{voice.path}: bad vocoder hparams ({exc})") from None
    if config.hop_length != voice.hop_length:
        raise VoiceLoadError(
            f"{voice.path}: vocoder upsamples by {config.hop_length}, features.hop_length is {voice.hop_length}"
        )
    return _load_into(model_class(config), voice.vocoder_weights, "vocoder")


def resolve_torch_device(device: str) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> a usable torch device, or a clear error."""
    kind, index = parse_device(device)
    if kind == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device!r} requested but torch {torch.__version__} sees no CUDA device")
    if index >= torch.cuda.device_count():
        raise BackendUnavailableError(
            f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    return torch.device(f"cuda:{index}")
