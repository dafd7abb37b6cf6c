"""The TensorRT backend: a Python runner over the engines of :mod:`ttsengine.export.tensorrt_build`.

**Untested where it was written** (TensorRT cannot be installed there); it follows
NVIDIA's documented TensorRT 10 Python API. Design:

- Engines are built, or loaded from the engine cache, at construction (an existing cached
  engine for this voice, TensorRT version, GPU and precision is reused whatever profile
  ``ttsengine build-engine`` gave it; otherwise the default profile is built). Every
  failure to get TensorRT, CUDA or the engines is raised then, never later.
- Device memory is **torch CUDA tensors** (torch is present wherever CUDA is used here):
  their ``data_ptr()`` goes to ``IExecutionContext.set_tensor_address``; all work (copies,
  the regulator's gather, ``execute_async_v3``) is queued on one torch CUDA stream, and
  each call synchronizes once, when its host result is read (``decode`` returns a device
  handle and does not synchronize).
- One execution context per engine; ``set_input_shape`` per request; calls are serialized
  by a lock (a context holds one request's shapes and addresses). Batches larger than
  an engine's profile run as several engine calls. A segment longer than the profile (more
  tokens or frames than it was built for) raises :class:`InvalidInputError` naming
  ``ttsengine build-engine --max-tokens/--max-frames``; the default profile covers every
  segment the synthesizer lets through (``max_segment_chars`` x tokens per character, and
  its ``MAX_SEGMENT_SECONDS`` cap on frames).
- The length regulator: frame index from ``ttsengine._core`` on the host, gather on the GPU
  (as the torch backend does on CUDA).
- Where ``ttsengine._trt`` is compiled (a build that found TensorRT), whole requests
  (``synthesize``) run in its C++ pipeline instead: the same engines, our CUDA regulator
  kernels, buffers in one ``_cuda`` arena, one stream. Streaming keeps the Python path.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .. import _core
from ..errors import BackendUnavailableError, InvalidInputError, TTSEngineError
from ..voice import VoiceConfig
from ..workspace import Workspace
from .base import Backend, check_frame_limit

__all__ = ["TensorRTBackend"]

logger = logging.getLogger("ttsengine")

_OUTPUTS = {"encoder": ("hidden", "log_durations"), "decoder": ("mel",), "vocoder": ("wave",)}


def _cuda_index(device: str) -> int:
    """``auto`` | ``cuda`` | ``cuda:N`` -> N; ``cpu`` is refused (TensorRT runs on GPUs only)."""
    if device == "cpu":
        raise BackendUnavailableError("TensorRT needs a CUDA device (device='cpu' was requested)")
    if device in ("auto", "cuda"):
        return 0
    if device.startswith("cuda:") and device[5:].isascii() and device[5:].isdigit():
        return int(device[5:])
    raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def _torch_cuda(index: int) -> Any:
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(
            "the tensorrt backend keeps its buffers in torch CUDA tensors: install a CUDA build of torch"
        ) from None
    if not torch.cuda.is_available():
        raise BackendUnavailableError(f"TensorRT needs a CUDA device, but torch {torch.__version__} sees none")
    if index >= torch.cuda.device_count():
        raise BackendUnavailableError(f"device cuda:{index} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch


class _Engine:
    """One deserialized engine, its execution context and its I/O description."""

    def __init__(self, trt: Any, torch: Any, runtime: Any, graph: str, path: Path, meta: dict[str, Any]) -> None:
        self.graph = graph
        self.profile = {name: tuple(tuple(s) for s in shapes) for name, shapes in meta["profile"].items()}
        self.max_batch = min(shapes[2][0] for shapes in self.profile.values())
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise BackendUnavailableError(f"TensorRT could not load {path} (rebuild it: ttsengine build-engine --force)")
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise BackendUnavailableError(f"TensorRT could not create an execution context for {path.name}")
        dtypes = {
            trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
            trt.int64: torch.int64, trt.bool: torch.bool,
        }
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.dtypes: dict[str, Any] = {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self.inputs if is_input else self.outputs).append(name)
            dtype = self.engine.get_tensor_dtype(name)
            if dtype not in dtypes:
                raise BackendUnavailableError(f"{path.name}: I/O tensor {name} has unsupported type {dtype}")
            self.dtypes[name] = dtypes[dtype]
        if set(self.inputs) != set(self.profile) or set(self.outputs) != set(_OUTPUTS[graph]):
            raise BackendUnavailableError(
                f"{path.name}: engine I/O {self.inputs} -> {self.outputs} is not the {graph} contract"
            )

    def run(self, torch: Any, stream: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        """Queues one execution on ``stream``; returns the output tensors (not yet ready)."""
        keep = []
        for name in self.inputs:
            tensor = inputs[name].to(self.dtypes[name]).contiguous()
            if not self.context.set_input_shape(name, tuple(tensor.shape)):
                raise TTSEngineError(f"TensorRT {self.graph}: shape {tuple(tensor.shape)} refused for input {name}")
            self.context.set_tensor_address(name, tensor.data_ptr())
            keep.append(tensor)
        outputs = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise TTSEngineError(f"TensorRT {self.graph}: output {name} has unresolved shape {shape}")
            out = torch.empty(shape, dtype=self.dtypes[name], device=keep[0].device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise TTSEngineError(f"TensorRT {self.graph}: execute_async_v3 failed (see the TensorRT log)")
        return outputs  # inputs in `keep` were allocated on `stream`: their reuse is stream-ordered


class TensorRTBackend(Backend):
    """Runs the voice's TensorRT engines (fp16 by default) on one CUDA device."""

    name = "tensorrt"

    def __init__(
        self,
        voice: VoiceConfig,
        device: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,  # GPU backend: host threads are not used
    ) -> None:
        from ..export import tensorrt_build as build

        index = _cuda_index(device)
        if precision not in ("auto", "fp16", "fp32"):
            raise InvalidInputError(f"precision must be 'auto', 'fp32' or 'fp16', got {precision!r}")
        build.onnx_graph_paths(voice)  # the bundle has graphs, else: run `ttsengine export`
        trt = build.import_tensorrt()
        torch = _torch_cuda(index)
        self.device = f"cuda:{index}"
        self.precision = "fp16" if precision == "auto" else precision
        self._torch = torch
        self._device = torch.device(self.device)
        self._lock = threading.Lock()
        receptive = voice.vocoder.get("receptive_field_frames")
        if not isinstance(receptive, int):
            raise BackendUnavailableError(
                f"{voice.path}: voice.json vocoder.receptive_field_frames is missing: re-export the voice with `ttsengine export`"
            )
        self.vocoder_context_frames = receptive + 1
        self._hop = voice.hop_length
        with torch.cuda.device(index):
            self._stream = torch.cuda.Stream(self._device)
            capability = build.compute_capability(index)
            found = build.find_cached_engines(voice, self.precision, trt.__version__, capability)
            if found is None:
                logger.info("no cached TensorRT engines for voice %r: building them (minutes)", voice.name)
                build.build_engines(voice.path, fp16=self.precision == "fp16", device_index=index)
                found = build.find_cached_engines(voice, self.precision, trt.__version__, capability)
                if found is None:
                    raise BackendUnavailableError("TensorRT engines were built but are not in the cache (see the log)")
            self._runtime = trt.Runtime(build.trt_logger(trt))
            self._engines = {
                graph: _Engine(trt, torch, self._runtime, graph, path, meta) for graph, (path, meta) in found.items()
            }
        self._native = _native_pipeline(voice, found, self._engines, index)
        logger.info(
            "tensorrt backend: %s on %s (%s), engines %s, %s", voice.name, self.device, self.precision,
            ", ".join(path.name for path, _ in found.values()),
            "C++ pipeline (_trt)" if self._native is not None else "Python pipeline",
        )
        self._native_batch = min(engine.max_batch for engine in self._engines.values())

    def synthesize(self, tokens, token_lengths, speakers, speed, workspace, max_frames):
        if self._native is None:
            return super().synthesize(tokens, token_lengths, speakers, speed, workspace, max_frames)
        from ..export.tensorrt_build import batch_slices

        pieces = []
        for rows in batch_slices(tokens.shape[0], self._native_batch):
            try:
                wave, lengths = self._native.run(
                    np.ascontiguousarray(tokens[rows], dtype=np.int64),
                    np.ascontiguousarray(token_lengths[rows], dtype=np.int64),
                    np.ascontiguousarray(speakers[rows], dtype=np.int64), float(speed),
                )
            except ValueError as exc:  # beyond the engines' profile
                raise InvalidInputError(f"the TensorRT pipeline cannot run this segment ({exc})") from None
            check_frame_limit(lengths, max_frames)
            pieces.append((wave, lengths))
        frame_lengths = self.host_buffer(workspace, "frame_lengths", (tokens.shape[0],), np.int64)
        frame_lengths[:] = np.concatenate([lengths for _, lengths in pieces])
        waves = self.host_buffer(workspace, "wave", (tokens.shape[0], int(frame_lengths.max()) * self._hop), np.float32)
        waves.fill(0.0)
        row = 0
        for wave, _ in pieces:
            waves[row : row + wave.shape[0], : wave.shape[1]] = wave
            row += wave.shape[0]
        return waves, frame_lengths

    # -- helpers ----------------------------------------------------------------------
    def _device_array(self, array: np.ndarray) -> Any:
        return self._torch.from_numpy(np.ascontiguousarray(array)).to(self._device, non_blocking=True)

    def _to_host(self, tensor: Any, workspace: Workspace | None, name: str) -> np.ndarray:
        out = self.host_buffer(workspace, name, tuple(tensor.shape), np.float32)
        self._torch.from_numpy(out).copy_(tensor)
        return out

    def _check(self, graph: str, shapes: dict[str, tuple[int, ...]]) -> None:
        from ..export.tensorrt_build import check_profiles_cover

        engine = self._engines[graph]
        capped = {name: (min(shape[0], engine.max_batch), *shape[1:]) for name, shape in shapes.items()}
        problems = check_profiles_cover({graph: engine.profile}, [(graph, capped)])
        if problems:
            raise InvalidInputError(
                f"the TensorRT {graph} engine cannot run this segment ({problems[0]}); rebuild the engines "
                "with a larger profile: ttsengine build-engine DIR --max-tokens T --max-frames F"
            )

    def _run(self, graph: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Runs ``graph`` in engine-sized pieces of the batch; outputs joined on the device."""
        from ..export.tensorrt_build import batch_slices

        engine = self._engines[graph]
        batch = next(iter(inputs.values())).shape[0]
        pieces = [
            engine.run(self._torch, self._stream, {name: value[rows] for name, value in inputs.items()})
            for rows in batch_slices(batch, engine.max_batch)
        ]
        if len(pieces) == 1:
            return pieces[0]
        return {name: self._torch.cat([piece[name] for piece in pieces]) for name in pieces[0]}

    @contextmanager
    def _context(self) -> Iterator[None]:
        """This backend's device and stream for everything queued inside; one call at a time
        (the execution contexts hold per-call shapes and addresses)."""
        with self._lock, self._torch.cuda.device(self._device), self._torch.cuda.stream(self._stream):
            yield

    # -- Backend ----------------------------------------------------------------------
    def encode(
        self,
        tokens: np.ndarray,
        token_lengths: np.ndarray,
        speakers: np.ndarray,
        workspace: Workspace | None = None,
    ) -> tuple[Any, np.ndarray]:
        batch, length = tokens.shape
        self._check("encoder", {"tokens": (batch, length), "token_lengths": (batch,), "speakers": (batch,)})
        with self._context():
            out = self._run("encoder", {
                "tokens": self._device_array(tokens.astype(np.int64, copy=False)),
                "token_lengths": self._device_array(token_lengths.astype(np.int64, copy=False)),
                "speakers": self._device_array(speakers.astype(np.int64, copy=False)),
            })
            log_durations = self._to_host(out["log_durations"], workspace, "log_durations")  # synchronizes
        return out["hidden"], log_durations

    def decode(
        self, hidden: Any, frames: np.ndarray, frame_lengths: np.ndarray, workspace: Workspace | None = None
    ) -> Any:
        torch = self._torch
        max_frames = int(frame_lengths.max())
        batch, _, width = hidden.shape
        self._check("decoder", {"frames": (batch, max_frames, width), "frame_lengths": (batch,)})
        with self._context():
            index = self._device_array(_core.frame_index(np.ascontiguousarray(frames, dtype=np.int32), max_frames))
            gathered = torch.gather(hidden, 1, index.clamp(min=0)[:, :, None].expand(-1, -1, width))
            expanded = gathered * (index >= 0)[:, :, None].to(hidden.dtype)
            lengths = self._device_array(np.asarray(frame_lengths, dtype=np.int64))
            return self._run("decoder", {"frames": expanded, "frame_lengths": lengths})["mel"]

    def vocode(
        self,
        mel: Any,
        frame_lengths: np.ndarray | None = None,
        window: tuple[int, int, int] | None = None,
        workspace: Workspace | None = None,
    ) -> np.ndarray:
        if window is not None:
            row, start, stop = window
            mel = mel[row : row + 1, :, start:stop]
            frame_lengths = None
        batch, n_mels, total = mel.shape
        if frame_lengths is None:
            frame_lengths = np.full(batch, total, dtype=np.int64)
        self._check("vocoder", {"mel": (batch, n_mels, total), "frame_lengths": (batch,)})
        with self._context():
            lengths = self._device_array(np.asarray(frame_lengths, dtype=np.int64))
            wave = self._run("vocoder", {"mel": mel.contiguous(), "frame_lengths": lengths})["wave"]
            return self._to_host(wave, workspace, "wave")  # synchronizes


def _native_pipeline(voice: VoiceConfig, found: dict[str, Any], engines: dict[str, _Engine], index: int) -> Any:
    """``_trt.TrtPipeline`` over the same engines, or None (logged) where ``_trt`` is not usable."""
    from ..native import native_status

    status = native_status("_trt")
    if not status.ok:
        logger.info("tensorrt backend: the C++ pipeline is unavailable (_trt %s: %s)", status.state, status.detail)
        return None
    from .. import _trt

    encoder, decoder = engines["encoder"].profile, engines["decoder"].profile
    pipeline = _trt.TrtPipeline(
        str(found["encoder"][0]), str(found["decoder"][0]), str(found["vocoder"][0]),
        max_batch=min(engine.max_batch for engine in engines.values()),
        max_tokens=encoder["tokens"][2][1], max_frames=decoder["frames"][2][1],
        d_model=int(voice.acoustic["hparams"]["d_model"]), n_mels=voice.n_mels, hop=voice.hop_length, device=index,
    )
    return pipeline
