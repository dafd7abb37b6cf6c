"""Backend selection and capability reporting.

Nothing heavy is imported to *report* or to *choose*: a backend's module (and torch,
onnxruntime, tensorrt) is imported only when that backend is created. ``auto`` asks
``ttsengine._cuda`` (or the CUDA driver) whether a GPU is usable, never torch, so choosing
ONNX Runtime on a CPU-only machine does not import torch.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass

from ..errors import BackendUnavailableError, InvalidInputError
from ..voice import VOCODERS, VoiceConfig
from .base import Backend
from .device import check_num_threads, check_precision, parse_device

__all__ = ["Backend", "BackendStatus", "available_backends", "backend_report", "choose_vocoder", "create_backend"]

logger = logging.getLogger("ttsengine")

BACKENDS = ("torch", "onnxruntime", "tensorrt")

# name -> (module, class); each class takes (voice, device=, precision=, num_threads=).
_IMPLEMENTATIONS = {
    "torch": (".torch_backend", "TorchBackend"),
    "onnxruntime": (".onnxruntime_backend", "OnnxRuntimeBackend"),
    "tensorrt": (".tensorrt_backend", "TensorRTBackend"),
}
_INSTALL_HINTS = {
    "torch": "pip install 'ttsengine[torch]' (install torch==2.13.0 first on CPU-only machines)",
    "onnxruntime": "pip install 'ttsengine[onnx]' (or onnxruntime-gpu for CUDA)",
    "tensorrt": "install NVIDIA TensorRT 10 with its Python bindings (pip install tensorrt) on a CUDA machine",
}


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend's runtime is installed here, and why (not)."""

    name: str
    available: bool
    reason: str


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # e.g. a module blocked with sys.modules[name] = None
        return False


def _status(name: str) -> BackendStatus:
    if not _installed("ttsengine._core"):
        return BackendStatus(name, False, "ttsengine._core is not built (reinstall ttsengine with pip)")
    module = {"torch": "torch", "onnxruntime": "onnxruntime", "tensorrt": "tensorrt"}[name]
    if not _installed(module):
        return BackendStatus(name, False, f"{module} is not installed ({_INSTALL_HINTS[name]})")
    if not _installed(f"ttsengine.backends{_IMPLEMENTATIONS[name][0]}"):
        return BackendStatus(name, False, f"the {name} backend is not implemented in this version of ttsengine yet")
    version = _version(module) or _version(f"{module}-gpu") or "(version unknown)"
    return BackendStatus(name, True, f"{module} {version} installed")


# backend -> the native module of its fast GPU path, and what that path is
_NATIVE_PATHS = {"torch": ("_cuda", "CUDA pipeline"), "tensorrt": ("_cuda", "CUDA pipeline")}


def backend_report() -> dict[str, BackendStatus]:
    """For every backend: whether its runtime is available here and the reason, including
    the state of the native module its GPU fast path needs (see :mod:`ttsengine.native`)."""
    from ..native import native_report

    native = native_report()
    report = {}
    for name in BACKENDS:
        status = _status(name)
        if name in _NATIVE_PATHS:
            module, path = _NATIVE_PATHS[name]
            status = BackendStatus(name, status.available, f"{status.reason}; {path}: {native[module]}")
        report[name] = status
    return report


def available_backends() -> list[str]:
    """Backends whose runtime is installed here, in ``auto``'s order of preference on CPU."""
    order = ("onnxruntime", "torch", "tensorrt")
    return [name for name in order if _status(name).available]


def _cuda_driver_devices() -> int:
    """CUDA devices the driver reports (``cuInit`` + ``cuDeviceGetCount`` through ctypes);
    0 where no driver is installed. Honours ``CUDA_VISIBLE_DEVICES`` like every CUDA runtime."""
    import ctypes
    import sys

    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
        except AttributeError:  # not a CUDA driver after all
            return 0
        return count.value
    return 0


def _cuda_available() -> bool:
    """Whether this machine has a usable CUDA device, asked without importing torch.

    ``ttsengine._cuda`` answers where it is built and sees a device (it imports in
    milliseconds); otherwise (not built, a broken build, or its CUDA runtime newer than the
    driver while torch's may be older) the CUDA driver itself is asked. ``auto`` used to ask
    ``torch.cuda.is_available()``, which imports all of torch (seconds, and hundreds of MB)
    even when the answer is ONNX Runtime on the CPU.
    """
    from ..native import native_status

    return native_status("_cuda").ok or _cuda_driver_devices() > 0


def _auto_order(voice: VoiceConfig, device: str) -> list[str]:
    """``auto``: the fastest backend that can run this voice on this device, first."""
    has_onnx = bool(voice.onnx)
    order: list[str] = []
    if device != "cpu":
        if has_onnx and _status("tensorrt").available:
            order.append("tensorrt")
        if _status("torch").available and _cuda_available():
            order.append("torch")
    if device in ("auto", "cpu"):
        if has_onnx and _status("onnxruntime").available:
            order.append("onnxruntime")  # no torch import, ~1/3 the memory, speed on par or better
        if _status("torch").available:
            order.append("torch")
    return list(dict.fromkeys(order))


def choose_vocoder(voice: VoiceConfig, vocoder: str, device: str) -> str:
    """The vocoder kind to run: ``auto`` takes the bundle's CPU vocoder where no GPU will be
    used (``device`` "cpu", or "auto" on a machine without one), HiFi-GAN otherwise."""
    if vocoder not in ("auto",) + VOCODERS:
        raise InvalidInputError(f"vocoder must be 'auto' or one of {', '.join(VOCODERS)}, got {vocoder!r}")
    if vocoder != "auto":
        voice.with_vocoder(vocoder)  # raises InvalidInputError when the bundle lacks it
        return vocoder
    on_cpu = device == "cpu" or (device == "auto" and not _cuda_available())
    return "istft" if on_cpu and "istft" in voice.vocoders else "hifigan"


def create_backend(
    name: str, voice: VoiceConfig, device: str, precision: str, num_threads: int | None = None,
    vocoder: str = "auto",
) -> Backend:
    """Creates the requested backend; ``auto`` tries the best candidates and logs its choice.

    ``vocoder`` ("auto", "hifigan" or "istft", see :func:`choose_vocoder`) picks which of the
    bundle's vocoders the backend runs; the backend's ``vocoder_kind`` says which.
    """
    parse_device(device)
    check_precision(precision)
    check_num_threads(num_threads)
    kind = choose_vocoder(voice, vocoder, device)
    backend = _create_any(name, voice.with_vocoder(kind), device, precision, num_threads)
    backend.vocoder_kind = kind
    return backend


def _create_any(name: str, voice: VoiceConfig, device: str, precision: str, num_threads: int | None) -> Backend:
    if name == "auto":
        candidates = _auto_order(voice, device)
        failures = []
        for candidate in candidates:
            try:
                backend = _create(candidate, voice, device, precision, num_threads)
            except BackendUnavailableError as exc:
                failures.append(f"{candidate}: {exc}")
                continue
            logger.info("backend 'auto' chose %s on %s (%s)", backend.name, backend.device, backend.precision)
            return backend
        reasons = "; ".join(failures or [f"{s.name}: {s.reason}" for s in backend_report().values()])
        raise BackendUnavailableError(f"no backend can run voice {voice.name!r} on device {device!r} ({reasons})")
    if name not in BACKENDS:
        raise InvalidInputError(f"backend must be 'auto' or one of {', '.join(BACKENDS)}, got {name!r}")
    return _create(name, voice, device, precision, num_threads)


def _create(name: str, voice: VoiceConfig, device: str, precision: str, num_threads: int | None) -> Backend:
    status = _status(name)
    if not status.available:
        raise BackendUnavailableError(f"backend {name!r} is unavailable: {status.reason}")
    module, cls = _IMPLEMENTATIONS[name]
    implementation = importlib.import_module(module, __name__)
    backend_class = getattr(implementation, cls)
    return backend_class(voice, device=device, precision=precision, num_threads=num_threads)
