"""Backend selection and capability reporting.

Nothing heavy is imported here: a backend's module (and torch, onnxruntime, tensorrt) is
imported only when that backend is created.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass

from ..errors import BackendUnavailableError, InvalidInputError
from ..voice import VoiceConfig
from .base import Backend

__all__ = ["Backend", "BackendStatus", "available_backends", "backend_report", "create_backend"]

logger = logging.getLogger("ttsengine")

BACKENDS = ("torch", "onnxruntime", "tensorrt")
PRECISIONS = ("auto", "fp32", "fp16")

# Backends whose runtime may be installed but that this version does not implement yet.
_NOT_IMPLEMENTED = {
    "onnxruntime": "the onnxruntime backend is not implemented in this version of ttsengine yet",
    "tensorrt": "the tensorrt backend is not implemented in this version of ttsengine yet",
}


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can run here, and why (not)."""

    name: str
    available: bool
    reason: str


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _status(name: str) -> BackendStatus:
    if name in _NOT_IMPLEMENTED:
        return BackendStatus(name, False, _NOT_IMPLEMENTED[name])
    # name == "torch"
    if importlib.util.find_spec("torch") is None:
        return BackendStatus(name, False, "torch is not installed (pip install 'ttsengine[torch]')")
    if importlib.util.find_spec("ttsengine._core") is None:
        return BackendStatus(name, False, "ttsengine._core is not built (reinstall ttsengine with pip)")
    return BackendStatus(name, True, f"torch {_version('torch') or '(version unknown)'} installed")


def backend_report() -> dict[str, BackendStatus]:
    """For every backend: whether it is available here and the reason."""
    return {name: _status(name) for name in BACKENDS}


def available_backends() -> list[str]:
    """Backends that can run here, in order of preference."""
    return [name for name, status in backend_report().items() if status.available]


def create_backend(name: str, voice: VoiceConfig, device: str, precision: str) -> Backend:
    """Creates the requested backend; ``auto`` picks the first available and logs the choice."""
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if name == "auto":
        candidates = available_backends()
        if not candidates:
            reasons = "; ".join(f"{s.name}: {s.reason}" for s in backend_report().values())
            raise BackendUnavailableError(f"no backend can run here ({reasons})")
        name = candidates[0]
        logger.info("backend 'auto' chose %r", name)
    elif name not in BACKENDS:
        raise InvalidInputError(f"backend must be 'auto' or one of {', '.join(BACKENDS)}, got {name!r}")
    status = _status(name)
    if not status.available:
        raise BackendUnavailableError(f"backend {name!r} is unavailable: {status.reason}")
    from .torch_backend import TorchBackend

    return TorchBackend(voice, device=device, precision=precision)
