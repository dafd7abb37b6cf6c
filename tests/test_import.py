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
