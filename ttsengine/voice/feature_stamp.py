"""The mel-feature settings recorded inside a voice's weight files, checked at load.

Training and export write ``ttsengine.features`` (JSON: sample_rate, n_fft, hop_length,
win_length, n_mels, fmin, fmax, log) into the safetensors ``__metadata__`` and the ONNX
``metadata_props``; :func:`check_feature_stamps` compares each file's record with
``voice.json`` and raises :class:`VoiceLoadError` naming the first difference. Files with
no record (bundles written before) load as before. No torch or onnx needed: the safetensors
header is JSON and ONNX's metadata is a top-level protobuf field read (or appended) directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from ..errors import VoiceLoadError

__all__ = ["STAMP_KEY", "FEATURE_KEYS", "stamp_value", "check_feature_stamps", "stamp_safetensors", "stamp_onnx",
           "read_safetensors_metadata", "read_onnx_metadata"]

STAMP_KEY = "ttsengine.features"
FEATURE_KEYS = ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "fmin", "fmax", "log")
_SAFETENSORS = ("acoustic.safetensors", "vocoder.safetensors", "cpu_vocoder.safetensors")
_ONNX_METADATA_FIELD = 14  # ModelProto.metadata_props
_MAX_HEADER = 100 * 1024 * 1024


def _settings(features: Mapping[str, Any], model_rate: int) -> dict[str, Any]:
    merged = {**features, "sample_rate": model_rate}
    out: dict[str, Any] = {}
    for key in FEATURE_KEYS:
        value = merged.get(key)
        if key in ("fmin", "fmax") and value is not None:
            value = float(value)
        elif key == "log":
            value = None if value is None else str(value)
        elif value is not None:
            value = int(value)
        out[key] = value
    return out


def stamp_value(features: Mapping[str, Any], model_rate: int | None = None) -> str:
    """The JSON recorded under :data:`STAMP_KEY` for ``features`` at the networks' rate."""
    rate = model_rate if model_rate is not None else features.get("sample_rate")
    return json.dumps(_settings(features, int(rate)), sort_keys=True)


# -- reading -------------------------------------------------------------------------------------
def read_safetensors_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (empty if none or unreadable)."""
    try:
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= _MAX_HEADER:
                return {}
            header = json.loads(handle.read(length))
    except (OSError, ValueError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(metadata) if isinstance(metadata, dict) else {}


def _varint(handle: Any) -> int | None:
    shift = result = 0
    while True:
        byte = handle.read(1)
        if not byte:
            return None
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def _parse_entry(data: bytes) -> tuple[str, str]:
    key = value = ""
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        length, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        text = data[pos:pos + length].decode("utf-8", "replace")
        pos += length
        if tag == 0x0A:
            key = text
        elif tag == 0x12:
            value = text
    return key, value


def read_onnx_metadata(path: Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props``, read from the top-level protobuf fields (the graph
    is skipped, not parsed); empty if unreadable."""
    out: dict[str, str] = {}
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            while handle.tell() < size:
                tag = _varint(handle)
                if tag is None:
                    break
                field, wire = tag >> 3, tag & 7
                if wire == 0:
                    _varint(handle)
                elif wire == 1:
                    handle.seek(8, os.SEEK_CUR)
                elif wire == 5:
                    handle.seek(4, os.SEEK_CUR)
                elif wire == 2:
                    length = _varint(handle)
                    if length is None:
                        break
                    if field == _ONNX_METADATA_FIELD:
                        key, value = _parse_entry(handle.read(length))
                        out[key] = value
                    else:
                        handle.seek(length, os.SEEK_CUR)
                else:
                    break
    except (OSError, ValueError, IndexError):
        return {}
    return out


# -- checking ------------------------------------------------------------------------------------
def _compare(file: Path, recorded: str, expected: dict[str, Any]) -> None:
    try:
        stamp = json.loads(recorded)
    except ValueError:
        raise VoiceLoadError(f"{file}: its recorded {STAMP_KEY} is not JSON") from None
    if not isinstance(stamp, dict):
        raise VoiceLoadError(f"{file}: its recorded {STAMP_KEY} is not a JSON object")
    for key in FEATURE_KEYS:
        if key in stamp and stamp[key] != expected[key]:
            where = "features.sample_rate (or sample_rate)" if key == "sample_rate" else f"features.{key}"
            raise VoiceLoadError(
                f"{file}: the weights were made with {key}={stamp[key]!r} but voice.json's {where} is "
                f"{expected[key]!r}: the bundle's metadata contradicts its weights")


def check_feature_stamps(path: Path, features: Mapping[str, Any], model_rate: int) -> None:
    """Every weight file of the bundle at ``path`` that records feature settings agrees
    with ``features`` (at ``model_rate``); VoiceLoadError naming the file and setting."""
    expected = _settings(features, model_rate)
    for name in _SAFETENSORS:
        file = path / name
        if file.is_file():
            recorded = read_safetensors_metadata(file).get(STAMP_KEY)
            if recorded is not None:
                _compare(file, recorded, expected)
    onnx_dir = path / "onnx"
    if onnx_dir.is_dir():
        for file in sorted(onnx_dir.glob("*.onnx")):
            recorded = read_onnx_metadata(file).get(STAMP_KEY)
            if recorded is not None:
                _compare(file, recorded, expected)


# -- writing (bundles made before the stamps) ---------------------------------------------------
def stamp_safetensors(file: Path, value: str) -> None:
    """Records ``value`` under :data:`STAMP_KEY` in a safetensors header; the tensor bytes
    are copied unchanged."""
    data = Path(file).read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    header["__metadata__"] = {**header.get("__metadata__", {}), STAMP_KEY: value}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = Path(str(file) + ".tmp")
    tmp.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + length:])
    os.replace(tmp, file)


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def stamp_onnx(file: Path, value: str) -> None:
    """Appends a ``metadata_props`` entry :data:`STAMP_KEY` = ``value`` to an ONNX file (a
    repeated protobuf field may follow the others: the graph bytes stay as they were)."""
    if STAMP_KEY in read_onnx_metadata(file):
        raise ValueError(f"{file} already records {STAMP_KEY}")
    key, val = STAMP_KEY.encode(), value.encode()
    entry = b"\x0a" + _encode_varint(len(key)) + key + b"\x12" + _encode_varint(len(val)) + val
    with open(file, "ab") as handle:
        handle.write(bytes([(_ONNX_METADATA_FIELD << 3) | 2]) + _encode_varint(len(entry)) + entry)
