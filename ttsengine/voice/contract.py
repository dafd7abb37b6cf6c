"""The ONNX I/O contract shared by the exporter, the verifier and the backends.

Three graphs; the length regulator (a data-dependent output length) stays between them in
``ttsengine._core``, so every graph has a static rank and plain dynamic axes:

    encoder  tokens int64 [batch, tokens], token_lengths int64 [batch], speakers int64 [batch]
             -> hidden float32 [batch, tokens, d_model], log_durations float32 [batch, tokens]
    decoder  frames float32 [batch, frames, d_model], frame_lengths int64 [batch]
             -> mel float32 [batch, n_mels, frames]
    vocoder  mel float32 [batch, n_mels, frames], frame_lengths int64 [batch]
             -> wave float32 [batch, frames * hop]

A bundle may also carry ``cpu_vocoder``, a fast vocoder for CPUs distilled from ``vocoder``,
with the vocoder's contract. A source-filter CPU vocoder (``excitation: "pulse"``) adds the
phase of its pulse train, so that streamed windows continue one another:

    cpu_vocoder  ... + phase float32 [batch] (cycles at frame ``anchor``), anchor int64 [batch],
                 offset int64 [batch] (absolute index of frame 0, for the noise part)
                 -> wave, cycles float32 [batch, frames + 1] (phase at each frame's block)

This module is pure data (no torch / onnx / onnxruntime imports): backends read it too.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GRAPH_NAMES",
    "OPTIONAL_GRAPHS",
    "PRECISIONS",
    "INT8_GRAPHS",
    "graph_precision",
    "ONNX_DIR",
    "graph_filename",
    "io_contract",
]

GRAPH_NAMES = ("encoder", "decoder", "vocoder")
#: Graphs a bundle may carry in addition (present when voice.json has their section).
OPTIONAL_GRAPHS = ("cpu_vocoder",)
PRECISIONS = ("fp32", "fp16")
#: Graphs that may also carry an int8 version (``<graph>.int8.onnx``, :mod:`ttsengine.export.int8`):
#: the acoustic decoder, the CPU path's largest cost. ``int8`` runs those and fp32 for the rest.
INT8_GRAPHS = ("decoder",)
#: Directory of the graphs inside a bundle.
ONNX_DIR = "onnx"


def graph_filename(graph: str, precision: str) -> str:
    """``encoder`` + ``fp16`` -> ``encoder.fp16.onnx`` (fp32 graphs have no infix)."""
    known = precision in PRECISIONS or (precision == "int8" and graph in INT8_GRAPHS)
    if graph not in GRAPH_NAMES + OPTIONAL_GRAPHS or not known:
        raise ValueError(f"unknown graph/precision {graph!r}/{precision!r}")
    return f"{graph}.onnx" if precision == "fp32" else f"{graph}.{precision}.onnx"


def graph_precision(entry: Any, precision: str) -> str:
    """Which of a graph entry's versions ``precision`` runs: ``int8`` takes the int8 graph where
    the entry has one and fp32 elsewhere; fp32 and fp16 take their own."""
    if precision == "int8" and not (isinstance(entry, dict) and "int8" in entry):
        return "fp32"
    return precision


def _tensor(dtype: str, *shape: str | int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(shape)}


def io_contract(d_model: int, n_mels: int, hop_length: int,
                pulse: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """graph -> {"inputs": {name: {dtype, shape}}, "outputs": {...}} in argument order.

    Symbolic dimensions are strings (``batch``, ``tokens``, ``frames``; the wave's length
    is ``frames*hop``), fixed ones ints. ``pulse``: the CPU vocoder is a source-filter one
    (module docstring).
    """
    vocoder = {
        "inputs": {
            "mel": _tensor("float32", "batch", n_mels, "frames"),
            "frame_lengths": _tensor("int64", "batch"),
        },
        "outputs": {"wave": _tensor("float32", "batch", f"frames*{hop_length}")},
    }
    return {
        "encoder": {
            "inputs": {
                "tokens": _tensor("int64", "batch", "tokens"),
                "token_lengths": _tensor("int64", "batch"),
                "speakers": _tensor("int64", "batch"),
            },
            "outputs": {
                "hidden": _tensor("float32", "batch", "tokens", d_model),
                "log_durations": _tensor("float32", "batch", "tokens"),
            },
        },
        "decoder": {
            "inputs": {
                "frames": _tensor("float32", "batch", "frames", d_model),
                "frame_lengths": _tensor("int64", "batch"),
            },
            "outputs": {"mel": _tensor("float32", "batch", n_mels, "frames")},
        },
        "vocoder": vocoder,
        "cpu_vocoder": vocoder if not pulse else {
            "inputs": {**vocoder["inputs"], "phase": _tensor("float32", "batch"),
                       "anchor": _tensor("int64", "batch"), "offset": _tensor("int64", "batch")},
            "outputs": {**vocoder["outputs"], "cycles": _tensor("float32", "batch", "frames+1")},
        },
    }
