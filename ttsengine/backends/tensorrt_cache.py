"""The TensorRT engine cache: engines are built per GPU and TensorRT version, never shipped.

Engines live in the cache directory (``$TTSENGINE_CACHE_DIR/engines``, default
``~/.cache/ttsengine/engines``) as ``KEY.engine`` + ``KEY.json``; KEY is the sha256 of
(ONNX file hash, TensorRT version, GPU compute capability, precision, optimization
profile). The timing cache is kept there too, one file per TensorRT version and compute
capability. ONNX Runtime's TensorRT execution provider keeps its engines under the same
directory (:func:`ort_cache_dir`).

Also here: what identifies an engine on this machine (:func:`import_tensorrt` for the
version, :func:`compute_capability`) and TensorRT's logger; the runtime backend and the
builder both use them. tensorrt, torch and cuda-python are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import BackendUnavailableError, InvalidInputError
from ..voice import VoiceConfig
from ..voice.contract import GRAPH_NAMES
from ..voice.onnx import graph_identity, onnx_graph_paths

__all__ = [
    "CACHE_SCHEMA", "TENSORRT_INSTALL_HINT", "compute_capability", "default_cache_dir", "engine_cache_key",
    "find_cached_engines", "import_tensorrt", "ort_cache_dir", "trt_logger",
]

logger = logging.getLogger("ttsengine")

#: Bumped whenever the build settings change meaning (invalidates every cached engine).
CACHE_SCHEMA = 1
MIN_TENSORRT_MAJOR = 10

TENSORRT_INSTALL_HINT = (
    "install TensorRT 10 with its Python bindings on a CUDA machine with the NVIDIA driver: "
    "pip install tensorrt (the PyPI 'tensorrt' package is a stub that downloads the real "
    "wheels from NVIDIA's index, pypi.nvidia.com, which must be reachable), or NVIDIA's "
    "TensorRT tar/deb packages"
)


# ------------------------------------------------------------------------ cache
def default_cache_dir() -> Path:
    """``$TTSENGINE_CACHE_DIR/engines``, else ``$XDG_CACHE_HOME/ttsengine/engines``, else
    ``~/.cache/ttsengine/engines``."""
    root = os.environ.get("TTSENGINE_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "engines"
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "ttsengine" / "engines"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None, bundle: Path) -> Path:
    path = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).resolve()
    if path == bundle.resolve() or path.is_relative_to(bundle.resolve()):
        raise InvalidInputError(f"engine cache {path} is inside the voice bundle {bundle}; engines never go into a bundle")
    return path


def profile_json(profile: Mapping[str, Sequence[Sequence[int]]]) -> dict[str, list[list[int]]]:
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
        "profile": profile_json(profile),
    }
    return hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
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
    cache = resolve_cache_dir(cache_dir, voice.path)
    if not cache.is_dir():
        return None
    hashes = {graph: graph_identity(voice, graph, "fp32", path) for graph, (path, _) in onnx_graph_paths(voice).items()}
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


def ort_cache_dir() -> Path:
    """Where ONNX Runtime's TensorRT execution provider caches its engines: beside ours."""
    return default_cache_dir() / "onnxruntime"


# ------------------------------------------------------------------------ what identifies an engine here (untested here)
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
