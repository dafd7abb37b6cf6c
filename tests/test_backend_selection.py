"""`auto` backend selection, and torch-free inference with the bundled default voice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ttsengine import Synthesizer
from ttsengine.errors import BackendUnavailableError


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
import sys
sys.modules["torch"] = None  # every `import torch` now raises ImportError
import ttsengine
from ttsengine import Synthesizer, available_backends, backend_report
assert "torch" not in available_backends(), available_backends()
assert "not installed" in backend_report()["torch"].reason
synth = Synthesizer("default")
audio = synth.synthesize("Hello without torch. Two sentences, in one call.")
chunks = list(synth.synthesize_stream("Streaming works too."))
print(synth.backend, synth.device, round(audio.duration, 2), len(chunks))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    backend, device, duration, chunks = result.stdout.split()
    assert (backend, device) == ("onnxruntime", "cpu")
    assert float(duration) > 1.0 and int(chunks) >= 1
