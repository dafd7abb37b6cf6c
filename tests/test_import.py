"""`import ttsengine` stays light, and every submodule imports."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import ttsengine


def test_import_is_light(tmp_path):
    code = (
        "import sys, ttsengine; ttsengine.Synthesizer; ttsengine.backend_report(); "
        "heavy = [m for m in ('torch', 'onnx', 'onnxruntime', 'tensorrt', 'phonemizer', 'scipy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.strip() == "", f"import pulled in heavy modules: {result.stdout.strip()}"


def test_every_submodule_imports():
    names = [m.name for m in pkgutil.walk_packages(ttsengine.__path__, "ttsengine.") if m.name != "ttsengine.__main__"]
    assert "ttsengine.synthesizer" in names and "ttsengine._core" in names
    for name in names:
        importlib.import_module(name)


def test_public_names():
    for name in ttsengine.__all__:
        assert getattr(ttsengine, name) is not None
    from ttsengine.errors import BackendUnavailableError, InvalidInputError, TTSEngineError, VoiceLoadError

    assert issubclass(InvalidInputError, ValueError)
    for error in (InvalidInputError, VoiceLoadError, BackendUnavailableError):
        assert issubclass(error, TTSEngineError)


_WITHOUT_TORCH = r"""
import importlib, pkgutil, sys
sys.modules["torch"] = None  # every `import torch` now raises ImportError, as where torch is not installed
import ttsengine

imported, need_torch, other = [], [], []
def walk_error(name):
    exc = sys.exc_info()[1]
    (need_torch if isinstance(exc, ImportError) and exc.name == "torch" else other).append(f"{name}: {exc!r}")
for info in pkgutil.walk_packages(ttsengine.__path__, "ttsengine.", onerror=walk_error):
    if info.name == "ttsengine.__main__":
        continue
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except ImportError as exc:
        (need_torch if exc.name == "torch" else other).append(f"{info.name}: {exc!r}")
    except Exception as exc:
        other.append(f"{info.name}: {exc!r}")
assert not other, other

from ttsengine import Synthesizer
synth = Synthesizer(sys.argv[1], device="auto", backend="auto")
audio = synth.synthesize("Hello without torch.")
assert sys.modules["torch"] is None
print(" ".join(imported))
print(synth.backend, synth.device, audio.sample_rate, len(audio.samples) > 0)
"""

#: Everything a torch-free installation runs (Synthesizer on an exported voice, the CLI,
#: voice validation, the ONNX Runtime backend) must import without torch.
_TORCH_FREE = (
    "ttsengine.synthesizer", "ttsengine.voice", "ttsengine.backends", "ttsengine.backends.onnxruntime_backend",
    "ttsengine.backends.base", "ttsengine.native", "ttsengine.cli", "ttsengine.audio", "ttsengine.frontend",
    "ttsengine.voice.contract", "ttsengine.pipeline.workspace", "ttsengine.pipeline.streaming", "ttsengine.errors",
)


def test_every_submodule_imports_and_synthesizes_without_torch(small_onnx_voice, tmp_path):
    # Submodules that need torch may fail only with "No module named torch"; the rest import,
    # and a Synthesizer on an exported voice chooses ONNX Runtime and runs.
    result = subprocess.run([sys.executable, "-c", _WITHOUT_TORCH, str(small_onnx_voice)], capture_output=True,
                            text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    imported, run = result.stdout.strip().splitlines()[-2:]
    missing = sorted(set(_TORCH_FREE) - set(imported.split()))
    assert not missing, f"need torch but should not: {missing}"
    assert run.split() == ["onnxruntime", "cpu", "24000", "True"]
