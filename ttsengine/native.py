"""What the native modules of this installation can do, and why not.

Two compiled modules: ``_core`` (CPU kernels, always built) and ``_cuda`` (CUDA arena,
streams and regulator kernels; built where a CUDA compiler was found, with the CUDA runtime
linked statically, so it needs a driver at least as new as that runtime: R580 or newer for
CUDA 13). The build writes ``ttsengine/_build_info.py``
with what it compiled and why it skipped the rest; :func:`native_report` combines that with
what actually imports and runs here::

    >>> from ttsengine.native import native_report
    >>> for status in native_report().values():
    ...     print(status)
    _core: ok (CPU kernels; Release build, GNU 12.2.0)
    _cuda: no GPU (compiled for sm_80, sm_90, CUDA 13.0, needs NVIDIA driver R580+; 0 devices (cudaErrorInsufficientDriver: ...))

This module never imports torch; it imports ``_cuda`` only when asked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .errors import BackendUnavailableError

__all__ = ["MODULES", "NativeStatus", "build_info", "native_report", "native_status", "require_native"]

#: The native modules, in dependency order.
MODULES = ("_core", "_cuda")

#: NativeStatus.state values.
OK = "ok"
NOT_COMPILED = "not compiled"
IMPORT_FAILED = "import failed"
NO_GPU = "no GPU"

_NO_BUILD_INFO = "build info missing: ttsengine/_build_info.py not found"


@dataclass(frozen=True)
class NativeStatus:
    """One native module: ``state`` is "ok", "not compiled", "import failed" or "no GPU";
    ``detail`` says what was built and, when not "ok", why it cannot be used."""

    name: str
    state: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == OK

    def __str__(self) -> str:
        if self.detail.startswith(self.state):
            return f"{self.name}: {self.detail}"
        return f"{self.name}: {self.state} ({self.detail})"


def _import(name: str) -> ModuleType:
    """Imports ``ttsengine.<name>`` (tests replace this to simulate broken builds)."""
    return importlib.import_module(f"{__package__}.{name}")


def build_info() -> ModuleType | None:
    """The generated ``ttsengine._build_info`` module, or None where the build wrote none."""
    try:
        return _import("_build_info")
    except ImportError:
        return None


def _try_import(name: str) -> tuple[ModuleType | None, str | None, bool]:
    """(module, error text, missing): missing is True when the module file does not exist."""
    try:
        return _import(name), None, False
    except ModuleNotFoundError as exc:
        missing = exc.name == f"{__package__}.{name}"
        return None, str(exc), missing
    except Exception as exc:  # a broken .so raises ImportError/OSError; report any of them
        return None, f"{type(exc).__name__}: {exc}", False


#: CUDA runtime major version -> the oldest NVIDIA driver branch that runs it.
MIN_DRIVER = {12: "R525", 13: "R580"}


def _cuda_version(version: int) -> str:
    text = f"{version // 1000}.{version % 1000 // 10}"
    driver = MIN_DRIVER.get(version // 1000)
    return f"{text}, needs NVIDIA driver {driver}+" if driver else text


def _devices(cuda: Any) -> tuple[int, str]:
    count = int(cuda.device_count())
    if count:
        return count, f"{count} device{'s' if count != 1 else ''}"
    return 0, f"0 devices ({cuda.driver_status()})"


def _core_status(info: ModuleType | None) -> NativeStatus:
    module, error, missing = _try_import("_core")
    if module is None:
        if missing:
            return NativeStatus("_core", NOT_COMPILED, "not compiled: ttsengine was installed without its native build")
        return NativeStatus("_core", IMPORT_FAILED, f"compiled but failed to import: {error}")
    built = f"{info.BUILD_TYPE} build, {info.CXX_COMPILER}" if info else _NO_BUILD_INFO
    return NativeStatus("_core", OK, f"CPU kernels; {built}")


def _cuda_status(info: ModuleType | None) -> NativeStatus:
    if info is not None and not info.CUDA["compiled"]:
        return NativeStatus("_cuda", NOT_COMPILED, f"not compiled: {info.CUDA['reason']}")
    module, error, missing = _try_import("_cuda")
    if module is None:
        if info is None and missing:
            return NativeStatus("_cuda", NOT_COMPILED, f"not compiled ({_NO_BUILD_INFO})")
        return NativeStatus("_cuda", IMPORT_FAILED, f"compiled but failed to import: {error}")
    archs = ", ".join(f"sm_{arch}" for arch in module.compiled_architectures())
    built = f"compiled for {archs}, CUDA {_cuda_version(module.runtime_version())}"
    if info is None:
        built += f" ({_NO_BUILD_INFO})"
    count, devices = _devices(module)
    return NativeStatus("_cuda", OK if count else NO_GPU, f"{built}; {devices}")


_STATUS = {"_core": _core_status, "_cuda": _cuda_status}


def native_status(name: str) -> NativeStatus:
    """The status of one native module ("_core" or "_cuda")."""
    if name not in _STATUS:
        raise ValueError(f"unknown native module {name!r}; expected one of {', '.join(MODULES)}")
    return _STATUS[name](build_info())


def native_report() -> dict[str, NativeStatus]:
    """name -> NativeStatus for "_core" and "_cuda" (imports _cuda to check it)."""
    info = build_info()
    return {name: _STATUS[name](info) for name in MODULES}


def require_native(name: str) -> ModuleType:
    """The module ``ttsengine.<name>`` if its state is "ok"; otherwise raises
    :class:`~ttsengine.errors.BackendUnavailableError` with the reason."""
    status = native_status(name)
    if not status.ok:
        raise BackendUnavailableError(f"ttsengine.{name} is unavailable: {status.state} ({status.detail})")
    return _import(name)
