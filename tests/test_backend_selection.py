"""`auto` backend selection, and torch-free inference with exported voices."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ttsengine import Synthesizer, backends
from ttsengine.errors import BackendUnavailableError
from ttsengine.native import NativeStatus
from ttsengine.voice import load_voice


def test_auto_prefers_onnxruntime_on_cpu_for_exported_voices():
    # The bundled default voice ships its ONNX graphs: ONNX Runtime is the faster CPU path.
    synth = Synthesizer("default", device="cpu")
    assert synth.backend == "onnxruntime" and synth.device == "cpu"


def test_auto_falls_back_to_torch_without_onnx_graphs(tiny_voice):
    synth = Synthesizer(tiny_voice, device="cpu")
    assert synth.backend == "torch"
    with pytest.raises(BackendUnavailableError, match="ttsengine export"):
        Synthesizer(tiny_voice, backend="onnxruntime", device="cpu")


def test_default_voice_synthesizes_without_torch(tmp_path):
    code = """
import importlib.abc, sys


class NoTorch(importlib.abc.MetaPathFinder):
    # as if torch were not installed: `import torch` fails and sys.modules has no "torch" entry
    # (scipy's array-API helpers, used by the 22,050 -> 24,000 Hz resampler, read
    # sys.modules["torch"] and break on the None that `sys.modules["torch"] = None` leaves)
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"No module named {name!r}")


sys.meta_path.insert(0, NoTorch())
import ttsengine
from ttsengine import Synthesizer, available_backends, backend_report
assert "torch" not in available_backends(), available_backends()
assert "not installed" in backend_report()["torch"].reason
synth = Synthesizer("default")
audio = synth.synthesize("Hello without torch. Two sentences, in one call.")
chunks = list(synth.synthesize_stream("Streaming works too."))
assert "torch" not in sys.modules
print(synth.backend, synth.device, round(audio.duration, 2), len(chunks))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    backend, device, duration, chunks = result.stdout.split()
    assert (backend, device) == ("onnxruntime", "cpu")
    assert float(duration) > 1.0 and int(chunks) >= 1


_AUTO_WITH_TORCH_INSTALLED = r"""
import sys, time
started = time.perf_counter()
from ttsengine import Synthesizer
synth = Synthesizer(sys.argv[1], device=sys.argv[2], backend="auto")
seconds = time.perf_counter() - started
print(synth.backend, synth.device, "torch" in sys.modules, round(seconds, 2))
"""


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_auto_on_a_cpu_machine_never_imports_torch(small_onnx_voice, tmp_path, device):
    # torch IS installed here; choosing ONNX Runtime must not import it just to ask about a GPU
    # (it used to: torch.cuda.is_available(), 4.45 s instead of ~1 s, and torch's memory).
    # CUDA_VISIBLE_DEVICES="" makes any machine a CPU-only one for the subprocess.
    pytest.importorskip("torch")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", _AUTO_WITH_TORCH_INSTALLED, str(small_onnx_voice), device],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    backend, chosen_device, torch_imported, _seconds = result.stdout.split()
    assert (backend, chosen_device) == ("onnxruntime", "cpu")
    assert torch_imported == "False", "auto imported torch on a CPU-only machine"


def _native(state):
    return lambda name: NativeStatus(name, state, "test")


@pytest.mark.parametrize("native_state, driver_devices, expected", [
    ("ok", 0, True),               # _cuda built and sees a device
    ("no GPU", 0, False),          # _cuda built, no device, and the driver agrees
    ("no GPU", 1, True),           # _cuda's runtime newer than the driver: the driver (and torch) still see one
    ("not compiled", 1, True),     # no _cuda: the CUDA driver answers
    ("not compiled", 0, False),
    ("import failed", 0, False),
])
def test_gpu_probe_asks_cuda_then_the_driver_not_torch(monkeypatch, native_state, driver_devices, expected):
    import ttsengine.native

    monkeypatch.setattr(ttsengine.native, "native_status", _native(native_state))
    monkeypatch.setattr(backends, "_cuda_driver_devices", lambda: driver_devices)
    assert backends._cuda_available() is expected


@pytest.mark.parametrize("gpu, expected", [(False, ["onnxruntime", "torch"]), (True, ["torch", "onnxruntime"])])
def test_auto_order_follows_the_gpu_probe(small_onnx_voice, monkeypatch, gpu, expected):
    monkeypatch.setattr(backends, "_cuda_available", lambda: gpu)
    status = backends._status
    monkeypatch.setattr(backends, "_status", lambda name: backends.BackendStatus(name, False, "test")
                        if name == "tensorrt" else status(name))
    if not all(status(name).available for name in ("torch", "onnxruntime")):
        pytest.skip("needs torch and onnxruntime")
    assert backends._auto_order(load_voice(small_onnx_voice), "auto") == expected
    assert backends._auto_order(load_voice(small_onnx_voice), "cpu") == ["onnxruntime", "torch"]


def test_cuda_driver_probe_without_a_driver(monkeypatch):
    import ctypes

    def no_library(name, *args, **kwargs):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert backends._cuda_driver_devices() == 0


@pytest.mark.parametrize("device", ["cuda:\u00b2", "cuda:\u0661", "cuda:-1", "cuda:x"])
def test_device_index_must_be_ascii_digits(tiny_voice, device):
    from ttsengine.errors import InvalidInputError

    with pytest.raises((InvalidInputError, BackendUnavailableError)):
        Synthesizer(tiny_voice, device=device)
