"""The torch backend's fused GPU path: networks captured as CUDA graphs per shape bucket.

One request (a padded batch) runs as::

    tokens ──▶ [graph E: encoder] ──▶ durations kernel ──▶ frame counts to the host (sync 1)
           ──▶ expansion kernel ──▶ [graph D: decoder + vocoder] ──▶ wave to the host (sync 2)

* Shapes are rounded up to buckets (tokens to a multiple of :data:`TOKEN_BUCKET`,
  frames to a multiple of :data:`FRAME_BUCKET`; the batch is exact) and each bucket's
  graphs are captured once, then replayed. Padding is inert: the networks mask padded
  tokens and frames, so each row equals its unpadded eager run.
* The pipeline's inputs and the regulator's outputs (token ids, lengths, speakers,
  frame counts, frame-rate hidden) live in one ``ttsengine._cuda.Arena`` allocated up
  front and shared with torch through DLPack; the length regulator is our CUDA kernel,
  launched on the pipeline's own stream (a ``ttsengine._cuda.Stream``). The networks'
  intermediate activations live in one torch graph memory pool shared by all buckets.
* Two host synchronizations per request: the frame count must reach the host to pick
  the decoder's bucket; the wave must reach it at the end.

The same class runs on the CPU without graphs and with ``ttsengine._core`` as the
regulator (``graphs=False``), which is how its bucketing is tested where no GPU is.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import numpy as np
import torch

from .. import _core
from ..workspace import BufferLimits, Workspace
from .base import check_frame_limit

__all__ = ["FRAME_BUCKET", "TOKEN_BUCKET", "GraphedPipeline", "bucket"]

logger = logging.getLogger("ttsengine")

TOKEN_BUCKET = 32
FRAME_BUCKET = 64

_DLPACK_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int64", torch.int32: "int32"}


def bucket(size: int, step: int) -> int:
    """``size`` rounded up to a multiple of ``step`` (at least one step)."""
    return max(step, -(-size // step) * step)


class _Buffers:
    """Flat pipeline buffers; a view of any shape starts at its buffer's address, so
    captured graphs stay valid while a buffer does not grow.

    On CUDA all buffers come from one ``_cuda.Arena`` allocated up front; a buffer that
    must grow gets its own new arena (logged) and the caller drops its captured graphs.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype, limits: BufferLimits, d_model: int) -> None:
        self.device, self.d_model = device, d_model
        b, t, f = limits.max_batch, bucket(limits.max_tokens, TOKEN_BUCKET), bucket(limits.max_frames, FRAME_BUCKET)
        self._dtypes = {
            "tokens": torch.int64, "token_lengths": torch.int64, "speakers": torch.int64,
            "frames": torch.int32, "frame_lengths": torch.int64, "expanded": dtype,
        }
        sizes = {
            "tokens": b * t, "token_lengths": b, "speakers": b,
            "frames": b * t, "frame_lengths": b, "expanded": b * f * d_model,
        }
        self._arenas: list[Any] = []  # keep every arena alive while its tensors are in use
        self.flat = self._allocate(sizes)

    def _allocate(self, sizes: dict[str, int]) -> dict[str, torch.Tensor]:
        if self.device.type != "cuda":
            return {name: torch.zeros(n, dtype=self._dtypes[name]) for name, n in sizes.items()}
        from .. import _cuda

        itemsize = {name: torch.empty(0, dtype=dtype).element_size() for name, dtype in self._dtypes.items()}
        arena = _cuda.Arena(sum(n * itemsize[name] + 256 for name, n in sizes.items()), self.device.index or 0)
        self._arenas.append(arena)
        return {
            name: torch.from_dlpack(arena.alloc((n,), _DLPACK_DTYPES[self._dtypes[name]]))
            for name, n in sizes.items()
        }

    def view(self, name: str, *shape: int) -> tuple[torch.Tensor, bool]:
        """(a view of ``shape`` at the start of buffer ``name``, whether the buffer grew)."""
        size = int(np.prod(shape))
        grew = size > self.flat[name].numel()
        if grew:
            logger.debug("graphed pipeline: buffer %r grows to %d elements", name, size)
            self.flat.update(self._allocate({name: size}))
        return self.flat[name][:size].view(*shape), grew


class GraphedPipeline:
    """Encoder, regulator, decoder and vocoder of one voice as bucketed (CUDA-graph) runs.

    Args:
        acoustic / vocoder: the eval-mode models, already on ``device`` in ``dtype``.
        limits: the buffer sizes allocated up front (a larger request reallocates once
            and drops the captured graphs).
        graphs: capture CUDA graphs (CUDA only); ``False`` runs the same steps eagerly.
    """

    def __init__(
        self,
        acoustic: torch.nn.Module,
        vocoder: torch.nn.Module,
        *,
        device: torch.device,
        dtype: torch.dtype,
        limits: BufferLimits,
        d_model: int,
        hop: int,
        graphs: bool,
    ) -> None:
        if graphs and device.type != "cuda":
            raise ValueError("CUDA graphs need a CUDA device")
        self.acoustic, self.vocoder = acoustic, vocoder
        self.device, self.dtype, self.hop, self.graphs = device, dtype, hop, graphs
        self._lock = threading.Lock()  # one request at a time: the buffers and graphs are shared
        self._buffers = _Buffers(device, dtype, limits, d_model)
        self._runs: dict[tuple[str, int, int], Callable[[], Any]] = {}
        self.captures = 0
        if device.type == "cuda":
            from .. import _cuda

            self._stream = _cuda.Stream(device.index or 0)
            self._torch_stream = torch.cuda.ExternalStream(self._stream.handle, device=device)
            self._pool = torch.cuda.graph_pool_handle()
            self._host_lengths = torch.empty(limits.max_batch, dtype=torch.int64, pin_memory=True)
            self._host_wave = torch.empty(0, dtype=torch.float32, pin_memory=True)

    # ------------------------------------------------------------------ bucketed runs
    def _run(self, key: tuple[str, int, int], step: Callable[[], Any]) -> Any:
        """Runs ``step`` (static inputs -> outputs); replays its captured graph on CUDA."""
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = self._capture(step) if self.graphs else step
        return run()

    def _capture(self, step: Callable[[], Any]) -> Callable[[], Any]:
        step()  # warm-up on the pipeline stream: library handles, autotuning
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool, stream=self._torch_stream):
            outputs = step()
        self.captures += 1

        def replay() -> Any:
            graph.replay()
            return outputs

        return replay

    # ------------------------------------------------------------------ the request
    @torch.inference_mode()
    def synthesize(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        speed: float,
        workspace: Workspace | None,
        max_frames: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Padded batch -> (waves float32 [B, F * hop] on the host, frame_lengths int64 [B])."""
        with self._lock:
            if self.device.type == "cuda":
                with torch.cuda.device(self.device), torch.cuda.stream(self._torch_stream):
                    return self._synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)
            return self._synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)

    def _view(self, name: str, *shape: int) -> torch.Tensor:
        view, grew = self._buffers.view(name, *shape)
        if grew:
            self._runs.clear()  # captured graphs point at the old buffer
            if self.device.type == "cuda":
                # A pool id whose graphs are all gone cannot be captured into again (torch
                # asserts use_count > 0 while its blocks, e.g. this request's encoder
                # outputs, are still alive): the next captures get a fresh pool.
                self._pool = torch.cuda.graph_pool_handle()
        return view

    def _synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        batch, length = tokens.shape
        t_bucket = bucket(length, TOKEN_BUCKET)
        tokens_in = self._view("tokens", batch, t_bucket)
        lengths_in = self._view("token_lengths", batch)
        speakers_in = self._view("speakers", batch)
        frames = self._view("frames", batch, t_bucket)
        frame_lengths = self._view("frame_lengths", batch)
        padded = np.zeros((batch, t_bucket), dtype=np.int64)
        padded[:, :length] = tokens
        tokens_in.copy_(torch.from_numpy(padded), non_blocking=True)
        lengths_in.copy_(torch.from_numpy(np.ascontiguousarray(token_lengths, dtype=np.int64)), non_blocking=True)
        speakers_in.copy_(torch.from_numpy(np.ascontiguousarray(speakers, dtype=np.int64)), non_blocking=True)

        def encoder() -> tuple[torch.Tensor, torch.Tensor]:
            mask = torch.arange(t_bucket, device=self.device)[None, :] < lengths_in[:, None]
            hidden, log_durations = self.acoustic.encode(tokens_in, mask, speakers_in)
            return hidden.contiguous(), log_durations.float().contiguous()

        hidden, log_durations = self._run(("encoder", batch, t_bucket), encoder)
        host_lengths = self._regulate(log_durations, lengths_in, speed, frames, frame_lengths, batch, t_bucket)
        check_frame_limit(host_lengths, max_frames)
        f_bucket = bucket(int(host_lengths.max()), FRAME_BUCKET)
        expanded = self._view("expanded", batch, f_bucket, self._buffers.d_model)
        self._expand(hidden, frames, expanded, batch, t_bucket, f_bucket)

        def decoder() -> torch.Tensor:
            frame_mask = torch.arange(f_bucket, device=self.device)[None, :] < frame_lengths[:, None]
            mel = self.acoustic.decode(expanded, frame_mask)
            return self.vocoder(mel, frame_lengths).float()

        wave = self._run(("decoder", batch, f_bucket), decoder)
        total = int(host_lengths.max()) * self.hop
        out = (
            np.empty((batch, total), np.float32) if workspace is None
            else workspace.take("wave", (batch, total), np.float32)
        )
        self._to_host(wave[:, :total], out)
        return out, host_lengths

    # ------------------------------------------------------------------ regulator
    def _regulate(self, log_durations, lengths, speed, frames, frame_lengths, batch, t_bucket) -> np.ndarray:
        """Durations kernel -> frame counts on the device; their row totals on the host."""
        if self.device.type != "cuda":
            _core.durations_to_frames(
                log_durations.numpy(), lengths.numpy(), speed, frames=frames.numpy(), frame_lengths=frame_lengths.numpy()
            )
            return frame_lengths.numpy().copy()
        from .. import _cuda

        _cuda.durations_to_frames(
            log_durations.data_ptr(), lengths.data_ptr(), batch, t_bucket, float(speed),
            frames.data_ptr(), frame_lengths.data_ptr(), self._stream.handle,
        )
        if self._host_lengths.numel() < batch:  # the batch outgrew limits.max_batch
            self._host_lengths = torch.empty(batch, dtype=torch.int64, pin_memory=True)
        host = self._host_lengths[:batch]
        host.copy_(frame_lengths, non_blocking=True)
        self._stream.synchronize()  # sync 1: the frame count picks the decoder's bucket
        return host.numpy().copy()

    def _expand(self, hidden, frames, expanded, batch, t_bucket, f_bucket) -> None:
        if self.device.type != "cuda":
            _core.expand_frames(hidden.numpy(), frames.numpy(), f_bucket, out=expanded.numpy())
            return
        from .. import _cuda

        _cuda.expand_frames(
            hidden.data_ptr(), frames.data_ptr(), batch, t_bucket, expanded.shape[2], f_bucket,
            expanded.data_ptr(), _DLPACK_DTYPES[self.dtype], self._stream.handle,
        )

    def _to_host(self, wave: torch.Tensor, out: np.ndarray) -> None:
        if self.device.type != "cuda":
            out[:] = wave.numpy()
            return
        if self._host_wave.numel() < out.size:
            self._host_wave = torch.empty(out.size, dtype=torch.float32, pin_memory=True)
        staging = self._host_wave[: out.size].view(out.shape)
        staging.copy_(wave, non_blocking=True)
        self._stream.synchronize()  # sync 2: the wave is on the host
        out[:] = staging.numpy()
