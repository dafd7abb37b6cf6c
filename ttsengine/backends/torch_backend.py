"""The PyTorch backend: the reference implementation (CPU, and CUDA where present)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from .. import _core
from ..errors import BackendUnavailableError, InvalidInputError, VoiceLoadError
from ..voice import VoiceConfig
from ..workspace import BufferLimits, Workspace
from .base import Backend

logger = logging.getLogger("ttsengine")

__all__ = ["TorchBackend", "load_acoustic", "load_vocoder"]


def _load_state(path: Any, what: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise VoiceLoadError(f"{path}: cannot read {what} weights ({exc})") from None


def _load_into(model: torch.nn.Module, path: Any, what: str) -> torch.nn.Module:
    from ..models.checkpoint import load_state_checked

    return load_state_checked(model, _load_state(path, what), f"{path}: {what} weights", "voice.json")


def load_acoustic(voice: VoiceConfig) -> torch.nn.Module:
    """Builds the acoustic model described by ``voice.json`` and loads its weights."""
    from ..models.acoustic import AcousticConfig, AcousticModel

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
    from ..models.hifigan import HiFiGANConfig, HiFiGANGenerator
    from ..models.istft import ISTFTVocoder, ISTFTVocoderConfig

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
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise BackendUnavailableError(
                f"device {device!r} requested but torch {torch.__version__} sees no CUDA device"
            )
        index = 0 if device == "cuda" else device.split(":", 1)[1]
        if not (str(index).isascii() and str(index).isdigit()) or int(index) >= torch.cuda.device_count():
            raise BackendUnavailableError(
                f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device(f"cuda:{int(index)}")
    raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


class TorchBackend(Backend):
    """Runs the PyTorch reference models in eval mode under ``torch.inference_mode``.

    On CUDA, whole requests (``synthesize``) run through
    :class:`~ttsengine.backends.torch_graphs.GraphedPipeline` (CUDA graphs per shape
    bucket, our regulator kernels, buffers in a ``_cuda`` arena) when ``ttsengine._cuda``
    is built and sees the device; otherwise, and for streaming, eagerly.
    ``cuda_graphs=False`` forces eager runs (the reference the graphed path is measured
    against).
    """

    name = "torch"

    def __init__(
        self,
        voice: VoiceConfig,
        device: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,
        cuda_graphs: bool = True,
    ) -> None:
        torch_device = resolve_torch_device(device)
        if num_threads is not None:
            torch.set_num_threads(num_threads)  # process-wide in torch
        if precision == "auto":
            precision = "fp16" if torch_device.type == "cuda" else "fp32"
        if precision == "fp16" and torch_device.type != "cuda":
            raise BackendUnavailableError("precision 'fp16' needs a CUDA device with the torch backend")
        self.device = str(torch_device)
        self.precision = precision
        self._device = torch_device
        self._dtype = torch.float16 if precision == "fp16" else torch.float32
        self._hop = voice.hop_length
        self.acoustic = load_acoustic(voice).to(torch_device, self._dtype)
        self.vocoder = load_vocoder(voice).to(torch_device, self._dtype)
        self.vocoder_context_frames = self.vocoder.receptive_field_frames() + 1
        self._voice = voice
        self._use_graphs = torch_device.type == "cuda" and cuda_graphs and _cuda_ready(self.device)
        self._graphed: Any = None  # created by the first request, sized by its workspace

    def synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        if not self._use_graphs:
            return super().synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)
        if self._graphed is None:
            from .torch_graphs import GraphedPipeline

            self._graphed = GraphedPipeline(
                self.acoustic, self.vocoder, device=self._device, dtype=self._dtype,
                limits=workspace.limits if workspace is not None else BufferLimits(),
                d_model=int(self._voice.acoustic["hparams"]["d_model"]), hop=self._hop, graphs=True,
            )
        return self._graphed.synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)

    @property
    def cuda_graphs(self) -> bool:
        """Whether whole requests replay CUDA graphs."""
        return self._use_graphs

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self._device, non_blocking=True)

    def _to_host(self, tensor: torch.Tensor, workspace: Workspace | None, name: str) -> np.ndarray:
        """Copies a result into the workspace buffer ``name`` (float32, host)."""
        out = self.host_buffer(workspace, name, tuple(tensor.shape), np.float32)
        torch.from_numpy(out).copy_(tensor)  # one device->host copy (or a host copy on CPU)
        return out

    @torch.inference_mode()
    def encode(self, tokens, token_lengths, speakers, workspace=None):
        tokens_t = self._tensor(tokens)
        lengths_t = self._tensor(token_lengths)
        mask = torch.arange(tokens_t.shape[1], device=self._device)[None, :] < lengths_t[:, None]
        hidden, log_durations = self.acoustic.encode(tokens_t, mask, self._tensor(speakers))
        return hidden, self._to_host(log_durations, workspace, "log_durations")

    @torch.inference_mode()
    def decode(self, hidden, frames, frame_lengths, workspace=None):
        max_frames = int(frame_lengths.max())
        if self._device.type == "cpu" and hidden.dtype == torch.float32:
            expanded_np = self.host_buffer(workspace, "expanded", (hidden.shape[0], max_frames, hidden.shape[2]), np.float32)
            _core.expand_frames(hidden.contiguous().numpy(), frames, max_frames, out=expanded_np)
            expanded = torch.from_numpy(expanded_np)
        else:  # gather on the device; the index map comes from the same CPU kernel
            index = self._tensor(_core.frame_index(frames, max_frames))
            gathered = torch.gather(
                hidden, 1, index.clamp(min=0)[:, :, None].expand(-1, -1, hidden.shape[2])
            )
            expanded = gathered * (index >= 0)[:, :, None].to(hidden.dtype)
        frame_mask = torch.arange(max_frames, device=self._device)[None, :] < self._tensor(frame_lengths)[:, None]
        return self.acoustic.decode(expanded, frame_mask)

    @torch.inference_mode()
    def vocode(self, mel, frame_lengths=None, window=None, workspace=None):
        if window is not None:
            row, start, stop = window
            wave = self.vocoder(mel[row : row + 1, :, start:stop])
        elif frame_lengths is not None and len(frame_lengths) > 1:
            wave = self.vocoder(mel, self._tensor(frame_lengths))
        else:
            wave = self.vocoder(mel)
        return self._to_host(wave, workspace, "wave")


def _cuda_ready(device: str) -> bool:
    """Whether ``ttsengine._cuda`` can serve the graphed pipeline (logged when not)."""
    from ..native import native_report

    status = native_report()["_cuda"]
    if status.state != "ok":
        logger.info("torch on %s runs eagerly: ttsengine._cuda is %s (%s)", device, status.state, status.detail)
    return status.state == "ok"
