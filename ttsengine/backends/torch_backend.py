"""The PyTorch runner: the reference implementation (CPU, and CUDA where present)."""

from __future__ import annotations

import logging
from typing import Any

import torch

from ..errors import BackendUnavailableError
from ..models.loading import load_acoustic, load_vocoder, resolve_torch_device
from ..voice import VoiceConfig
from .base import Backend

logger = logging.getLogger("ttsengine")

__all__ = ["TorchBackend"]


def as_tensor(value: Any, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A numpy array or tensor as a tensor on ``device`` (zero-copy where it already is),
    floating values in ``dtype``."""
    tensor = torch.as_tensor(value, device=device)
    return tensor.to(dtype) if dtype is not None and tensor.is_floating_point() and tensor.dtype != dtype else tensor


def store(out: Any, result: torch.Tensor) -> None:
    """Writes ``result`` into the output buffer ``out`` (a tensor, or a host numpy array)."""
    (out if isinstance(out, torch.Tensor) else torch.from_numpy(out)).copy_(result)


class TorchBackend(Backend):
    """Runs the PyTorch reference models in eval mode under ``torch.inference_mode``.

    On CUDA the pipeline captures its calls as CUDA graphs per shape bucket when
    ``ttsengine._cuda`` is usable (see :mod:`ttsengine.pipeline.cuda`);
    ``cuda_graphs=False`` runs the same pipeline without graphs (the reference the graphed
    path is measured against).
    """

    name = "torch"
    io = "torch"

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
        if precision == "int8":
            raise BackendUnavailableError("precision 'int8' is the onnxruntime backend's (an exported int8 decoder "
                                          "graph), not the torch backend's")
        self.device = str(torch_device)
        self.precision = precision
        self._device = torch_device
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.acoustic = load_acoustic(voice).to(torch_device, self.dtype)
        self.vocoder_model = load_vocoder(voice).to(torch_device, self.dtype)
        self.vocoder_context_frames = int(self.vocoder_model.receptive_field_frames()) + 1
        self.pulse = voice.pulse_vocoder
        if torch_device.type == "cuda" and cuda_graphs:
            from ..native import native_status

            self.graphs = native_status("_cuda").ok  # else make_pipeline warns why

    @property
    def cuda_graphs(self) -> bool:
        """Whether whole requests and streams replay CUDA graphs (CUDA, and ``_cuda`` usable)."""
        return self.graphs

    def _in(self, value: Any) -> torch.Tensor:
        return as_tensor(value, self._device, self.dtype)

    @torch.inference_mode()
    def encoder(self, tokens, token_lengths, speakers, hidden, log_durations):
        tokens_t, lengths_t = self._in(tokens), self._in(token_lengths)
        mask = torch.arange(tokens_t.shape[1], device=self._device)[None, :] < lengths_t[:, None]
        hidden_t, log_durations_t = self.acoustic.encode(tokens_t, mask, self._in(speakers))
        store(hidden, hidden_t)
        store(log_durations, log_durations_t)

    @torch.inference_mode()
    def decoder(self, expanded, frame_lengths, mel):
        expanded_t = self._in(expanded)
        frame_mask = torch.arange(expanded_t.shape[1], device=self._device)[None, :] < self._in(frame_lengths)[:, None]
        store(mel, self.acoustic.decode(expanded_t, frame_mask))

    @torch.inference_mode()
    def vocoder(self, mel, frame_lengths, wave, phase=None):
        mel_t = self._in(mel)
        lengths = None if frame_lengths is None else self._in(frame_lengths)
        if not self.pulse:
            store(wave, self.vocoder_model(mel_t, lengths))
            return None
        anchor, cycles, offset = (None, None, None) if phase is None else (
            self._in(phase[0]), self._in(phase[1]).to(mel_t.dtype), self._in(phase[2]))
        out, _, track = self.vocoder_model.synthesize(mel_t, lengths, phase0=cycles, anchor=anchor, offset=offset)
        store(wave, out)
        return track.float().cpu().numpy()
