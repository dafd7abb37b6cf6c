"""ONNX -> TensorRT engines (``ttsengine build-engine DIR``): the static operator check,
the builder and its CLI. The runtime (:mod:`ttsengine.backends.tensorrt_backend`) imports
nothing from here: it reads engines from :mod:`.tensorrt_cache`.

**The TensorRT path is untested where this was written** (TensorRT cannot be installed
there): :func:`_build_serialized` is written against NVIDIA's documented TensorRT 10
Python API. What is tested: the optimization profiles (:mod:`.tensorrt_profiles`) and
their coverage of what the synthesizer requests, the cache keys (:mod:`.tensorrt_cache`),
the operator check of the exported graphs against TensorRT's documented ONNX operator
list (``data/tensorrt_onnx_ops.json``), and the errors raised where TensorRT is missing.

Engines are built from the **fp32** ONNX graphs. ``fp16=True`` sets
``BuilderFlag.FP16``, which lets TensorRT pick fp16 kernels layer by layer (the
``LayerNormalization`` nodes of opset >= 17 become normalization layers, which TensorRT
computes in fp32 by default); the ``*.fp16.onnx`` graphs are for ONNX Runtime.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .._version import __version__
from ..errors import TTSEngineError, VoiceLoadError
from ..voice import load_voice
from ..voice.hashing import sha256_file
from ..backends.tensorrt_cache import (
    CACHE_SCHEMA, compute_capability, engine_cache_key, import_tensorrt, profile_json, resolve_cache_dir,
    trt_logger, write_atomic,
)
from ..backends.tensorrt_profiles import DEFAULT_MAX_BATCH, Profile, positive, profile_shapes
from ..voice.onnx import graph_identity, onnx_graph_paths, self_contained_graph

__all__ = [
    "add_arguments", "build_engines", "check_graph_for_tensorrt", "check_graph_inputs", "graph_ops", "run",
    "supported_ops", "unsupported_ops",
]

logger = logging.getLogger("ttsengine")

DEFAULT_WORKSPACE_MB = 4096


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
    write_atomic(timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
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
    cache = resolve_cache_dir(cache_dir, voice.path)
    positive("workspace_mb", workspace_mb)
    trt = import_tensorrt()
    capability = compute_capability(device_index)
    precision = "fp16" if fp16 else "fp32"
    timing_cache = cache / f"timing-trt{trt.__version__}-{capability}.cache"
    engines: dict[str, Path] = {}
    for graph, (onnx_path, recorded) in graphs.items():
        if recorded is not None and recorded != sha256_file(onnx_path):
            raise VoiceLoadError(f"{onnx_path}: sha256 differs from voice.json's (modified or corrupt graph)")
        sha = graph_identity(voice, graph, "fp32", onnx_path)
        key = engine_cache_key(sha, trt.__version__, capability, precision, profiles[graph])
        engine_path, sidecar = cache / f"{key}.engine", cache / f"{key}.json"
        if engine_path.is_file() and sidecar.is_file() and not force:
            logger.info("%s: cached TensorRT engine %s", graph, engine_path)
            engines[graph] = engine_path
            continue
        logger.info("%s: building a TensorRT %s engine from %s", graph, precision, onnx_path.name)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:  # a graph whose weights live in safetensors
            source = self_contained_graph(voice, graph, "fp32", Path(scratch))
            data = _build_serialized(trt, source, profiles[graph], fp16, timing_cache, workspace_mb)
        seconds = time.perf_counter() - started
        write_atomic(engine_path, data)
        meta = {
            "schema": CACHE_SCHEMA,
            "graph": graph,
            "voice": voice.name,
            "onnx": str(onnx_path),
            "onnx_sha256": sha,
            "tensorrt": trt.__version__,
            "compute_capability": capability,
            "precision": precision,
            "profile": profile_json(profiles[graph]),
            "workspace_mb": workspace_mb,
            "ttsengine": __version__,
            "built_at": time.time(),
            "build_seconds": round(seconds, 2),
            "engine_bytes": len(data),
        }
        write_atomic(sidecar, (json.dumps(meta, indent=1) + "\n").encode())
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
                        help="most tokens per segment (default: frontend.max_segment_chars x tokens per char, "
                             "rounded up to the CUDA pipeline's 32-token bucket)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="F",
                        help="most mel frames per segment (default: the synthesizer's 60 s cap at its slowest "
                             "speed, 0.1, rounded up to a 64-frame bucket; lower it to save "
                             "engine memory: longer segments are then refused)")
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
