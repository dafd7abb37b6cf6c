"""Device, precision and thread-count arguments, parsed in one place for every backend."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError, shown

__all__ = ["PRECISIONS", "check_num_threads", "check_precision", "parse_device"]

PRECISIONS = ("auto", "fp32", "fp16", "int8")
#: int8: the bundle's int8 decoder (``ttsengine export --int8``) with fp32 for the other
#: graphs, on ONNX Runtime's CPU provider only.


def parse_device(device: Any) -> tuple[str, int]:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> (``auto`` | ``cpu`` | ``cuda``, N or 0)."""
    if not isinstance(device, str):
        raise InvalidInputError(f"device must be a string, got {type(device).__name__}")
    if device in ("auto", "cpu", "cuda"):
        return device, 0
    if device.startswith("cuda:") and device[5:].isascii() and device[5:].isdigit():
        index = device[5:].lstrip("0") or "0"
        if len(index) > 9:  # no GPU has that index (and int() stops at 4300 digits)
            raise InvalidInputError(f"device index out of range: {shown(device)}")
        return "cuda", int(index)
    raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {shown(device)}")


def check_precision(precision: Any) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else InvalidInputError."""
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def check_num_threads(num_threads: Any) -> int | None:
    """``None`` or a positive int, else InvalidInputError."""
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1):
        raise InvalidInputError(f"num_threads must be a positive int or None, got {num_threads!r}")
    return num_threads
