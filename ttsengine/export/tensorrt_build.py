"""ONNX -> TensorRT engines (``ttsengine build-engine DIR``), the engine cache, and the
static checks that need no TensorRT.

**The TensorRT path is untested where this was written** (TensorRT cannot be installed
there): everything that touches ``tensorrt`` is in :func:`_build_serialized` and
:func:`import_tensorrt` here and in ``ttsengine/backends/tensorrt_backend.py``, written
against NVIDIA's documented TensorRT 10 Python API. What is tested: the optimization
profiles and their coverage of what the synthesizer requests, the cache keys, the
operator check of the exported graphs against TensorRT's documented ONNX operator list
(``data/tensorrt_onnx_ops.json``), and the errors raised where TensorRT is missing.

Engines are built from the **fp32** ONNX graphs. ``fp16=True`` sets
``BuilderFlag.FP16``, which lets TensorRT pick fp16 kernels layer by layer (the
``LayerNormalization`` nodes of opset >= 17 become normalization layers, which TensorRT
computes in fp32 by default); the ``*.fp16.onnx`` graphs are for ONNX Runtime.

Engines are never written into a bundle. They live in the cache directory
(``$TTSENGINE_CACHE_DIR/engines``, default ``~/.cache/ttsengine/engines``) as
``KEY.engine`` + ``KEY.json``; KEY is the sha256 of (ONNX file hash, TensorRT version,
GPU compute capability, precision, optimization profile). The timing cache is kept there
too, one file per TensorRT version and compute capability.

tensorrt, torch, cuda-python and onnx are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .._version import __version__
from ..errors import BackendUnavailableError, InvalidInputError, TTSEngineError, VoiceLoadError
from ..voice import VoiceConfig, load_voice
from .contract import GRAPH_NAMES, io_contract

__all__ = [
    "DYNAMIC_AXES",
    "TENSORRT_INSTALL_HINT",
    "TOKENS_PER_CHAR",
    "batch_slices",
    "build_engines",
    "check_graph_for_tensorrt",
    "check_graph_inputs",
    "check_profiles_cover",
    "compute_capability",
    "default_cache_dir",
    "engine_cache_key",
    "find_cached_engines",
    "frame_bound",
    "graph_input_dims",
    "graph_ops",
    "import_tensorrt",
    "trt_logger",
    "onnx_graph_paths",
    "profile_shapes",
    "supported_ops",
    "token_bound",
    "unsupported_ops",
    "add_arguments",
    "run",
]

logger = logging.getLogger("ttsengine")

#: The symbolic axes of the I/O contract that optimization profiles range over.
DYNAMIC_AXES = ("batch", "tokens", "frames")
DEFAULT_MAX_BATCH = 8
#: Optimum of each axis when ``opt`` does not say (a short sentence at batch 1).
DEFAULT_OPT = {"batch": 1, "tokens": 64, "frames": 512}
DEFAULT_WORKSPACE_MB = 4096
#: Upper bound of tokens per character of a segment, per frontend kind. Segments are cut
#: at ``frontend.max_segment_chars`` characters (of normalized text). Measured: phonemes
#: (espeak-ng, en-us) 1.1-1.2 for prose and numbers, up to 7.0 for spelled-out letter
#: strings ("ww ww ..."); pinyin 1.85 (an initial and a final per hanzi, at most 2);
#: chars 1.0 (2 allows NFKD splitting a character). A segment beyond the bound raises
#: InvalidInputError in the tensorrt backend, naming ``build-engine --max-tokens``.
TOKENS_PER_CHAR = {"phonemes": 8, "pinyin": 2, "chars": 2}
#: Bumped whenever the build settings change meaning (invalidates every cached engine).
CACHE_SCHEMA = 1
MIN_TENSORRT_MAJOR = 10

TENSORRT_INSTALL_HINT = (
    "install TensorRT 10 with its Python bindings on a CUDA machine with the NVIDIA driver: "
    "pip install tensorrt (the PyPI 'tensorrt' package is a stub that downloads the real "
    "wheels from NVIDIA's index, pypi.nvidia.com, which must be reachable), or NVIDIA's "
    "TensorRT tar/deb packages"
)

Profile = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


# ------------------------------------------------------------------------ bundle / contract
def onnx_graph_paths(voice: VoiceConfig, precision: str = "fp32") -> dict[str, tuple[Path, str | None]]:
    """graph -> (ONNX file, sha256 recorded at export or None), from voice.json's ``onnx``."""
    graphs = voice.onnx.get("graphs") if voice.onnx else None
    if not isinstance(graphs, Mapping) or not graphs:
        raise BackendUnavailableError(
            f"voice {voice.name!r} ({voice.path}) has no exported ONNX graphs: "
            f"run `ttsengine export {voice.path} -o DIR` and use DIR"
        )
    out: dict[str, tuple[Path, str | None]] = {}
    for graph in GRAPH_NAMES:
        entry = graphs.get(graph)
        if not isinstance(entry, Mapping) or not isinstance(entry.get(precision), str):
            raise VoiceLoadError(f"{voice.path}: voice.json onnx.graphs.{graph}.{precision} is missing")
        path = (voice.path / entry[precision]).resolve()
        if not path.is_relative_to(voice.path.resolve()):
            raise VoiceLoadError(f"{voice.path}: onnx graph path {entry[precision]!r} leaves the bundle")
        if not path.is_file():
            raise VoiceLoadError(f"{voice.path}: missing {entry[precision]}")
        recorded = entry.get("sha256", {})
        out[graph] = (path, recorded.get(precision) if isinstance(recorded, Mapping) else None)
    return out


def graph_input_dims(voice: VoiceConfig) -> dict[str, dict[str, tuple[str | int, ...]]]:
    """graph -> input -> dims from voice.json's contract: ``batch``/``tokens``/``frames`` or
    fixed ints (checked against the voice's d_model and n_mels)."""
    d_model = int(voice.acoustic["hparams"]["d_model"])
    expected = io_contract(d_model, voice.n_mels, voice.hop_length)
    graphs = voice.onnx.get("graphs", {}) if voice.onnx else {}
    out: dict[str, dict[str, tuple[str | int, ...]]] = {}
    for graph in GRAPH_NAMES:
        inputs = (graphs.get(graph) or {}).get("inputs") or expected[graph]["inputs"]
        if list(inputs) != list(expected[graph]["inputs"]):
            raise VoiceLoadError(
                f"{voice.path}: onnx.graphs.{graph}.inputs are {list(inputs)}, "
                f"the contract says {list(expected[graph]['inputs'])}"
            )
        out[graph] = {}
        for name, spec in inputs.items():
            dims = tuple(spec["shape"])
            if dims != tuple(expected[graph]["inputs"][name]["shape"]):
                raise VoiceLoadError(
                    f"{voice.path}: onnx.graphs.{graph}.inputs.{name} has shape {list(dims)}, "
                    f"the contract says {expected[graph]['inputs'][name]['shape']}"
                )
            out[graph][name] = dims
    return out


# ------------------------------------------------------------------------ profiles
def token_bound(voice: VoiceConfig) -> int:
    """Most tokens one synthesizer segment can have: max_segment_chars x tokens per char."""
    from ..frontend.split import DEFAULT_MAX_CHARS

    kind = str(voice.frontend.get("kind"))
    chars = int(voice.frontend.get("max_segment_chars", DEFAULT_MAX_CHARS))
    return chars * TOKENS_PER_CHAR.get(kind, max(TOKENS_PER_CHAR.values()))


def frame_bound(voice: VoiceConfig) -> int:
    """Most mel frames the synthesizer lets one segment have (its MAX_SEGMENT_SECONDS cap)."""
    from ..synthesizer import MAX_SEGMENT_SECONDS

    return int(math.floor(MAX_SEGMENT_SECONDS * voice.model_sample_rate / voice.hop_length))


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive int, got {value!r}")
    return value


def profile_shapes(
    voice: VoiceConfig,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_tokens: int | None = None,
    max_frames: int | None = None,
    opt: Mapping[str, int] | None = None,
) -> dict[str, Profile]:
    """graph -> input -> (min, opt, max) shapes of its optimization profile.

    ``max_tokens`` / ``max_frames`` default to what the synthesizer can request
    (:func:`token_bound`, :func:`frame_bound`); minima are 1; ``opt`` maps axis names
    (``batch``, ``tokens``, ``frames``) to the size TensorRT tunes for (clamped to the max).
    Decoder and vocoder share the ``frames`` axis (the vocoder's wave is frames x hop).
    """
    maxima = {
        "batch": _positive("max_batch", max_batch),
        "tokens": _positive("max_tokens", token_bound(voice) if max_tokens is None else max_tokens),
        "frames": _positive("max_frames", frame_bound(voice) if max_frames is None else max_frames),
    }
    unknown = sorted(set(opt or {}) - set(DYNAMIC_AXES))
    if unknown:
        raise InvalidInputError(f"unknown profile axes {unknown}; expected {', '.join(DYNAMIC_AXES)}")
    ranges = {}
    for axis in DYNAMIC_AXES:
        best = _positive(f"opt[{axis!r}]", (opt or {}).get(axis, DEFAULT_OPT[axis]))
        ranges[axis] = (1, min(best, maxima[axis]), maxima[axis])
    profiles: dict[str, Profile] = {}
    for graph, inputs in graph_input_dims(voice).items():
        profiles[graph] = {}
        for name, dims in inputs.items():
            triple = [ranges[d] if isinstance(d, str) else (d, d, d) for d in dims]
            profiles[graph][name] = tuple(tuple(t[i] for t in triple) for i in range(3))  # type: ignore[assignment]
    return profiles


def check_profiles_cover(
    profiles: Mapping[str, Mapping[str, Sequence[Sequence[int]]]],
    requests: Iterable[tuple[str, Mapping[str, Sequence[int]]]],
) -> list[str]:
    """Problems (empty: all covered) of running ``requests`` — (graph, {input: shape}) —
    on engines built with ``profiles`` (graph -> input -> (min, opt, max))."""
    problems: list[str] = []
    for graph, shapes in requests:
        profile = profiles.get(graph)
        if profile is None:
            problems.append(f"no profile for graph {graph!r}")
            continue
        for name, shape in shapes.items():
            if name not in profile:
                problems.append(f"{graph}: no profile for input {name!r}")
                continue
            low, _, high = profile[name]
            shape = tuple(int(s) for s in shape)
            if len(shape) != len(low) or any(s < lo or s > hi for s, lo, hi in zip(shape, low, high)):
                problems.append(
                    f"{graph}.{name} shape {list(shape)} is outside the profile "
                    f"[{list(low)} .. {list(high)}]"
                )
        missing = sorted(set(profile) - set(shapes))
        if missing:
            problems.append(f"{graph}: request lacks inputs {missing}")
    return problems


def batch_slices(batch: int, max_batch: int) -> list[slice]:
    """Row ranges of at most ``max_batch`` rows covering ``batch`` rows (bigger batches run
    as several engine calls)."""
    return [slice(start, min(batch, start + max_batch)) for start in range(0, batch, max_batch)]


# ------------------------------------------------------------------------ operator checks
@lru_cache(maxsize=1)
def supported_ops() -> dict[str, Any]:
    """The data file: TensorRT's documented ONNX operators, with source and version."""
    path = Path(__file__).resolve().parent / "data" / "tensorrt_onnx_ops.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _load_onnx(onnx_path: str | os.PathLike[str] | Any) -> Any:
    import onnx

    if isinstance(onnx_path, onnx.ModelProto):
        return onnx_path
    return onnx.load(str(onnx_path), load_external_data=False)


def _subgraphs(node: Any) -> Iterable[Any]:
    import onnx

    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            yield attribute.g
        elif attribute.type == onnx.AttributeProto.GRAPHS:
            yield from attribute.graphs


def graph_ops(onnx_path: str | os.PathLike[str] | Any) -> dict[str, int]:
    """Counts of every operator in a model: main graph, subgraphs (If/Loop/Scan bodies)
    and model-local functions, whose calls count as their bodies. Operators of other
    domains than the default one are named ``domain::OpType``."""
    model = _load_onnx(onnx_path)
    functions = {(f.domain, f.name): f for f in model.functions}
    counts: dict[str, int] = {}
    seen_functions: set[tuple[str, str]] = set()

    def visit(nodes: Iterable[Any]) -> None:
        for node in nodes:
            key = (node.domain, node.op_type)
            if key in functions:
                if key not in seen_functions:
                    seen_functions.add(key)
                    visit(functions[key].node)
                continue
            name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts[name] = counts.get(name, 0) + 1
            for sub in _subgraphs(node):
                visit(sub.node)

    visit(model.graph.node)
    return dict(sorted(counts.items()))


def unsupported_ops(onnx_path: str | os.PathLike[str] | Any) -> set[str]:
    """Operators of a model (subgraphs and local functions included) that are not on
    TensorRT's documented list of supported ONNX operators."""
    supported = supported_ops()["supported"]
    return {op for op in graph_ops(onnx_path) if op not in supported}


def _constant_names(graph: Any) -> set[str]:
    names = {init.name for init in graph.initializer}
    names.update(out for node in graph.node if node.op_type == "Constant" for out in node.output)
    return names


def check_graph_for_tensorrt(onnx_path: str | os.PathLike[str] | Any) -> list[str]:
    """Static problems of one graph for TensorRT's ONNX parser (empty: none found):
    unsupported operators, an opset outside the documented range, and the documented
    restrictions we can check without TensorRT (``axes`` of Squeeze/Unsqueeze/Reduce*
    and CumSum's ``axis`` must be constants, Dropout not in training mode)."""
    model = _load_onnx(onnx_path)
    data = supported_ops()
    problems = [f"operator {op} is not supported by TensorRT {data['tensorrt_version']}"
                for op in sorted(unsupported_ops(model))]
    low, high = data["opset_range"]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or not low <= opset <= high:
        problems.append(f"opset {opset} is outside TensorRT's documented range {low}..{high}")

    def visit(graph: Any, outer_constants: set[str]) -> None:
        constants = outer_constants | _constant_names(graph)
        for node in graph.node:
            axes_input = None
            if node.op_type in ("Squeeze", "Unsqueeze") or node.op_type.startswith("Reduce"):
                axes_input = 1
            elif node.op_type == "CumSum":
                axes_input = 1
            elif node.op_type == "Dropout":
                axes_input = 2  # training_mode
            if axes_input is not None and len(node.input) > axes_input and node.input[axes_input]:
                if node.input[axes_input] not in constants:
                    problems.append(
                        f"{node.op_type} node {node.name!r}: input {node.input[axes_input]!r} must be "
                        "a constant for TensorRT"
                    )
            for sub in _subgraphs(node):
                visit(sub, constants)

    visit(model.graph, set())
    problems += _type_problems(model, data["supported"])
    return problems


#: ONNX TensorProto element types -> the type names of TensorRT's operator list (DOUBLE is
#: documented as cast down to FLOAT).
_TRT_TYPE_NAMES = {1: "FP32", 10: "FP16", 16: "BF16", 6: "INT32", 7: "INT64", 9: "BOOL", 2: "UINT8", 3: "INT8", 11: "FP32"}


def _type_problems(model: Any, supported: Mapping[str, Any]) -> list[str]:
    """Main-graph nodes whose data input has a type TensorRT's list does not give for the
    operator (types from ONNX shape inference; the data input of Where is X)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*graph.value_info, *graph.input, *graph.output)}
    types.update({init.name: init.data_type for init in graph.initializer})
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.TENSOR:
                    types[node.output[0]] = attribute.t.data_type
    problems = []
    for node in graph.node:
        entry = supported.get(node.op_type)
        index = 1 if node.op_type == "Where" else 0
        if entry is None or node.domain not in ("", "ai.onnx") or len(node.input) <= index:
            continue
        elem = types.get(node.input[index])
        name = _TRT_TYPE_NAMES.get(elem) if elem else None
        if elem and name not in entry["types"]:
            type_name = onnx.TensorProto.DataType.Name(elem)
            problems.append(f"{node.op_type} node {node.name!r} takes {type_name}, TensorRT lists {entry['types']}")
    return problems


def check_graph_inputs(onnx_path: str | os.PathLike[str] | Any, profile: Mapping[str, Sequence[Sequence[int]]]) -> list[str]:
    """The graph's inputs and the profile agree: same names, same ranks, fixed axes
    equal, and every axis the profile varies is dynamic (a named axis) in the graph."""
    model = _load_onnx(onnx_path)
    initializers = {init.name for init in model.graph.initializer}
    problems = []
    inputs = [value for value in model.graph.input if value.name not in initializers]
    names = [value.name for value in inputs]
    if sorted(names) != sorted(profile):
        problems.append(f"graph inputs {names} differ from the profile's {sorted(profile)}")
    for value in inputs:
        if value.name not in profile:
            continue
        low, _, high = profile[value.name]
        dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
                for d in value.type.tensor_type.shape.dim]
        if len(dims) != len(low):
            problems.append(f"{value.name}: graph rank {len(dims)}, profile rank {len(low)}")
            continue
        for axis, (dim, lo, hi) in enumerate(zip(dims, low, high)):
            if isinstance(dim, int) and not lo == hi == dim:
                problems.append(f"{value.name} axis {axis} is fixed at {dim} but the profile spans {lo}..{hi}")
            if dim is None and lo != hi:
                problems.append(f"{value.name} axis {axis} has no dimension in the graph")
    return problems


# ------------------------------------------------------------------------ cache
def default_cache_dir() -> Path:
    """``$TTSENGINE_CACHE_DIR/engines``, else ``$XDG_CACHE_HOME/ttsengine/engines``, else
    ``~/.cache/ttsengine/engines``."""
    root = os.environ.get("TTSENGINE_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "engines"
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "ttsengine" / "engines"


def _resolve_cache_dir(cache_dir: str | os.PathLike[str] | None, bundle: Path) -> Path:
    path = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).resolve()
    if path == bundle.resolve() or path.is_relative_to(bundle.resolve()):
        raise InvalidInputError(f"engine cache {path} is inside the voice bundle {bundle}; engines never go into a bundle")
    return path


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _profile_json(profile: Mapping[str, Sequence[Sequence[int]]]) -> dict[str, list[list[int]]]:
    return {name: [list(map(int, shape)) for shape in profile[name]] for name in sorted(profile)}


def engine_cache_key(
    onnx_sha256: str,
    tensorrt_version: str,
    compute_capability: str,
    precision: str,
    profile: Mapping[str, Sequence[Sequence[int]]],
) -> str:
    """sha256 hex of everything an engine depends on: the ONNX file, the TensorRT version,
    the GPU's compute capability (``sm_90``), the precision and the optimization profile."""
    if precision not in ("fp32", "fp16"):
        raise InvalidInputError(f"precision must be 'fp32' or 'fp16', got {precision!r}")
    ingredients = {
        "schema": CACHE_SCHEMA,
        "onnx_sha256": onnx_sha256,
        "tensorrt": tensorrt_version,
        "compute_capability": compute_capability,
        "precision": precision,
        "profile": _profile_json(profile),
    }
    return hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def find_cached_engines(
    voice: VoiceConfig,
    precision: str,
    tensorrt_version: str,
    compute_capability: str,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, tuple[Path, dict[str, Any]]] | None:
    """The newest cached engine of each graph built from this voice's ONNX files for this
    TensorRT version, GPU and precision (any profile: ``build-engine`` may have chosen
    one), as graph -> (engine file, sidecar); None unless every graph has one."""
    cache = _resolve_cache_dir(cache_dir, voice.path)
    if not cache.is_dir():
        return None
    hashes = {graph: _sha256_file(path) for graph, (path, _) in onnx_graph_paths(voice).items()}
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for sidecar in cache.glob("*.json"):
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        graph = meta.get("graph") if isinstance(meta, dict) else None
        engine = sidecar.with_suffix(".engine")
        if (
            graph in hashes
            and meta.get("schema") == CACHE_SCHEMA
            and meta.get("onnx_sha256") == hashes[graph]
            and meta.get("tensorrt") == tensorrt_version
            and meta.get("compute_capability") == compute_capability
            and meta.get("precision") == precision
            and engine.is_file()
            and (graph not in found or meta.get("built_at", 0) > found[graph][1].get("built_at", 0))
        ):
            found[graph] = (engine, meta)
    return found if set(found) == set(GRAPH_NAMES) else None


# ------------------------------------------------------------------------ TensorRT (untested here)
def import_tensorrt() -> Any:
    """``import tensorrt`` (10 or newer), or BackendUnavailableError naming what to install."""
    try:
        import tensorrt as trt  # type: ignore[import-not-found]
    except ImportError as exc:
        raise BackendUnavailableError(f"TensorRT is not installed ({exc}); {TENSORRT_INSTALL_HINT}") from None
    major = int(str(getattr(trt, "__version__", "0")).split(".")[0] or 0)
    if major < MIN_TENSORRT_MAJOR:
        raise BackendUnavailableError(
            f"TensorRT {getattr(trt, '__version__', '?')} is too old: ttsengine needs TensorRT "
            f"{MIN_TENSORRT_MAJOR} or newer; {TENSORRT_INSTALL_HINT}"
        )
    return trt


def compute_capability(device_index: int = 0) -> str:
    """The CUDA device's compute capability as ``sm_XY`` (torch.cuda, else cuda-python),
    or BackendUnavailableError when no CUDA GPU is visible."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        if not 0 <= device_index < torch.cuda.device_count():
            raise BackendUnavailableError(f"CUDA device {device_index} does not exist ({torch.cuda.device_count()} visible)")
        major, minor = torch.cuda.get_device_capability(device_index)
        return f"sm_{major}{minor}"
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # type: ignore[no-redef]  # older cuda-python
        except ImportError:
            cudart = None
    if cudart is not None:
        attrs = cudart.cudaDeviceAttr
        err, major = cudart.cudaDeviceGetAttribute(attrs.cudaDevAttrComputeCapabilityMajor, device_index)
        err2, minor = cudart.cudaDeviceGetAttribute(attrs.cudaDevAttrComputeCapabilityMinor, device_index)
        if err == err2 == cudart.cudaError_t.cudaSuccess:
            return f"sm_{major}{minor}"
        raise BackendUnavailableError(f"no usable CUDA device {device_index} ({err}); TensorRT needs an NVIDIA GPU and driver")
    raise BackendUnavailableError(
        "no CUDA GPU visible (torch.cuda sees none and cuda-python is not installed); "
        "TensorRT needs an NVIDIA GPU and driver"
    )


def trt_logger(trt: Any) -> Any:
    """TensorRT's own stderr logger: warnings and errors, everything with ttsengine debug logs."""
    global _TRT_LOGGER
    if _TRT_LOGGER is None:
        verbose = logger.isEnabledFor(logging.DEBUG)
        _TRT_LOGGER = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    return _TRT_LOGGER


_TRT_LOGGER: Any = None


def _build_serialized(
    trt: Any, onnx_path: Path, profile: Profile, fp16: bool, timing_cache: Path, workspace_mb: int
) -> bytes:
    """Parses one ONNX graph and builds a serialized engine (TensorRT 10 Python API)."""
    log = trt_logger(trt)
    builder = trt.Builder(log)
    flags = 0
    explicit = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    if explicit is not None:  # deprecated and implied in TensorRT 10, still accepted
        flags |= 1 << int(explicit)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, log)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TTSEngineError(f"TensorRT's ONNX parser rejected {onnx_path.name}: {errors}")
    inputs = {network.get_input(i).name for i in range(network.num_inputs)}
    if inputs != set(profile):
        raise TTSEngineError(f"{onnx_path.name}: network inputs {sorted(inputs)} differ from the profile's {sorted(profile)}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    optimization = builder.create_optimization_profile()
    for name, (low, best, high) in profile.items():
        optimization.set_shape(name, low, best, high)
    config.add_optimization_profile(optimization)
    cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
    config.set_timing_cache(cache, False)  # the file name pins TensorRT version and GPU

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TTSEngineError(f"TensorRT failed to build an engine from {onnx_path.name} (see the TensorRT log)")
    _write_atomic(timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(serialized))


def build_engines(
    bundle_dir: str | os.PathLike[str],
    *,
    fp16: bool = True,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_tokens: int | None = None,
    max_frames: int | None = None,
    opt: Mapping[str, int] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    workspace_mb: int = DEFAULT_WORKSPACE_MB,
    device_index: int = 0,
) -> dict[str, Path]:
    """Builds (or finds in the cache) the encoder, decoder and vocoder engines of an
    exported bundle; returns graph -> engine file.

    ``max_tokens`` / ``max_frames`` default to what the synthesizer can request (see
    :func:`profile_shapes`). ``force`` rebuilds cached engines. Raises
    BackendUnavailableError without TensorRT or a CUDA GPU (with what to install),
    VoiceLoadError for a bundle without valid graphs.
    """
    voice = load_voice(bundle_dir)
    graphs = onnx_graph_paths(voice, "fp32")
    profiles = profile_shapes(voice, max_batch, max_tokens, max_frames, opt)
    cache = _resolve_cache_dir(cache_dir, voice.path)
    _positive("workspace_mb", workspace_mb)
    trt = import_tensorrt()
    capability = compute_capability(device_index)
    precision = "fp16" if fp16 else "fp32"
    timing_cache = cache / f"timing-trt{trt.__version__}-{capability}.cache"
    engines: dict[str, Path] = {}
    for graph, (onnx_path, recorded) in graphs.items():
        sha = _sha256_file(onnx_path)
        if recorded is not None and recorded != sha:
            raise VoiceLoadError(f"{onnx_path}: sha256 differs from voice.json's (modified or corrupt graph)")
        key = engine_cache_key(sha, trt.__version__, capability, precision, profiles[graph])
        engine_path, sidecar = cache / f"{key}.engine", cache / f"{key}.json"
        if engine_path.is_file() and sidecar.is_file() and not force:
            logger.info("%s: cached TensorRT engine %s", graph, engine_path)
            engines[graph] = engine_path
            continue
        logger.info("%s: building a TensorRT %s engine from %s", graph, precision, onnx_path.name)
        started = time.perf_counter()
        data = _build_serialized(trt, onnx_path, profiles[graph], fp16, timing_cache, workspace_mb)
        seconds = time.perf_counter() - started
        _write_atomic(engine_path, data)
        meta = {
            "schema": CACHE_SCHEMA,
            "graph": graph,
            "voice": voice.name,
            "onnx": str(onnx_path),
            "onnx_sha256": sha,
            "tensorrt": trt.__version__,
            "compute_capability": capability,
            "precision": precision,
            "profile": _profile_json(profiles[graph]),
            "workspace_mb": workspace_mb,
            "ttsengine": __version__,
            "built_at": time.time(),
            "build_seconds": round(seconds, 2),
            "engine_bytes": len(data),
        }
        _write_atomic(sidecar, (json.dumps(meta, indent=1) + "\n").encode())
        logger.info("%s: built %s (%.1f MB) in %.1f s", graph, engine_path.name, len(data) / 1e6, seconds)
        engines[graph] = engine_path
    return engines


# ------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ttsengine build-engine DIR [--fp16/--no-fp16] [--max-batch B] [--max-tokens T]
    [--max-frames F] [--cache-dir D] [--force] [--dry-run]``."""
    parser.add_argument("bundle", metavar="DIR", help="voice bundle with ONNX graphs (from `ttsengine export`)")
    parser.add_argument("--fp16", action=argparse.BooleanOptionalAction, default=True,
                        help="let TensorRT use fp16 kernels (default: on)")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, metavar="B",
                        help=f"largest batch of the profiles (default {DEFAULT_MAX_BATCH}; bigger batches run in pieces)")
    parser.add_argument("--max-tokens", type=int, default=None, metavar="T",
                        help="most tokens per segment (default: frontend.max_segment_chars x tokens per char)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="F",
                        help="most mel frames per segment (default: the synthesizer's 60 s cap)")
    parser.add_argument("--cache-dir", default=None, metavar="D",
                        help="engine cache (default: $TTSENGINE_CACHE_DIR/engines or ~/.cache/ttsengine/engines)")
    parser.add_argument("--force", action="store_true", help="rebuild engines that are already cached")
    parser.add_argument("--dry-run", action="store_true",
                        help="only print the profiles and the static operator check (needs no TensorRT)")


def run(args: argparse.Namespace) -> int:
    """CLI entry: prints the profiles and operator check, then builds (unless --dry-run)."""
    voice = load_voice(args.bundle)
    graphs = onnx_graph_paths(voice, "fp32")
    profiles = profile_shapes(voice, args.max_batch, args.max_tokens, args.max_frames)
    data = supported_ops()
    failed = False
    for graph, (path, _) in graphs.items():
        try:
            problems = check_graph_for_tensorrt(path) + check_graph_inputs(path, profiles[graph])
            state = "; ".join(problems) if problems else f"all operators on TensorRT {data['tensorrt_version']}'s list"
        except ImportError:
            problems, state = [], "operator check skipped (pip install onnx to run it)"
        failed |= bool(problems)
        shapes = ", ".join(f"{name} {list(lo)}..{list(hi)} opt {list(best)}" for name, (lo, best, hi) in profiles[graph].items())
        print(f"{graph}: {path.name}: {state}; profile: {shapes}")
    if args.dry_run:
        return 1 if failed else 0
    engines = build_engines(
        voice.path, fp16=args.fp16, max_batch=args.max_batch, max_tokens=args.max_tokens,
        max_frames=args.max_frames, cache_dir=args.cache_dir, force=args.force,
    )
    for graph, path in engines.items():
        print(f"{graph}: {path}")
    return 0
