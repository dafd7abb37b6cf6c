"""The ``onnx`` section of ``voice.json``: the exported graphs (files in the bundle, their
sha256), their I/O contract (:mod:`.contract`), and graphs that keep their weights in a
safetensors file instead of carrying a copy.

A graph entry may say ``"weights": {"fp32": {"file": "vocoder.safetensors", "tensors":
{initializer: tensor}}}``: those initializers of the fp32 graph are ONNX external data
(``location`` ``../vocoder.safetensors`` with the tensor's offset and length, the bytes
being identical) and are handed to ONNX Runtime from the safetensors file at load
(:func:`external_initializers`). Tools that read ONNX files themselves get a
self-contained copy from :func:`self_contained_graph`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import BackendUnavailableError, VoiceLoadError
from .contract import GRAPH_NAMES, INT8_GRAPHS, PRECISIONS, io_contract
from .schema import _Checker, _is_int, _regular_file, _short, bundle_file
from .weights import _safetensors_layout, read_tensors

__all__ = ["external_initializers", "graph_identity", "graph_weights", "onnx_graph_paths", "self_contained_graph"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_D_MODEL, _N_MELS, _HOP = "acoustic.hparams.d_model", "features.n_mels", "features.hop_length"


def _check_onnx(check: _Checker, path: Path, onnx: dict[str, Any], d_model: int, n_mels: int, hop: int,
                optional: tuple[str, ...] = (), pulse: bool = False) -> None:
    """The ``onnx`` section: every graph file in the bundle (``optional`` ones included: the
    graphs of the optional sections the voice has), its sha256 recorded, and its declared
    I/O contract the one this voice's d_model / n_mels / hop_length imply."""
    graphs = check.mapping(onnx.get("graphs"), "onnx.graphs")
    if "opset" in onnx and (not _is_int(onnx["opset"]) or onnx["opset"] < 1):
        check.fail("onnx.opset", f"must be a positive integer, got {_short(onnx['opset'])}")
    unknown = sorted(set(graphs) - set(GRAPH_NAMES + optional))
    if unknown:
        check.fail("onnx.graphs", f"has unknown graphs {unknown} (known: {', '.join(GRAPH_NAMES + optional)})")
    expected = io_contract(d_model, n_mels, hop, pulse)
    values = {_D_MODEL: d_model, _N_MELS: n_mels, _HOP: hop}
    # the same contract, naming the voice.json field each fixed dimension comes from
    sources = io_contract(_D_MODEL, _N_MELS, _HOP, pulse)  # type: ignore[arg-type]
    for graph in GRAPH_NAMES + optional:
        name = f"onnx.graphs.{graph}"
        if graph not in graphs:
            check.fail(name, "is missing (re-export the voice)")
        entry = check.mapping(graphs[graph], name)
        precisions = [p for p in (*PRECISIONS, "int8") if p in entry]
        if "int8" in precisions and graph not in INT8_GRAPHS:
            check.fail(f"{name}.int8", f"is not allowed: only {', '.join(INT8_GRAPHS)} may have an int8 graph")
        if "fp32" not in precisions:
            check.fail(f"{name}.fp32", "is missing (re-export the voice)")
        digests = check.mapping(entry.get("sha256"), f"{name}.sha256")
        for precision in precisions:
            file = bundle_file(path, entry[precision], f"{name}.{precision}", check.where)
            _regular_file(file, f"the {precision} {graph} graph")
            digest = digests.get(precision)
            if not isinstance(digest, str) or not _SHA256.match(digest):
                check.fail(f"{name}.sha256.{precision}",
                           f"must be a 64-digit lowercase hex sha256, got {_short(digest)}")
        _check_graph_weights(check, path, entry, name, precisions)
        extra = sorted(set(digests) - set(precisions))
        if extra:
            check.fail(f"{name}.sha256", f"lists graphs {extra} that {name} does not have")
        for kind in ("inputs", "outputs"):
            declared = check.mapping(entry.get(kind), f"{name}.{kind}")
            want = expected[graph][kind]
            if list(declared) != list(want):
                check.fail(f"{name}.{kind}", f"are {list(declared)}, the ONNX contract says {list(want)} (re-export)")
            for tensor, spec in want.items():
                got = declared[tensor]
                if got == spec:
                    continue
                cause = ""
                got_shape, want_shape = got.get("shape") if isinstance(got, dict) else None, spec["shape"]
                if isinstance(got_shape, list) and len(got_shape) == len(want_shape):
                    labels = [str(label).split("*")[-1]
                              for g, w, label in zip(got_shape, want_shape, sources[graph][kind][tensor]["shape"])
                              if g != w and str(label).split("*")[-1] in values]
                    if labels:
                        cause = f": {labels[0]} is {values[labels[0]]}, the graphs were exported for another value"
                check.fail(f"{name}.{kind}.{tensor}", f"is {_short(got)} but this voice needs {_short(spec)}{cause}")


def _check_graph_weights(check: _Checker, path: Path, entry: dict[str, Any], name: str,
                         precisions: list[str]) -> None:
    """``onnx.graphs.<graph>.weights``: per precision, a safetensors file of the bundle and
    initializer -> tensor names it holds."""
    if "weights" not in entry:
        return
    weights = check.mapping(entry["weights"], f"{name}.weights")
    for precision, spec in weights.items():
        where = f"{name}.weights.{precision}"
        if precision not in precisions:
            check.fail(where, f"is for a graph {name} does not have")
        spec = check.mapping(spec, where)
        file = bundle_file(path, spec.get("file"), f"{where}.file", check.where)
        tensors = check.mapping(spec.get("tensors"), f"{where}.tensors")
        if not tensors or not all(isinstance(k, str) and isinstance(v, str) for k, v in tensors.items()):
            check.fail(f"{where}.tensors", "must map initializer names to tensor names")
        _, layout = _safetensors_layout(file, f"the weights of {name}")
        missing = sorted(set(tensors.values()) - set(layout))
        if missing:
            check.fail(f"{where}.tensors", f"names tensors {missing[:4]} that {spec['file']} does not hold")


def onnx_graph_paths(voice: Any, precision: str = "fp32") -> dict[str, tuple[Path, str | None]]:
    """graph -> (ONNX file, sha256 recorded at export or None) of the runtime graphs
    (encoder, decoder, vocoder), from voice.json's ``onnx``."""
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
        path = bundle_file(voice.path, entry[precision], f"onnx.graphs.{graph}.{precision}", voice.path / "voice.json")
        if not path.is_file():
            raise VoiceLoadError(f"{voice.path}: missing {entry[precision]}")
        recorded = entry.get("sha256", {})
        out[graph] = (path, recorded.get(precision) if isinstance(recorded, Mapping) else None)
    return out


def graph_weights(voice: Any, graph: str, precision: str) -> tuple[Path, dict[str, str]] | None:
    """(safetensors file, initializer -> tensor) of a graph that keeps its weights there;
    None for a self-contained graph."""
    entry = (voice.onnx.get("graphs") or {}).get(graph) if voice.onnx else None
    spec = (entry or {}).get("weights", {}).get(precision)
    if not spec:
        return None
    file = bundle_file(voice.path, spec["file"], f"onnx.graphs.{graph}.weights.{precision}.file",
                       voice.path / "voice.json")
    return file, dict(spec["tensors"])


def graph_identity(voice: Any, graph: str, precision: str, path: Path) -> str:
    """sha256 naming what the graph at ``path`` computes: of its file, or, for a graph
    whose weights live in a safetensors file, of the file and those weights."""
    from .hashing import sha256_file

    digest = sha256_file(path)
    linked = graph_weights(voice, graph, precision)
    if linked is None:
        return digest
    return hashlib.sha256(f"{digest}:{sha256_file(linked[0])}".encode()).hexdigest()


def external_initializers(voice: Any, graph: str, precision: str) -> dict[str, np.ndarray]:
    """initializer -> array (read-only, mapped from the safetensors file) of the graph's
    weights kept outside it; empty for a self-contained graph."""
    linked = graph_weights(voice, graph, precision)
    if linked is None:
        return {}
    file, tensors = linked
    arrays = read_tensors(file, set(tensors.values()), f"the weights of the {graph} graph")
    return {initializer: arrays[tensor] for initializer, tensor in tensors.items()}


def self_contained_graph(voice: Any, graph: str, precision: str, directory: Path) -> Path:
    """The graph's ONNX file, or, for a graph whose weights live in a safetensors file, a
    copy with the weights inside, written to ``directory`` (needs the ``onnx`` package)."""
    path = bundle_file(voice.path, voice.onnx["graphs"][graph][precision], f"onnx.graphs.{graph}.{precision}",
                       voice.path / "voice.json")
    initializers = external_initializers(voice, graph, precision)
    if not initializers:
        return path
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        if tensor.name in initializers:
            tensor.raw_data = np.ascontiguousarray(initializers[tensor.name]).tobytes()
            tensor.data_location = onnx.TensorProto.DEFAULT
            del tensor.external_data[:]
    out = Path(directory) / path.name
    onnx.save(model, str(out))
    return out
