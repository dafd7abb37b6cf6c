"""The CUDA pipeline: a device arena, the ``_cuda`` regulator kernels and, optionally,
the networks captured as CUDA graphs per shape bucket.

One request (a padded batch) runs as::

    tokens ──▶ [encoder] ──▶ durations kernel ──▶ frame totals to the host (sync 1)
           ──▶ expansion kernel ──▶ [decoder] ──▶ mel ──▶ [vocoder] ──▶ wave to the host (sync 2)

* Shapes are rounded up to buckets (tokens to a multiple of :data:`~ttsengine.limits.TOKEN_BUCKET`, frames
  to a multiple of :data:`~ttsengine.limits.FRAME_BUCKET`; the batch is exact). With ``graphs=True`` each
  bracketed step is captured once per bucket, then replayed. Padding is inert: the
  networks mask padded tokens and frames, so each row equals its unpadded run.
* Every buffer between the steps (inputs, hidden, durations, frames, frame-rate hidden,
  mel, wave) lives in a ``ttsengine._cuda.Arena`` allocated up front and shared with the
  runner through DLPack; the runner writes its outputs into them. A buffer that must grow
  moves to a new arena (the old one is freed once no buffer uses it) and the captured
  graphs are dropped. Network activations live in torch's allocator (one graph pool).
* Streaming keeps the mel on the device: :meth:`CudaPipeline.mel` hands the request its
  own device copy, and each window is sliced there, padded to a frame bucket and vocoded
  by the same (graphed) vocoder; only the window's wave comes to the host.

The same class runs on the CPU with torch CPU tensors as the "device" memory and
``ttsengine._core`` as the regulator (``graphs=False``): that is how its bucketing,
buffers and streaming windows are tested where no GPU is.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, Callable

import numpy as np
import torch

from .. import _core
from ..limits import FRAME_BUCKET, TOKEN_BUCKET, bucket
from .workspace import BufferLimits
from .base import Pipeline, take
from .regulator import check_frame_limit

__all__ = ["CudaPipeline"]

logger = logging.getLogger("ttsengine")

#: A buffer that must grow is given this much more than the request needs.
_GROWTH = 1.5

_DLPACK_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int64", torch.int32: "int32"}


class _Arena:
    """Flat buffers by name; a view of any shape starts at its buffer's address, so captured
    graphs stay valid while no buffer grows. On CUDA they come from ``_cuda.Arena``s; the
    DLPack tensors keep their arena alive, so an arena is freed once no buffer views it."""

    def __init__(self, device: torch.device, dtypes: dict[str, torch.dtype], sizes: dict[str, int]) -> None:
        self.device, self.dtypes = device, dtypes
        self.flat: dict[str, torch.Tensor] = {}
        self._allocate(sizes)

    def _allocate(self, sizes: dict[str, int]) -> None:
        if self.device.type != "cuda":
            self.flat.update({name: torch.zeros(n, dtype=self.dtypes[name]) for name, n in sizes.items()})
            return
        from .. import _cuda

        itemsize = {name: self.dtypes[name].itemsize for name in sizes}
        arena = _cuda.Arena(sum(n * itemsize[name] + 256 for name, n in sizes.items()), self.device.index or 0)
        for name, n in sizes.items():
            self.flat[name] = torch.from_dlpack(arena.alloc((n,), _DLPACK_DTYPES[self.dtypes[name]]))

    def view(self, name: str, *shape: int) -> tuple[torch.Tensor, bool]:
        """(a view of ``shape`` at the start of buffer ``name``, whether the buffer grew)."""
        size = math.prod(shape)
        grew = size > self.flat[name].numel()
        if grew:
            logger.debug("cuda pipeline: buffer %r grows to %d elements", name, size)
            self._allocate({name: int(size * _GROWTH)})
        return self.flat[name][:size].view(*shape), grew


class CudaPipeline(Pipeline):
    """Encoder, regulator, decoder and vocoder as bucketed (CUDA-graph) runs of a runner
    that takes torch tensors (``runner.io == "torch"``: torch, tensorrt).

    Args:
        runner: executes the networks, writing into the given buffers.
        device / dtype: where the buffers live and the networks' float type.
        limits: the buffer sizes allocated up front.
        graphs: capture CUDA graphs (CUDA only); ``False`` runs the same steps directly.
    """

    def __init__(
        self,
        runner: Any,
        *,
        device: torch.device,
        dtype: torch.dtype,
        limits: BufferLimits,
        d_model: int,
        n_mels: int,
        hop: int,
        graphs: bool,
    ) -> None:
        if graphs and device.type != "cuda":
            raise ValueError("CUDA graphs need a CUDA device")
        super().__init__(runner, d_model=d_model, n_mels=n_mels, hop=hop)
        self.device, self.dtype, self.graphs = device, dtype, graphs
        self._lock = threading.Lock()  # one request at a time: the buffers and graphs are shared
        b, t, f = limits.max_batch, bucket(limits.max_tokens, TOKEN_BUCKET), bucket(limits.max_frames, FRAME_BUCKET)
        sizes = {
            "tokens": (b * t, torch.int64), "token_lengths": (b, torch.int64), "speakers": (b, torch.int64),
            "hidden": (b * t * d_model, dtype), "log_durations": (b * t, torch.float32),
            "frames": (b * t, torch.int32), "frame_lengths": (b, torch.int64),
            "expanded": (b * f * d_model, dtype), "mel": (b * n_mels * f, dtype),
            "wave": (b * f * hop, torch.float32), "window_lengths": (1, torch.int64),
            "window": (n_mels * FRAME_BUCKET * 4, dtype), "window_wave": (FRAME_BUCKET * 4 * hop, torch.float32),
        }
        self._buffers = _Arena(device, {k: v[1] for k, v in sizes.items()}, {k: v[0] for k, v in sizes.items()})
        self._runs: dict[tuple[str, int, int], Callable[[], Any]] = {}  # captured graphs
        self.captures = 0
        if device.type == "cuda":
            from .. import _cuda

            self._stream = _cuda.Stream(device.index or 0)
            self._torch_stream = torch.cuda.ExternalStream(self._stream.handle, device=device)
            self._pool = torch.cuda.graph_pool_handle()
        self._host_lengths = torch.empty(b, dtype=torch.int64, pin_memory=device.type == "cuda")
        self._host_wave = torch.empty(0, dtype=torch.float32)  # pinned staging, sized by the first request

    # ------------------------------------------------------------------ bucketed runs
    def _run(self, key: tuple[str, int, int], step: Callable[[], Any]) -> None:
        """Runs ``step`` (buffers in and out at the same addresses for the same ``key``);
        with graphs, captures it once per key and replays it."""
        if not self.graphs:
            step()
            return
        if key not in self._runs:
            self._runs[key] = self._capture(step)
        self._runs[key]()

    def _capture(self, step: Callable[[], Any]) -> Callable[[], Any]:
        step()  # warm-up on the pipeline stream: library handles, autotuning
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool, stream=self._torch_stream):
            step()
        self.captures += 1
        return graph.replay

    def _view(self, name: str, *shape: int) -> torch.Tensor:
        view, grew = self._buffers.view(name, *shape)
        if grew:
            self._runs.clear()  # captured graphs point at the old buffer
            if self.device.type == "cuda":
                # A pool whose graphs are all gone cannot be captured into again while its
                # blocks are alive (torch asserts): the next captures get a fresh pool.
                self._pool = torch.cuda.graph_pool_handle()
        return view

    def _locked(self, work: Callable[[], Any]) -> Any:
        with self._lock, torch.inference_mode():
            if self.device.type != "cuda":
                return work()
            with torch.cuda.device(self.device), torch.cuda.stream(self._torch_stream):
                return work()

    # ------------------------------------------------------------------ requests
    def _synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        def work():
            host_lengths, mel, frame_lengths, host_frames = self._mel(
                tokens, token_lengths, speakers, speed, max_frames)
            batch, _, f_bucket = mel.shape
            wave = self._view("wave", batch, f_bucket * self.hop)
            self._run(("vocoder", batch, f_bucket), lambda: self.runner.vocoder(mel, frame_lengths, wave))
            out = take(workspace, "wave", (batch, int(host_lengths.max()) * self.hop), np.float32)
            self._to_host(wave[:, : out.shape[1]], out)
            frame_lengths_out = take(workspace, "frame_lengths", (batch,), np.int64)
            frame_lengths_out[:] = host_lengths
            return out, frame_lengths_out, host_frames

        return self._locked(work)

    def mel(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        """-> (the request's own device copy of the mel [B, n_mels, frame bucket], totals)."""

        def work():
            host_lengths, mel, _, host_frames = self._mel(tokens, token_lengths, speakers, speed, max_frames)
            return mel.clone(), host_lengths, host_frames  # the arena's mel belongs to the next request

        return self._locked(work)

    def vocode_window(self, mel, start, stop, workspace, phase=None):
        def work():
            frames = stop - start
            w_bucket = bucket(frames, FRAME_BUCKET)
            window = self._view("window", 1, self.n_mels, w_bucket)
            window[:, :, frames:].zero_()
            window[:, :, :frames].copy_(mel[:1, :, start:stop])
            lengths = self._view("window_lengths", 1)
            lengths.fill_(frames)
            wave = self._view("window_wave", 1, w_bucket * self.hop)
            self._run(("window", 1, w_bucket), lambda: self.runner.vocoder(window, lengths, wave))
            out = take(workspace, "wave", (1, frames * self.hop), np.float32)
            self._to_host(wave[:, : out.shape[1]], out)
            return out[0], None  # pulse vocoders run on the host pipeline (make_pipeline)

        return self._locked(work)

    def _mel(self, tokens, token_lengths, speakers, speed, max_frames):
        batch, length = tokens.shape
        t_bucket = bucket(length, TOKEN_BUCKET)
        tokens_in = self._view("tokens", batch, t_bucket)
        lengths_in = self._view("token_lengths", batch)
        speakers_in = self._view("speakers", batch)
        hidden = self._view("hidden", batch, t_bucket, self.d_model)
        log_durations = self._view("log_durations", batch, t_bucket)
        frames = self._view("frames", batch, t_bucket)
        frame_lengths = self._view("frame_lengths", batch)
        padded = np.zeros((batch, t_bucket), dtype=np.int64)
        padded[:, :length] = tokens
        tokens_in.copy_(torch.from_numpy(padded), non_blocking=True)
        lengths_in.copy_(torch.from_numpy(np.ascontiguousarray(token_lengths, dtype=np.int64)), non_blocking=True)
        speakers_in.copy_(torch.from_numpy(np.ascontiguousarray(speakers, dtype=np.int64)), non_blocking=True)
        self._run(
            ("encoder", batch, t_bucket),
            lambda: self.runner.encoder(tokens_in, lengths_in, speakers_in, hidden, log_durations),
        )
        host_lengths = self._regulate(log_durations, lengths_in, speed, frames, frame_lengths)
        check_frame_limit(host_lengths, max_frames)
        f_bucket = bucket(int(host_lengths.max()), FRAME_BUCKET)
        expanded = self._view("expanded", batch, f_bucket, self.d_model)
        mel = self._view("mel", batch, self.n_mels, f_bucket)
        self._expand(hidden, frames, expanded)
        self._run(("decoder", batch, f_bucket), lambda: self.runner.decoder(expanded, frame_lengths, mel))
        host_frames = frames[:, :length].to("cpu").numpy().astype(np.int32)  # per-token frames: word timings
        return host_lengths, mel, frame_lengths, host_frames

    # ------------------------------------------------------------------ regulator and copies
    def _regulate(self, log_durations, lengths, speed, frames, frame_lengths) -> np.ndarray:
        """Durations kernel -> frame counts on the device; their row totals on the host."""
        batch, t_bucket = frames.shape
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
        self._stream.synchronize()  # sync 1: the frame totals pick the decoder's bucket
        return host.numpy().copy()

    def _expand(self, hidden, frames, expanded) -> None:
        batch, t_bucket = frames.shape
        f_bucket = expanded.shape[1]
        if self.device.type != "cuda":
            _core.expand_frames(hidden.numpy(), frames.numpy(), f_bucket, out=expanded.numpy())
            return
        from .. import _cuda

        _cuda.expand_frames(
            hidden.data_ptr(), frames.data_ptr(), batch, t_bucket, self.d_model, f_bucket,
            expanded.data_ptr(), _DLPACK_DTYPES[self.dtype], self._stream.handle,
        )

    def _to_host(self, wave: torch.Tensor, out: np.ndarray) -> None:
        """The one device->host copy of a result: through pinned staging on CUDA."""
        if self.device.type != "cuda":
            np.copyto(out, wave.numpy())
            return
        if self._host_wave.numel() < out.size:
            self._host_wave = torch.empty(int(out.size * _GROWTH), dtype=torch.float32, pin_memory=True)
        staging = self._host_wave[: out.size].view(out.shape)
        staging.copy_(wave, non_blocking=True)
        self._stream.synchronize()  # sync 2: the wave is on the host
        np.copyto(out, staging.numpy())
