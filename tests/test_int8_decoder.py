"""The int8 decoder graph (``ttsengine export --int8``, :mod:`ttsengine.export.int8`) on a
tiny seeded voice: how it is recorded and checked, which precision runs it, and that it
stays within :data:`ttsengine.export.verify.INT8_MEL_SNR_DB` of the fp32 graphs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

from ttsengine import Synthesizer  # noqa: E402
from ttsengine.errors import BackendUnavailableError, InvalidInputError, VoiceLoadError  # noqa: E402
from ttsengine.export.int8 import QUANTIZED_OPS, add_int8_decoder, calibration_sentences  # noqa: E402
from ttsengine.export.onnx_export import ExportError, export_voice, sha256_file  # noqa: E402
from ttsengine.export.verify import INT8_MEL_SNR_DB, verify_bundle  # noqa: E402
from ttsengine.voice import contract, load_voice  # noqa: E402


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(tmp_path_factory.mktemp("int8-src") / "tiny", name="tiny-int8",
                               acoustic_size="tiny", vocoder="v2", speakers=("ann", "ben"), seed=5)


@pytest.fixture(scope="module")
def bundle(source, tmp_path_factory):
    return export_voice(source, tmp_path_factory.mktemp("int8-out") / "bundle", int8=True)


@pytest.fixture(scope="module")
def plain(source, tmp_path_factory):
    """The same voice exported without --int8."""
    return export_voice(source, tmp_path_factory.mktemp("int8-plain") / "bundle")


def test_voice_json_records_the_int8_decoder(bundle):
    entry = json.loads((bundle / "voice.json").read_text())["onnx"]["graphs"]
    decoder = entry["decoder"]
    assert decoder["int8"] == "onnx/decoder.int8.onnx" == f"onnx/{contract.graph_filename('decoder', 'int8')}"
    assert decoder["sha256"]["int8"] == sha256_file(bundle / decoder["int8"])
    assert decoder["int8_calibration"]["ops"] == list(QUANTIZED_OPS)
    assert "calibration.json" in decoder["int8_calibration"]["sentences"]
    assert all("int8" not in entry[g] for g in ("encoder", "vocoder"))
    assert load_voice(bundle).onnx["graphs"]["decoder"]["int8"] == decoder["int8"]


def test_only_the_convolutions_are_int8(bundle):
    model = onnx.load(str(bundle / "onnx" / "decoder.int8.onnx"))
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    int8 = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8}
    conv_weights = {n.input[1] for n in model.graph.node if n.op_type == "Conv"}
    dequantized = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    assert conv_weights and all(dequantized.get(w) in int8 for w in conv_weights), "every Conv weight is int8"
    for node in model.graph.node:  # attention's MatMuls take fp32 weights
        if node.op_type == "MatMul":
            assert not any(dequantized.get(i) in int8 for i in node.input), node.name


def test_auto_runs_int8_on_cpu_and_fp32_stays_the_reference(bundle, plain):
    assert Synthesizer(bundle, device="cpu").precision == "int8"
    assert Synthesizer(bundle, device="cpu", precision="fp32").precision == "fp32"
    assert Synthesizer(plain, device="cpu").precision == "fp32"
    text = "The decoder runs in int8 on a CPU."
    a = Synthesizer(bundle, device="cpu", precision="int8").synthesize(text, speaker="ben").samples
    b = Synthesizer(plain, device="cpu", precision="fp32").synthesize(text, speaker="ben").samples
    assert a.shape == b.shape and np.isfinite(a).all()  # same durations: the encoder is fp32
    assert not np.array_equal(a, b)


def test_verify_holds_int8_to_its_tolerance(bundle):
    report = verify_bundle(bundle, num_threads=1)
    assert {c.precision for c in report.cases} == {"fp32", "int8"}
    int8 = [c for c in report.cases if c.precision == "int8"]
    assert report.passed, report.format_table()
    assert all(c.frame_mismatches == 0 for c in int8)
    assert min(c.mel.snr_db for c in int8) >= INT8_MEL_SNR_DB
    assert max(c.mel.max_abs for c in int8) > 0  # it is another graph, not the fp32 one again


def test_verify_fails_an_int8_graph_of_other_weights(bundle, tmp_path, tmp_path_factory):
    """A decoder quantized from another voice's weights is caught by the mel SNR."""
    from ttsengine.voice_factory import create_random_voice

    other = create_random_voice(tmp_path_factory.mktemp("int8-other") / "o", name="o", acoustic_size="tiny",
                                vocoder="v2", speakers=("ann", "ben"), seed=6)
    other = export_voice(other, tmp_path / "other", int8=True)
    swapped = tmp_path / "swapped"
    shutil.copytree(bundle, swapped)
    shutil.copy(other / "onnx" / "decoder.int8.onnx", swapped / "onnx" / "decoder.int8.onnx")
    content = json.loads((swapped / "voice.json").read_text())
    content["onnx"]["graphs"]["decoder"]["sha256"]["int8"] = sha256_file(swapped / "onnx" / "decoder.int8.onnx")
    (swapped / "voice.json").write_text(json.dumps(content))
    report = verify_bundle(swapped, precisions=("int8",), num_threads=1)
    assert not report.passed
    assert any("mel SNR" in f for c in report.cases for f in c.failures)


def test_int8_requests_that_cannot_run_say_why(bundle, plain):
    with pytest.raises(BackendUnavailableError, match="--int8"):
        Synthesizer(plain, device="cpu", backend="onnxruntime", precision="int8")
    with pytest.raises(BackendUnavailableError, match="onnxruntime"):
        Synthesizer(bundle, device="cpu", backend="torch", precision="int8")
    with pytest.raises(InvalidInputError, match="int8"):
        Synthesizer(bundle, device="cpu", precision="int4")


def test_a_modified_int8_graph_or_a_misplaced_entry_is_refused(bundle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    with open(broken / "onnx" / "decoder.int8.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(VoiceLoadError, match="sha256"):
        Synthesizer(broken, device="cpu", precision="int8")
    Synthesizer(broken, device="cpu", precision="fp32")  # the fp32 graphs are untouched
    misplaced = tmp_path / "misplaced"
    shutil.copytree(bundle, misplaced)
    content = json.loads((misplaced / "voice.json").read_text())
    graphs = content["onnx"]["graphs"]
    graphs["encoder"]["int8"] = graphs["decoder"]["int8"]
    graphs["encoder"]["sha256"]["int8"] = graphs["decoder"]["sha256"]["int8"]
    (misplaced / "voice.json").write_text(json.dumps(content))
    with pytest.raises(VoiceLoadError, match="only decoder may have an int8 graph"):
        load_voice(misplaced)


def test_calibration_sentences_follow_the_front_ends_languages():
    english = calibration_sentences(("en-us",))
    assert len(english) >= 32 and {code for code, _ in english} == {"en"}
    both = calibration_sentences(("zh", "en-us"))
    assert {code for code, _ in both} == {"zh", "en"} and len(both) > len(english)
    assert calibration_sentences(("xx",)) == english  # a front end of none of them: English
    held_out = set()
    from pathlib import Path

    for name in ("heldout_sentences.txt", "heldout_zh.txt", "heldout_mixed.txt"):
        path = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / name
        held_out |= {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    assert not held_out & {sentence for _, sentence in both}, "calibration must not see held-out sentences"


def test_add_int8_decoder_needs_exported_graphs(source):
    with pytest.raises(ExportError, match="ttsengine export"):
        add_int8_decoder(source)


def test_export_cli_takes_int8():
    import argparse

    from ttsengine.export.onnx_export import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["v", "-o", "d", "--int8"]).int8 is True
    assert parser.parse_args(["v", "-o", "d"]).int8 is False
