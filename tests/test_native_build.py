"""The native build: the generated build info, ttsengine.native's report of it (every state,
the broken ones simulated), `ttsengine info`, and CMake's refusal of an explicit ON that
cannot be met."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from ttsengine import native

REPO = Path(__file__).resolve().parents[1]
INFO = native.build_info()


def _importable(name: str) -> bool:
    try:
        importlib.import_module(f"ttsengine.{name}")
    except ModuleNotFoundError:
        return False
    return True


def test_build_info_is_present_and_matches_what_imports():
    assert INFO is not None, "the build must write ttsengine/_build_info.py next to _core"
    assert Path(INFO.__file__).parent == Path(importlib.import_module("ttsengine._core").__file__).parent
    assert INFO.BUILD_TYPE and INFO.CXX_COMPILER
    assert INFO.CUDA["option"] in ("AUTO", "ON", "OFF")
    assert (INFO.CUDA["reason"] is None) == INFO.CUDA["compiled"]
    assert _importable("_cuda") == INFO.CUDA["compiled"]
    assert not _importable("_trt")  # TensorRT runs from Python: no native module
    if INFO.CUDA["compiled"]:
        assert INFO.CUDA["nvcc"] and "90" in [a.split("-")[0].rstrip("af") for a in INFO.CUDA["architectures"]]


def test_native_report_here():
    report = native.native_report()
    assert list(report) == ["_core", "_cuda"]
    assert report["_core"].state == "ok" and report["_core"].ok
    cuda = report["_cuda"]
    if INFO.CUDA["compiled"]:
        from ttsengine import _cuda

        devices = _cuda.device_count()
        assert cuda.state == ("ok" if devices else "no GPU")
        assert cuda.detail.startswith("compiled for ") and "sm_90" in cuda.detail
        assert "needs NVIDIA driver R580+" in cuda.detail or _cuda.runtime_version() < 13000
        if not devices:
            assert f"0 devices ({_cuda.driver_status()})" in cuda.detail
    else:
        assert cuda.state == "not compiled" and cuda.detail == f"not compiled: {INFO.CUDA['reason']}"


def test_require_native_raises_with_the_reason():
    from ttsengine.errors import BackendUnavailableError

    assert native.require_native("_core").__name__ == "ttsengine._core"
    for name, status in native.native_report().items():
        if not status.ok:
            with pytest.raises(BackendUnavailableError, match=f"ttsengine.{name} is unavailable: {status.state}"):
                native.require_native(name)
    with pytest.raises(ValueError, match="unknown native module"):
        native.native_status("_gpu")


def test_info_command_prints_the_report():
    with tempfile.TemporaryDirectory() as cwd:  # outside the repo: the installed package
        result = subprocess.run(
            [sys.executable, "-m", "ttsengine", "info"], capture_output=True, text=True, timeout=120, cwd=cwd
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for status in native.native_report().values():
        assert f"native {status}" in lines
    assert not any("not part of this version" in line for line in lines)


# ----------------------------------------------------------------- simulated builds


def _fake_info(cuda: bool) -> SimpleNamespace:
    return SimpleNamespace(
        BUILD_TYPE="Release",
        CXX_COMPILER="GNU 12.2.0",
        CUDA={
            "option": "AUTO",
            "compiled": cuda,
            "nvcc": "13.0.88" if cuda else None,
            "architectures": ["80", "90"] if cuda else [],
            "reason": None if cuda else "no CUDA compiler (nvcc) found at build time",
        },
    )


def _fake_cuda(devices: int) -> ModuleType:
    module = ModuleType("ttsengine._cuda")
    module.device_count = lambda: devices
    module.driver_status = lambda: "ok" if devices else "cudaErrorNoDevice: no CUDA-capable device is detected"
    module.runtime_version = lambda: 13000
    module.compiled_architectures = lambda: [80, 90]
    return module


def _simulate(monkeypatch, info, modules: dict[str, object]):
    """build info -> `info`; importing ttsengine.<name> returns modules[name], or raises it if
    it is an exception; names not given import for real."""
    real_import = native._import

    def fake_import(name):
        if name == "_build_info":
            if info is None:
                raise ModuleNotFoundError("No module named 'ttsengine._build_info'", name="ttsengine._build_info")
            return info
        if name in modules:
            value = modules[name]
            if isinstance(value, BaseException):
                raise value
            return value
        return real_import(name)

    monkeypatch.setattr(native, "_import", fake_import)


def test_import_failure_is_reported_with_its_reason(monkeypatch):
    error = ImportError("libcudart.so.13: cannot open shared object file: No such file or directory")
    _simulate(monkeypatch, _fake_info(cuda=True), {"_cuda": error})
    report = native.native_report()
    assert report["_core"].state == "ok"
    assert report["_cuda"].state == "import failed"
    assert report["_cuda"].detail == f"compiled but failed to import: ImportError: {error}"


def test_missing_module_file_of_a_compiled_build_is_an_import_failure(monkeypatch):
    gone = ModuleNotFoundError("No module named 'ttsengine._cuda'", name="ttsengine._cuda")
    _simulate(monkeypatch, _fake_info(cuda=True), {"_cuda": gone})
    status = native.native_report()["_cuda"]
    assert status.state == "import failed" and "No module named 'ttsengine._cuda'" in status.detail


def test_not_compiled_states_carry_the_build_reason(monkeypatch):
    _simulate(monkeypatch, _fake_info(cuda=False), {})
    report = native.native_report()
    assert report["_cuda"] == native.NativeStatus(
        "_cuda", "not compiled", "not compiled: no CUDA compiler (nvcc) found at build time"
    )


def test_device_states(monkeypatch):
    _simulate(monkeypatch, _fake_info(cuda=True), {"_cuda": _fake_cuda(2)})
    report = native.native_report()
    assert report["_cuda"].state == "ok"
    assert report["_cuda"].detail == "compiled for sm_80, sm_90, CUDA 13.0, needs NVIDIA driver R580+; 2 devices"
    _simulate(monkeypatch, _fake_info(cuda=True), {"_cuda": _fake_cuda(0)})
    report = native.native_report()
    assert report["_cuda"].state == "no GPU" and report["_cuda"].detail.endswith(
        "0 devices (cudaErrorNoDevice: no CUDA-capable device is detected)"
    )


def test_missing_build_info_is_said(monkeypatch):
    gone = ModuleNotFoundError("No module named 'ttsengine._cuda'", name="ttsengine._cuda")
    _simulate(monkeypatch, None, {"_cuda": gone})
    report = native.native_report()
    assert native.build_info() is None
    assert report["_core"].state == "ok" and "build info missing" in report["_core"].detail
    assert report["_cuda"].state == "not compiled" and "build info missing" in report["_cuda"].detail


def test_native_does_not_import_cuda_or_torch_on_import():
    code = "import sys, ttsengine.native; print(sorted(m for m in ('torch', 'ttsengine._cuda') if m in sys.modules))"
    with tempfile.TemporaryDirectory() as cwd:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    assert result.stdout.strip() == "[]"


# ----------------------------------------------------------------- CMake configure


def _cmake() -> str | None:
    try:
        import cmake  # type: ignore[import-not-found]
    except ImportError:
        return shutil.which("cmake")
    # without the cmake wheel, the source tree's cmake/ folder imports as an empty namespace package
    bin_dir = getattr(cmake, "CMAKE_BIN_DIR", None)
    return str(Path(bin_dir) / "cmake") if bin_dir else shutil.which("cmake")


@pytest.mark.skipif(_cmake() is None or not (REPO / "CMakeLists.txt").exists(), reason="needs cmake and the source tree")
@pytest.mark.parametrize(
    "args, env, expected",
    [
        (
            ["-DTTSENGINE_CUDA=ON"],
            {"CUDACXX": "/nonexistent/nvcc"},
            ["TTSENGINE_CUDA=ON but ttsengine._cuda cannot be built", "CUDACXX=/nonexistent/nvcc", "CUDACXX=/path/to/nvcc"],
        ),
        (["-DTTSENGINE_CUDA=maybe"], {}, ["TTSENGINE_CUDA must be AUTO, ON or OFF, got 'maybe'"]),
    ],
)
def test_explicit_on_without_the_dependency_fails_at_configure(tmp_path, args, env, expected):
    result = subprocess.run(
        [_cmake(), "-S", str(REPO), "-B", str(tmp_path / "build"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())  # CMake wraps long messages
    for text in expected:
        assert text in output, output[-3000:]


def test_backend_report_names_the_native_state_of_each_gpu_fast_path(monkeypatch):
    from ttsengine import backend_report

    error = ImportError("libcudart.so.13: cannot open shared object file")
    _simulate(monkeypatch, _fake_info(cuda=True), {"_cuda": error})
    report = backend_report()
    for name in ("torch", "tensorrt"):
        assert "CUDA pipeline: _cuda: import failed" in report[name].reason
        assert str(error) in report[name].reason
    assert "_cuda" not in report["onnxruntime"].reason


@pytest.mark.parametrize("name", ["_core", "_cuda"])
def test_type_stubs_list_what_the_module_exports(name):
    """ttsengine/<name>.pyi names exactly the module's public functions, classes and constants."""
    import ast

    try:
        module = importlib.import_module(f"ttsengine.{name}")
    except ImportError:
        pytest.skip(f"ttsengine.{name} is not built here")
    stub = ast.parse((Path(module.__file__).parent / f"{name}.pyi").read_text(encoding="utf-8"))
    declared = set()
    for node in stub.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    assert declared == {n for n in dir(module) if not n.startswith("_")}
