"""The TensorRT runner: the voice's engines from the engine cache, executed into given buffers.

**Untested where it was written** (TensorRT cannot be installed there); it follows
NVIDIA's documented TensorRT 10 Python API, and its glue is tested on the CPU with a fake
``tensorrt`` driven by the CUDA pipeline on a fake device. Design:

- Engines are loaded from the engine cache (:mod:`ttsengine.backends.tensorrt_cache`) at
  construction: an engine for this voice, TensorRT version, GPU and precision is reused
  whatever profile ``ttsengine build-engine`` gave it. Building engines takes minutes and is
  always explicit (``ttsengine build-engine``, or
  :func:`ttsengine.export.tensorrt_build.build_engines`): a cache miss raises
  :class:`EnginesNotBuilt` naming the command (``backend="auto"`` then takes another backend).
- Buffers are torch CUDA tensors (the CUDA pipeline's arena, see
  :mod:`ttsengine.pipeline.cuda`): their ``data_ptr()`` goes to
  ``IExecutionContext.set_tensor_address`` and ``execute_async_v3`` is queued on torch's
  current stream (the pipeline's). An input of another dtype is converted first; an output
  buffer of another dtype or layout is written through a temporary.
- One execution context per engine; ``set_input_shape`` per call; calls are serialized by
  a lock. :attr:`TensorRTBackend.max_batch` (the profiles' largest batch) makes the
  pipeline run bigger batches in slices. A segment longer than the profile raises
  :class:`InvalidInputError` naming ``ttsengine build-engine --max-tokens/--max-frames``;
  the default profile covers every segment the synthesizer lets through.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, InvalidInputError, TTSEngineError
from ..voice import VoiceConfig
from .base import Backend
from .device import check_precision, parse_device

__all__ = ["EnginesNotBuilt", "TensorRTBackend"]

logger = logging.getLogger("ttsengine")

_OUTPUTS = {"encoder": ("hidden", "log_durations"), "decoder": ("mel",), "vocoder": ("wave",)}


class EnginesNotBuilt(BackendUnavailableError):
    """The engine cache has no engines for this voice, GPU, TensorRT version and precision."""


def _cuda_index(device: str) -> int:
    """``auto`` | ``cuda`` | ``cuda:N`` -> N; ``cpu`` is refused (TensorRT runs on GPUs only)."""
    kind, index = parse_device(device)
    if kind == "cpu":
        raise BackendUnavailableError("TensorRT needs a CUDA device (device='cpu' was requested)")
    return index


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

    def run(self, torch: Any, device: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        """Queues one execution on torch's current stream, writing into ``outputs``."""
        keep, pending = [], []
        for name in self.inputs:
            tensor = torch.as_tensor(inputs[name], device=device).to(self.dtypes[name]).contiguous()
            if not self.context.set_input_shape(name, tuple(tensor.shape)):
                raise TTSEngineError(f"TensorRT {self.graph}: shape {tuple(tensor.shape)} refused for input {name}")
            self.context.set_tensor_address(name, tensor.data_ptr())
            keep.append(tensor)  # alive until the call is queued; reuse is stream-ordered
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise TTSEngineError(f"TensorRT {self.graph}: output {name} has unresolved shape {shape}")
            out = outputs[name]
            direct = (
                isinstance(out, torch.Tensor) and out.dtype == self.dtypes[name] and out.is_contiguous()
                and tuple(out.shape) == shape and out.device == keep[0].device
            )
            target = out if direct else torch.empty(shape, dtype=self.dtypes[name], device=keep[0].device)
            self.context.set_tensor_address(name, target.data_ptr())
            if not direct:
                pending.append((out, target))
        if not self.context.execute_async_v3(torch.cuda.current_stream(device).cuda_stream):
            raise TTSEngineError(f"TensorRT {self.graph}: execute_async_v3 failed (see the TensorRT log)")
        for out, target in pending:
            (out if isinstance(out, torch.Tensor) else torch.from_numpy(out)).copy_(target)


class TensorRTBackend(Backend):
    """Runs the voice's TensorRT engines (fp16 by default) on one CUDA device."""

    name = "tensorrt"
    io = "torch"

    def __init__(
        self,
        voice: VoiceConfig,
        device: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,  # GPU backend: host threads are not used
    ) -> None:
        from . import tensorrt_cache as cache
        from ..voice.onnx import onnx_graph_paths

        if voice.pulse_vocoder:
            raise BackendUnavailableError(
                f"voice {voice.name!r}: its source-filter CPU vocoder runs with onnxruntime or torch, not "
                "TensorRT (use vocoder='hifigan' on a GPU)")
        index = _cuda_index(device)
        if check_precision(precision) == "int8":
            raise BackendUnavailableError("precision 'int8' runs on CPUs with the onnxruntime backend; "
                                          "TensorRT takes fp32 or fp16")
        onnx_graph_paths(voice)  # the bundle has graphs, else: run `ttsengine export`
        trt = cache.import_tensorrt()
        torch = _torch_cuda(index)
        self.device = f"cuda:{index}"
        self.precision = "fp16" if precision == "auto" else precision
        self.vocoder_context_frames = voice.vocoder_context_frames
        self._torch = torch
        self._device = torch.device(self.device)
        self._lock = threading.Lock()
        with torch.cuda.device(index):
            found = cache.find_cached_engines(voice, self.precision, trt.__version__, cache.compute_capability(index))
            if found is None:
                raise EnginesNotBuilt(
                    f"no cached TensorRT {self.precision} engines for voice {voice.name!r} on this GPU and "
                    f"TensorRT {trt.__version__}: build them with `ttsengine build-engine {voice.path}`",
                )
            runtime = trt.Runtime(cache.trt_logger(trt))
            self._engines = {
                graph: _Engine(trt, torch, runtime, graph, path, meta) for graph, (path, meta) in found.items()
            }
        self._runtime = runtime
        self.dtype = self._engines["decoder"].dtypes["frames"]
        self.max_batch = min(engine.max_batch for engine in self._engines.values())
        logger.info(
            "tensorrt backend: %s on %s (%s), engines %s", voice.name, self.device, self.precision,
            ", ".join(path.name for path, _ in found.values()),
        )

    def _execute(self, graph: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        from .tensorrt_profiles import check_profiles_cover

        engine = self._engines[graph]
        shapes = {name: tuple(value.shape) for name, value in inputs.items()}
        problems = check_profiles_cover({graph: engine.profile}, [(graph, shapes)])
        if problems:
            raise InvalidInputError(
                f"the TensorRT {graph} engine cannot run this segment ({problems[0]}); rebuild the engines "
                "with a larger profile: ttsengine build-engine DIR --max-tokens T --max-frames F"
            )
        with self._lock, self._torch.cuda.device(self._device):
            engine.run(self._torch, self._device, inputs, outputs)

    def encoder(self, tokens, token_lengths, speakers, hidden, log_durations):
        inputs = {"tokens": tokens, "token_lengths": token_lengths, "speakers": speakers}
        self._execute("encoder", inputs, {"hidden": hidden, "log_durations": log_durations})

    def decoder(self, expanded, frame_lengths, mel):
        self._execute("decoder", {"frames": expanded, "frame_lengths": frame_lengths}, {"mel": mel})

    def vocoder(self, mel, frame_lengths, wave):
        if frame_lengths is None:
            frame_lengths = np.full(mel.shape[0], mel.shape[2], dtype=np.int64)
        self._execute("vocoder", {"mel": mel, "frame_lengths": frame_lengths}, {"wave": wave})
