"""The host pipeline: numpy buffers of the request's workspace and the ``_core`` regulator.

One request (a padded batch) runs as::

    tokens ──▶ runner.encoder ──▶ regulate (_core, then check_frame_limit)
           ──▶ _core.expand_frames ──▶ runner.decoder ──▶ mel ──▶ runner.vocoder ──▶ wave

Every array is a view into the request's :class:`~ttsengine.pipeline.workspace.Workspace` (or a
fresh array without one). The runner copies inputs to its device and outputs back into
these buffers: zero-copy for torch on the CPU, I/O binding for ONNX Runtime.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Pipeline, take
from .regulator import regulate

__all__ = ["HostPipeline"]


class HostPipeline(Pipeline):
    """Runs any runner with host (numpy) buffers; streams slice the host mel."""

    def mel(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        from .. import _core  # on use: importing the synthesizer needs no native module

        batch, length = tokens.shape
        hidden = take(workspace, "hidden", (batch, length, self.d_model), np.float32)
        log_durations = take(workspace, "log_durations", (batch, length), np.float32)
        self.runner.encoder(tokens, token_lengths, speakers, hidden, log_durations)
        frames, frame_lengths = regulate(
            log_durations, token_lengths, speed, max_frames,
            frames=take(workspace, "frames", (batch, length), np.int32),
            frame_lengths=take(workspace, "frame_lengths", (batch,), np.int64),
        )
        total = int(frame_lengths.max())
        expanded = take(workspace, "expanded", (batch, total, self.d_model), np.float32)
        _core.expand_frames(hidden, frames, total, out=expanded)
        mel = take(workspace, "mel", (batch, self.n_mels, total), np.float32)
        self.runner.decoder(expanded, frame_lengths, mel)
        return mel, frame_lengths, frames

    def _synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        mel, frame_lengths, frames = self.mel(tokens, token_lengths, speakers, speed, workspace, max_frames)
        batch, _, total = mel.shape
        wave = take(workspace, "wave", (batch, total * self.hop), np.float32)
        # one row needs no mask; a padded batch masks each row to its own length
        self.runner.vocoder(mel, frame_lengths if batch > 1 else None, wave)
        return wave, frame_lengths, frames

    def vocode_window(self, mel: Any, start: int, stop: int, workspace, phase=None):
        window = take(workspace, "mel_window", (1, self.n_mels, stop - start), np.float32)
        np.copyto(window, mel[:1, :, start:stop])
        wave = take(workspace, "wave", (1, (stop - start) * self.hop), np.float32)
        if getattr(self.runner, "pulse", False):
            return wave[0], self.runner.vocoder(window, None, wave, phase)
        self.runner.vocoder(window, None, wave)
        return wave[0], None
