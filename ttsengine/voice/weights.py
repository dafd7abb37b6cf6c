"""Weights files (safetensors) read without torch: the header checked the way the
safetensors library checks it, tensor names / dtypes / shapes checked against the
hyper-parameters (:mod:`ttsengine.models.shapes`), and tensors read as numpy arrays."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import VoiceLoadError
from ..models.shapes import Shapes
from .schema import _is_int, _parse_json, _regular_file

#: Largest safetensors JSON header read.
_MAX_HEADER_BYTES = 16 << 20
#: safetensors dtype -> bytes per element; the networks' weights must be one of _WEIGHT_DTYPES.
_DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
                "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
_WEIGHT_DTYPES = ("F32", "F16", "BF16")


def _safetensors_layout(path: Path, what: str) -> tuple[int, dict[str, tuple[str, tuple[int, ...], int, int]]]:
    """(offset of the data in the file, tensor name -> (dtype, shape, begin, end) within the
    data) from a safetensors file's header, checked the way the safetensors library checks
    it (offsets contiguous, covering the file), without reading the data."""
    size = _regular_file(path, what).st_size

    def bad(problem: str) -> VoiceLoadError:
        return VoiceLoadError(f"{path}: cannot read {what} ({problem})")

    try:
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise bad("truncated: no safetensors header")
            length = int.from_bytes(prefix, "little")
            if length > min(_MAX_HEADER_BYTES, size - 8):
                raise bad(f"header length {length} does not fit the file: truncated or not safetensors")
            raw = handle.read(length)
    except OSError as exc:
        raise VoiceLoadError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        header = _parse_json(raw, path, "the safetensors header")
    except VoiceLoadError as exc:
        raise bad(str(exc).split(": ", 1)[-1]) from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise bad("__metadata__ must map strings to strings")
    tensors: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    spans = []
    for name, info in header.items():
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str) and isinstance(info.get("shape"), list)
                and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2):
            raise bad(f"tensor {name!r} has no valid dtype / shape / data_offsets")
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPE_SIZES:
            raise bad(f"tensor {name!r} has unknown dtype {dtype!r}")
        if not all(_is_int(s) and s >= 0 for s in shape) or not (_is_int(begin) and _is_int(end) and 0 <= begin <= end):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r} or data_offsets {info['data_offsets']!r}")
        if end - begin != math.prod(shape) * _DTYPE_SIZES[dtype]:
            raise bad(f"tensor {name!r}: data_offsets {begin}..{end} do not hold {dtype}{shape}")
        tensors[name] = (dtype, tuple(shape), begin, end)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise bad("tensor data overlaps or leaves gaps")
        position = end
    if position != size - 8 - length:
        raise bad(f"the data holds {size - 8 - length} bytes but the header describes {position}: truncated or corrupt")
    return 8 + length, tensors


def _safetensors_header(path: Path, what: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """tensor name -> (dtype, shape) from a safetensors file's header (see
    :func:`_safetensors_layout`)."""
    return {name: (dtype, shape) for name, (dtype, shape, _, _) in _safetensors_layout(path, what)[1].items()}


#: safetensors dtypes that numpy reads as they are.
_NUMPY_DTYPES = {"F32": "float32", "F16": "float16", "F64": "float64", "I64": "int64", "I32": "int32"}


def read_tensors(path: Path, names: Iterable[str], what: str = "weights") -> dict[str, np.ndarray]:
    """Tensors of a safetensors file as read-only numpy arrays mapped from the file (no
    copy, no torch). Raises VoiceLoadError for a missing tensor or a dtype numpy lacks."""
    start, layout = _safetensors_layout(path, what)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name in names:
        if name not in layout:
            raise VoiceLoadError(f"{path}: {what} have no tensor {name!r}")
        dtype, shape, begin, end = layout[name]
        if dtype not in _NUMPY_DTYPES:
            raise VoiceLoadError(f"{path}: tensor {name!r} is {dtype}, which cannot be read without torch")
        out[name] = data[start + begin : start + end].view(_NUMPY_DTYPES[dtype]).reshape(shape)
    return out


def _check_weights(path: Path, part: str, expected: Shapes, config_path: Path) -> None:
    """The weights file against the hyper-parameters in voice.json: names, dtypes, shapes."""
    tensors = _safetensors_header(path, f"{part} weights")
    bad_dtypes = {name: dtype for name, (dtype, _) in tensors.items() if dtype not in _WEIGHT_DTYPES}
    if bad_dtypes:
        listed = ", ".join(f"{name}: {dtype}" for name, dtype in list(bad_dtypes.items())[:8])
        raise VoiceLoadError(f"{path}: {part} weights must be floating point ({', '.join(_WEIGHT_DTYPES)}), "
                             f"found dtype {listed}{' ...' if len(bad_dtypes) > 8 else ''}")
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise VoiceLoadError(
            f"{config_path}: {part}.hparams do not match {path.name}: missing tensors {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}, unexpected tensors {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}"
        )
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    blamed: dict[str, int] = {}
    for name, dims in expected.items():
        dtype, shape = tensors[name]
        want = tuple(size for size, _ in dims)
        if shape == want:
            continue
        mismatched.append((name, shape, want))
        if len(shape) == len(want):
            for got, (size, hparam) in zip(shape, dims):
                if got != size:
                    blamed[hparam] = blamed.get(hparam, 0) + 1
        else:
            blamed["-"] = blamed.get("-", 0) + 1
    if mismatched:
        fields = [name for name, _ in sorted(blamed.items(), key=lambda item: -item[1]) if name != "-"]
        named = ", ".join(f"{part}.hparams.{name}" for name in fields[:3]) or f"{part}.hparams"
        details = "; ".join(
            f"{name} is [{', '.join(map(str, shape))}], hparams give [{', '.join(map(str, want))}]"
            for name, shape, want in mismatched[:4]
        )
        raise VoiceLoadError(f"{config_path}: {named} do not match {path.name} "
                             f"(shape mismatch in {len(mismatched)} tensors: {details})")
