"""Weights carried once: ONNX graphs whose initializers live in the bundle's safetensors
file (the default voice's HiFi-GAN), and bundled voices sharing another's vocoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ttsengine import Synthesizer
from ttsengine.errors import VoiceLoadError
from ttsengine.voice import load_voice
from ttsengine.voice import schema as voice_schema

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

TEXT = "Carried once, spoken the same."
DEFAULT = Path(__file__).resolve().parents[1] / "ttsengine" / "voices" / "default"


def test_default_voice_carries_hifigan_once():
    """The vocoder graph holds no copy of the HiFi-GAN weights (27.8 MB in
    vocoder.safetensors): every large initializer refers into the safetensors file."""
    voice = load_voice("default")
    graph = DEFAULT / voice.onnx["graphs"]["vocoder"]["fp32"]
    assert graph.stat().st_size < 1_000_000, graph.stat().st_size
    model = onnx.load(str(graph), load_external_data=False)
    linked = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert len(linked) == len(voice.onnx["graphs"]["vocoder"]["weights"]["fp32"]["tensors"]) > 90
    assert {e.value for t in linked for e in t.external_data if e.key == "location"} == {"../vocoder.safetensors"}
    total = sum(f.stat().st_size for f in DEFAULT.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    assert total < 45_000_000, total  # 72.5 MB with two copies of HiFi-GAN


@pytest.fixture(scope="module")
def linked(bundle_pair):
    return bundle_pair[1]


@pytest.fixture(scope="module")
def bundle_pair(tmp_path_factory):
    """(an exported tiny voice, the same with its vocoder graph linked to its weights)."""
    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice_factory import create_random_voice

    root = tmp_path_factory.mktemp("linked")
    plain = export_voice(create_random_voice(root / "src", name="tiny-link", acoustic_size="tiny", vocoder="v2",
                                             speakers=("a",), seed=3), root / "plain")
    copy = root / "linked"
    shutil.copytree(plain, copy)
    size = (copy / "onnx" / "vocoder.onnx").stat().st_size
    saved = link_graph_weights(copy, "vocoder")
    assert saved > 0.9 * size and (copy / "onnx" / "vocoder.onnx").stat().st_size < 0.1 * size
    return plain, copy


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_linked_graph_gives_the_same_audio(bundle_pair, backend):
    plain, linked = bundle_pair
    want = Synthesizer(plain, backend=backend, device="cpu", num_threads=1).synthesize(TEXT).samples
    got = Synthesizer(linked, backend=backend, device="cpu", num_threads=1).synthesize(TEXT).samples
    np.testing.assert_array_equal(got, want)


def test_self_contained_copy_for_other_tools(linked, tmp_path):
    import onnxruntime as ort

    from ttsengine.voice.onnx import self_contained_graph

    voice = load_voice(linked)
    with pytest.raises(Exception, match="outside the directory"):  # the onnx package refuses ../ paths
        onnx.load(str(linked / "onnx" / "vocoder.onnx"))
    copy = self_contained_graph(voice, "vocoder", "fp32", tmp_path)
    assert copy.parent == tmp_path
    onnx.checker.check_model(onnx.load(str(copy)))
    mel = np.random.default_rng(0).standard_normal((1, voice.n_mels, 20)).astype(np.float32)
    feeds = {"mel": mel, "frame_lengths": np.array([20])}
    want = ort.InferenceSession(str(Path(linked).parent / "plain" / "onnx" / "vocoder.onnx")).run(None, feeds)[0]
    np.testing.assert_array_equal(ort.InferenceSession(str(copy)).run(None, feeds)[0], want)
    assert self_contained_graph(voice, "encoder", "fp32", tmp_path) == linked / "onnx" / "encoder.onnx"


def _edit(bundle: Path, target: Path, change) -> Path:
    shutil.copytree(bundle, target)
    content = json.loads((target / "voice.json").read_text())
    change(content)
    (target / "voice.json").write_text(json.dumps(content))
    return target


def test_bad_weight_links_are_load_errors(linked, tmp_path):
    def missing_tensor(c):
        tensors = c["onnx"]["graphs"]["vocoder"]["weights"]["fp32"]["tensors"]
        tensors[next(iter(tensors))] = "no.such.tensor"

    def outside(c):
        c["onnx"]["graphs"]["vocoder"]["weights"]["fp32"]["file"] = "../elsewhere.safetensors"

    with pytest.raises(VoiceLoadError, match="no.such.tensor"):
        load_voice(_edit(linked, tmp_path / "a", missing_tensor))
    with pytest.raises(VoiceLoadError, match="leaves the bundle"):
        load_voice(_edit(linked, tmp_path / "b", outside))


def test_bundled_voices_share_a_vocoder(linked, tmp_path, monkeypatch):
    """A second bundled voice names the first's vocoder files instead of carrying a copy;
    the same bundle outside the bundled voices may not reach out of itself."""
    voices = tmp_path / "voices"
    shutil.copytree(linked, voices / "first")

    def share(c):
        c["name"] = "second"
        c["vocoder"]["weights"] = "../first/vocoder.safetensors"
        graph = c["onnx"]["graphs"]["vocoder"]
        graph["fp32"] = "../first/onnx/vocoder.onnx"
        graph["weights"]["fp32"]["file"] = "../first/vocoder.safetensors"

    second = _edit(linked, voices / "second", share)
    (second / "vocoder.safetensors").unlink()
    (second / "onnx" / "vocoder.onnx").unlink()
    monkeypatch.setattr(voice_schema, "BUNDLED_DIR", voices)
    want = Synthesizer(voices / "first", backend="onnxruntime", device="cpu", num_threads=1).synthesize(TEXT).samples
    for backend in ("onnxruntime", "torch"):
        got = Synthesizer(second, backend=backend, device="cpu", num_threads=1).synthesize(TEXT).samples
        np.testing.assert_allclose(got, want, atol=1e-4)
    monkeypatch.setattr(voice_schema, "BUNDLED_DIR", tmp_path / "elsewhere")
    with pytest.raises(VoiceLoadError, match="leaves the bundle"):
        load_voice(second)


def test_verify_reads_linked_graphs(linked):
    """`ttsengine verify` runs the linked graph (its initializers from the safetensors file)."""
    from ttsengine.export.verify import verify_bundle

    report = verify_bundle(linked, num_threads=1)
    assert report.passed, report.cases
