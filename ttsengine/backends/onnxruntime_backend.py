"""The ONNX Runtime backend: runs a bundle's exported graphs (``ttsengine export``).

Inputs and outputs are bound by address (I/O binding), so every network writes into the
buffer the pipeline gives it. CPU: the CPU execution provider, numpy buffers of the host
pipeline (:mod:`ttsengine.pipeline.host`). CUDA (``onnxruntime-gpu``): the TensorRT
execution provider first when ONNX Runtime has it (engines cached beside ours, see
:func:`ttsengine.backends.tensorrt_cache.ort_cache_dir`), then the CUDA provider. Where
torch sees that GPU the runner takes torch tensors (``io == "torch"``): the CUDA pipeline
keeps every buffer between the networks on the device and binds them in place, and only
the wave comes back to the host. Without torch it takes numpy buffers and ONNX Runtime
copies each input to the device and each output back.

Imports only numpy, onnxruntime and light ttsengine modules; torch only on CUDA, if present.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import BackendUnavailableError, VoiceLoadError
from ..voice.contract import GRAPH_NAMES, graph_precision, io_contract
from ..voice.hashing import sha256_file as _sha256
from ..voice.onnx import external_initializers
from ..voice.schema import bundle_file
from ..voice import VoiceConfig
from .base import Backend
from .device import check_precision, parse_device

__all__ = ["OnnxRuntimeBackend"]

logger = logging.getLogger("ttsengine")

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_TRT = "TensorrtExecutionProvider"
#: Graph rewrites left out on the CPU provider: its SkipLayerNormalization kernel is slower
#: than the Add + LayerNormalization it replaces (2 threads, 5 s sentence: decoder 10.7 ->
#: 10.2 ms, encoder 2.9 -> 2.8 ms, CPU vocoder 5.1 -> 5.0 ms; 1 thread 19.6 -> 18.3 ms).
_CPU_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


class OnnxRuntimeBackend(Backend):
    """Runs encoder, decoder and vocoder graphs with ONNX Runtime.

    Raises:
        BackendUnavailableError: the voice has no ONNX graphs, CUDA was requested without
            ``onnxruntime-gpu`` (or a usable GPU), fp16 was requested on CPU or for a
            bundle exported without ``--fp16``, or int8 on a GPU or for a bundle exported
            without ``--int8``.
        VoiceLoadError: a graph file is missing, modified (sha256 differs from voice.json)
            or does not follow the I/O contract.
    """

    name = "onnxruntime"

    def __init__(
        self,
        voice: VoiceConfig,
        device: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,
    ) -> None:
        graphs = voice.onnx.get("graphs") if voice.onnx else None
        if not graphs:
            raise BackendUnavailableError(
                f"backend 'onnxruntime' needs exported graphs and voice {voice.name!r} ({voice.path}) has none: "
                f"run `ttsengine export {voice.path} -o DIR` and load DIR"
            )
        kind, index = parse_device(device)
        check_precision(precision)
        available = ort.get_available_providers()
        if kind == "cuda" and _CUDA not in available:
            raise BackendUnavailableError(
                f"device {device!r} needs the CUDA execution provider: pip install onnxruntime-gpu "
                f"(installed onnxruntime {ort.__version__} has {', '.join(available)})"
            )
        use_gpu = kind == "cuda" or (kind == "auto" and _CUDA in available)
        has_fp16 = all("fp16" in graphs.get(graph, {}) for graph in GRAPH_NAMES)
        has_int8 = "int8" in graphs.get("decoder", {})
        requested_precision = precision
        if precision == "auto":
            precision = "fp16" if use_gpu and has_fp16 else "int8" if not use_gpu and has_int8 else "fp32"
        if precision == "int8":
            if kind == "cuda":
                raise BackendUnavailableError(
                    "precision 'int8' runs on CPUs (ONNX Runtime's CPU provider): use 'fp16' or 'fp32' on a GPU")
            if not has_int8:
                raise BackendUnavailableError(
                    f"voice {voice.name!r} has no int8 decoder graph: re-export it with "
                    f"`ttsengine export VOICE -o DIR --int8`"
                )
            use_gpu = False
        if precision == "fp16":
            if not use_gpu:
                raise BackendUnavailableError(
                    "precision 'fp16' with the onnxruntime backend needs a CUDA device (onnxruntime-gpu): "
                    "ONNX Runtime's CPU provider has no fp16 kernels for most of these ops and runs fp16 "
                    "graphs slower than fp32; use precision 'fp32' or 'auto' on CPU"
                )
            if not has_fp16:
                raise BackendUnavailableError(
                    f"voice {voice.name!r} has no fp16 graphs: re-export it with "
                    f"`ttsengine export VOICE -o DIR --fp16`"
                )
        self.vocoder_context_frames = voice.vocoder_context_frames
        self._num_threads = num_threads
        contract = io_contract(int(voice.acoustic["hparams"]["d_model"]), voice.n_mels, voice.hop_length,
                               pulse=voice.pulse_vocoder)
        if voice.pulse_vocoder:  # the CPU vocoder runs as "vocoder" (VoiceConfig.with_vocoder)
            contract["vocoder"] = contract["cpu_vocoder"]
        self.pulse = voice.pulse_vocoder

        providers = self._providers(use_gpu, index, precision, available)
        sessions = self._create_sessions(voice, precision, providers, contract)
        if use_gpu and not _on_gpu(sessions):
            # onnxruntime-gpu lists its CUDA provider even where no GPU / driver is usable
            # and then silently runs on CPU: say so, or (auto) fall back deliberately.
            if kind == "cuda":
                raise BackendUnavailableError(
                    f"device {device!r}: onnxruntime-gpu {ort.__version__} found no usable CUDA device"
                )
            if precision == "fp16" and requested_precision == "fp16":
                raise BackendUnavailableError("precision 'fp16' needs a CUDA device, and onnxruntime-gpu found none")
            use_gpu, precision = False, "int8" if has_int8 else "fp32"
            sessions = self._create_sessions(voice, precision, [_CPU], contract)
        self._sessions = sessions
        self.precision = precision
        self.device = f"cuda:{index}" if use_gpu else "cpu"
        if use_gpu:
            self._take_device_tensors(index)
        logger.debug("onnxruntime %s on %s (%s), providers %s", ort.__version__, self.device, precision,
                     sessions["vocoder"].get_providers())

    # ---------------------------------------------------------------------------- setup
    @staticmethod
    def _providers(use_gpu: bool, index: int, precision: str, available: list[str]) -> list[Any]:
        if not use_gpu:
            return [_CPU]
        providers: list[Any] = []
        if _TRT in available:
            from .tensorrt_cache import ort_cache_dir

            providers.append((_TRT, {
                "device_id": index,
                "trt_fp16_enable": precision == "fp16",
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(ort_cache_dir()),
            }))
        providers.append((_CUDA, {"device_id": index}))
        providers.append(_CPU)
        return providers

    def _options(self, initializers: dict[str, np.ndarray]) -> Any:
        """Session options; ``initializers``: the graph's weights kept in a safetensors file
        (ONNX Runtime reads them from these arrays, which must outlive the session)."""
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only: no provider-assignment chatter
        # Three sessions run one after another: spinning intra-op threads of the idle ones
        # steal cores from the busy one (measured on 2 cores: RTF 0.056 spinning, 0.039 not).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._num_threads is not None:
            options.intra_op_num_threads = self._num_threads
            options.inter_op_num_threads = 1
        if initializers:
            values = [ort.OrtValue.ortvalue_from_numpy(array) for array in initializers.values()]
            options.add_external_initializers(list(initializers), values)
            self._initializers.append(values)
        return options

    def _create_sessions(
        self, voice: VoiceConfig, precision: str, providers: list[Any], contract: dict[str, Any]
    ) -> dict[str, Any]:
        sessions = {}
        self._initializers: list[Any] = []
        for graph in GRAPH_NAMES:
            version = graph_precision(voice.onnx["graphs"].get(graph), precision)  # int8: where there is one
            path = self._graph_path(voice, graph, version)
            options = self._options(external_initializers(voice, graph, version))
            extra = {"disabled_optimizers": _CPU_DISABLED_OPTIMIZERS} if providers == [_CPU] else {}
            try:
                session = ort.InferenceSession(str(path), options, providers=providers, **extra)
            except Exception as exc:  # onnxruntime raises its own exception types
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if providers != [_CPU]:
                    raise BackendUnavailableError(
                        f"onnxruntime cannot create a GPU session for {path.name}: {reason}"
                    ) from None
                raise VoiceLoadError(f"{path}: onnxruntime cannot load it ({reason})") from None
            _check_session_io(session, path, graph, contract[graph])
            sessions[graph] = session
        return sessions

    @staticmethod
    def _graph_path(voice: VoiceConfig, graph: str, precision: str) -> Path:
        # load_voice checked the entry (types, file in the bundle); the file may have changed since.
        entry = voice.onnx["graphs"].get(graph)
        if not isinstance(entry, dict) or not isinstance(entry.get(precision), str):
            raise VoiceLoadError(f"{voice.path}: voice.json onnx.graphs has no {precision} {graph} graph")
        path = bundle_file(voice.path, entry[precision], f"onnx.graphs.{graph}.{precision}", voice.path / "voice.json")
        if not path.is_file():
            raise VoiceLoadError(f"{voice.path}: missing {entry[precision]} (listed in voice.json)")
        digests = entry.get("sha256")
        expected = digests.get(precision) if isinstance(digests, dict) else None
        try:
            actual = _sha256(path)
        except OSError as exc:
            raise VoiceLoadError(f"{path}: cannot read the {graph} graph ({exc.strerror or exc})") from None
        if not expected or actual != expected:
            raise VoiceLoadError(
                f"{path}: sha256 does not match voice.json (the graph was modified or is corrupt; re-export the voice)"
            )
        return path

    def _take_device_tensors(self, index: int) -> None:
        """On a GPU that torch also sees: take torch tensors (``io = "torch"``), so the CUDA
        pipeline binds its device buffers in place. Without torch (or its CUDA), numpy."""
        try:
            import torch
        except ImportError:
            return
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            return
        frames = next(i for i in self._sessions["decoder"].get_inputs() if i.name == "frames")
        self.io = "torch"
        self.dtype = torch.float16 if frames.type == "tensor(float16)" else torch.float32

    # ---------------------------------------------------------------------------- running
    def _run(self, graph: str, feeds: dict[str, Any], outputs: dict[str, Any]) -> None:
        """Runs one graph, its outputs written into ``outputs`` (of the exact shape) through
        I/O binding. Buffers are numpy arrays, or contiguous torch tensors on any device
        (bound by address: nothing is copied)."""
        session = self._sessions[graph]
        binding = session.io_binding()
        device_buffers = [v for v in (*feeds.values(), *outputs.values()) if not isinstance(v, np.ndarray)]
        if any(v.device.type == "cuda" for v in device_buffers):
            # the pipeline wrote the inputs on its own stream; ONNX Runtime runs on another
            import torch

            torch.cuda.current_stream(device_buffers[0].device).synchronize()
        for name, value in feeds.items():
            if isinstance(value, np.ndarray):
                binding.bind_cpu_input(name, value)
            else:
                binding.bind_input(name, *_tensor_address(value))
        for name, array in outputs.items():
            if isinstance(array, np.ndarray):
                binding.bind_output(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)
            else:
                binding.bind_output(name, *_tensor_address(array))
        session.run_with_iobinding(binding)
        for name, value in zip(outputs, binding.get_outputs()):
            array = outputs[name]
            if isinstance(array, np.ndarray) and value.data_ptr() != array.ctypes.data:
                np.copyto(array, value.numpy())  # ORT chose its own buffer

    def encoder(self, tokens, token_lengths, speakers, hidden, log_durations):
        feeds = {"tokens": _int64(tokens), "token_lengths": _int64(token_lengths), "speakers": _int64(speakers)}
        self._run("encoder", feeds, {"hidden": hidden, "log_durations": log_durations})

    def decoder(self, expanded, frame_lengths, mel):
        self._run("decoder", {"frames": expanded, "frame_lengths": _int64(frame_lengths)}, {"mel": mel})

    def vocoder(self, mel, frame_lengths, wave, phase=None):
        if frame_lengths is None:
            frame_lengths = np.full(mel.shape[0], mel.shape[2], dtype=np.int64)
        feeds = {"mel": mel, "frame_lengths": _int64(frame_lengths)}
        if not self.pulse:
            self._run("vocoder", feeds, {"wave": wave})
            return None
        zeros = np.zeros(mel.shape[0], np.int64)
        anchor, cycles, offset = phase if phase is not None else (zeros, zeros.astype(np.float32), zeros)
        out = np.empty((mel.shape[0], mel.shape[2] + 1), np.float32)
        self._run("vocoder", {**feeds, "phase": np.ascontiguousarray(cycles, np.float32),
                              "anchor": _int64(anchor), "offset": _int64(offset)}, {"wave": wave, "cycles": out})
        return out


#: contract dtype -> onnxruntime's NodeArg.type.
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)", "int64": "tensor(int64)"}
_D_MODEL, _N_MELS, _HOP = "acoustic.hparams.d_model", "features.n_mels", "features.hop_length"
_SCALED_FRAMES = re.compile(r"^\s*(?:frames\s*\*\s*(\d+)|(\d+)\s*\*\s*frames)\s*$")


def _dims_match(got: list[Any], want: list[Any]) -> bool:
    """A session's declared shape against the contract's: fixed dimensions equal, named
    (dynamic) ones not fixed; a ``frames*hop`` dimension, where the graph names it the same
    way, with the same hop."""
    if len(got) != len(want):
        return False
    for actual, expected in zip(got, want):
        if isinstance(expected, int):
            if actual != expected:
                return False
        elif isinstance(actual, int):
            return False
        elif isinstance(actual, str) and "*" in expected:
            match = _SCALED_FRAMES.match(actual)
            if match and int(match.group(1) or match.group(2)) != int(expected.split("*")[1]):
                return False
    return True


def _check_session_io(session: Any, path: Path, graph: str, contract: dict[str, Any]) -> None:
    """The graph's inputs and outputs (names, order, dtypes, shapes) are the contract's, i.e.
    it was exported for this voice's d_model, n_mels and hop_length; checked once, here."""
    for kind, values in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        names = [value.name for value in values]
        if names != list(contract[kind]):
            raise VoiceLoadError(
                f"{path}: {kind} {names} do not follow the ttsengine ONNX contract {list(contract[kind])} (re-export)"
            )
        for value, (name, spec) in zip(values, contract[kind].items()):
            got = list(value.shape)
            if value.type == _ORT_TYPES.get(spec["dtype"]) and _dims_match(got, spec["shape"]):
                continue
            # the voice.json field each fixed dimension of the contract comes from
            pulse = "phase" in contract["inputs"]  # a source-filter CPU vocoder running as "vocoder"
            sources = io_contract(_D_MODEL, _N_MELS, _HOP, pulse)[  # type: ignore[arg-type]
                "cpu_vocoder" if pulse else graph][kind][name]["shape"]
            fields = sorted({
                str(source).split("*")[-1] for index, source in enumerate(sources)
                if "." in str(source) and not _dims_match(got[index:index + 1], spec["shape"][index:index + 1])
            } if len(got) == len(sources) else set())
            raise VoiceLoadError(
                f"{path}: {graph} {kind[:-1]} {name!r} is {value.type} {got}, but voice.json "
                f"({', '.join(fields) or 'the ONNX contract'}) needs {spec['dtype']} {spec['shape']}: "
                "the graph was exported for another voice (re-export)"
            )


def _on_gpu(sessions: dict[str, Any]) -> bool:
    return all(_CUDA in s.get_providers() or _TRT in s.get_providers() for s in sessions.values())


def _int64(array: Any) -> Any:
    """int64 ids / lengths: numpy as a contiguous int64 array, torch tensors as they are
    (the CUDA pipeline's are int64 already)."""
    return np.ascontiguousarray(array, dtype=np.int64) if isinstance(array, np.ndarray) else array


def _tensor_address(tensor: Any) -> tuple[str, int, Any, list[int], int]:
    """A contiguous torch tensor as I/O binding's (device type, device id, numpy dtype,
    shape, address)."""
    if not tensor.is_contiguous():
        raise ValueError("I/O binding needs contiguous tensors")
    dtype = np.dtype(str(tensor.dtype).removeprefix("torch."))
    device = tensor.device
    return device.type, device.index or 0, dtype, list(tensor.shape), tensor.data_ptr()
