"""ONNX export, fp16 conversion and parity verification on a tiny seeded voice (CPU)."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

from ttsengine.errors import VoiceLoadError  # noqa: E402
from ttsengine.voice import contract  # noqa: E402
from ttsengine.export.onnx_export import ExportError, export_voice, sha256_file  # noqa: E402
from ttsengine.export.verify import TOLERANCES, verify_bundle  # noqa: E402

SPEAKERS = ("ann", "ben", "cyd")


@pytest.fixture(scope="session")
def source_voice(tmp_path_factory):
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(
        tmp_path_factory.mktemp("export-src") / "tiny", name="tiny-export", acoustic_size="tiny",
        vocoder="v2", speakers=SPEAKERS, seed=3,
    )


@pytest.fixture(scope="session")
def exported(source_voice, tmp_path_factory):
    """The tiny voice exported with fp32 and fp16 graphs (the expensive step, done once)."""
    return export_voice(source_voice, tmp_path_factory.mktemp("export-out") / "bundle", fp16=True)


@pytest.fixture(scope="session")
def report(exported):
    return verify_bundle(exported, num_threads=1)


def _dims(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def _dtype(value):
    return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name


@pytest.mark.parametrize("precision", contract.PRECISIONS)
@pytest.mark.parametrize("graph", contract.GRAPH_NAMES)
def test_graphs_are_valid_and_follow_the_contract(exported, graph, precision):
    from ttsengine.voice import load_voice

    voice = load_voice(exported)
    path = exported / "onnx" / contract.graph_filename(graph, precision)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == 17
    spec = contract.io_contract(int(voice.acoustic["hparams"]["d_model"]), 80, 256)[graph]
    for kind, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        assert [v.name for v in values] == list(spec[kind])
        for value in values:
            want = spec[kind][value.name]
            assert _dtype(value) == want["dtype"], f"{graph}.{value.name}: I/O stays {want['dtype']} in {precision}"
            dims = _dims(value)
            assert len(dims) == len(want["shape"])
            for got, expected in zip(dims, want["shape"]):
                if isinstance(expected, int):
                    assert got == expected, (value.name, dims)
                elif expected in ("batch", "tokens", "frames"):
                    assert got == expected, f"{value.name} axis should be the dynamic {expected!r}: {dims}"
                else:  # the wave's frames*256 axis: any symbolic (dynamic) dimension
                    assert isinstance(got, str) and got, (value.name, dims)
    names = [i.name for i in model.graph.initializer]
    assert not [n for n in names if "original0" in n or "original1" in n or "weight_g" in n or "weight_v" in n], (
        "weight norm must be folded before export"
    )
    half = sum(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
    assert (half > 0) == (precision == "fp16"), f"{half} fp16 initializers in the {precision} graph"


def test_voice_json_records_the_graphs(exported, source_voice):
    from ttsengine.models.hifigan import HiFiGANConfig, hifigan_receptive_field

    data = json.loads((exported / "voice.json").read_text())
    source = json.loads((source_voice / "voice.json").read_text())
    assert data["format_version"] == 1
    assert data["acoustic"] == source["acoustic"] and data["frontend"] == source["frontend"]
    assert data["vocoder"]["receptive_field_frames"] == hifigan_receptive_field(
        HiFiGANConfig.from_dict(source["vocoder"]["hparams"])
    )
    section = data["onnx"]
    assert section["opset"] == 17
    assert {"ttsengine", "torch", "onnx"} <= set(section["exported_with"])
    assert set(section["graphs"]) == set(contract.GRAPH_NAMES)
    for graph, entry in section["graphs"].items():
        for precision in contract.PRECISIONS:
            assert entry[precision] == f"onnx/{contract.graph_filename(graph, precision)}"
            assert entry["sha256"][precision] == sha256_file(exported / entry[precision])
        assert list(entry["inputs"]) == list(contract.io_contract(1, 1, 1)[graph]["inputs"])
    assert section["graphs"]["vocoder"]["outputs"]["wave"]["shape"] == ["batch", "frames*256"]
    for name in ("acoustic.safetensors", "vocoder.safetensors"):
        assert sha256_file(exported / name) == sha256_file(source_voice / name)
    assert not [p.name for p in exported.iterdir() if p.name.startswith(".export-")], "staging left behind"


def test_dynamic_axes_run_at_other_sizes(exported):
    """Batch 1 and 4, lengths unlike the traced ones (11 tokens, 29/17 frames)."""
    sessions = {g: ort.InferenceSession(str(exported / "onnx" / f"{g}.onnx"), providers=["CPUExecutionProvider"])
                for g in contract.GRAPH_NAMES}
    for batch, tokens, frames in ((1, 1, 1), (4, 57, 203)):
        hidden, logd = sessions["encoder"].run(None, {
            "tokens": np.ones((batch, tokens), np.int64), "token_lengths": np.full(batch, tokens, np.int64),
            "speakers": np.zeros(batch, np.int64)})
        assert hidden.shape == (batch, tokens, 32) and logd.shape == (batch, tokens)
        (mel,) = sessions["decoder"].run(None, {
            "frames": np.zeros((batch, frames, 32), np.float32), "frame_lengths": np.full(batch, frames, np.int64)})
        assert mel.shape == (batch, 80, frames)
        (wave,) = sessions["vocoder"].run(None, {"mel": mel, "frame_lengths": np.full(batch, frames, np.int64)})
        assert wave.shape == (batch, frames * 256)


def test_fp16_keeps_sensitive_ops_in_fp32(exported):
    """LayerNorm, Softmax and the position encoding (everything feeding Sin/Cos) run in fp32."""
    from ttsengine.export.fp16 import position_encoding_nodes

    model = onnx.shape_inference.infer_shapes(onnx.load(str(exported / "onnx" / "decoder.fp16.onnx")))
    values = (*model.graph.value_info, *model.graph.input, *model.graph.output)
    types = {v.name: v.type.tensor_type.elem_type for v in values}
    types.update({i.name: i.data_type for i in model.graph.initializer})
    checked = 0
    pe = set(position_encoding_nodes(model))
    for node in model.graph.node:
        sensitive = node.op_type in ("LayerNormalization", "Softmax", "Sin", "Cos")
        if sensitive or (node.name in pe and node.op_type == "Mul"):
            assert types.get(node.input[0]) == onnx.TensorProto.FLOAT, f"{node.op_type} {node.name} runs in fp16"
            checked += 1
    assert checked >= 6, checked  # 2 LayerNorm + Softmax + Sin + Cos + the angle Mul in the tiny decoder
    assert any(types.get(n.input[1]) == onnx.TensorProto.FLOAT16 for n in model.graph.node if n.op_type == "MatMul")


def test_verify_passes_fp32_and_fp16(report):
    assert {c.precision for c in report.cases} == {"fp32", "fp16"}
    assert len(report.cases) == 10 and {c.speed for c in report.cases} == {0.8, 1.0, 1.3}
    assert any(len(c.token_lengths) == 3 for c in report.cases) and any(len(c.token_lengths) == 1 for c in report.cases)
    assert report.passed, report.format_table()
    fp32, fp16 = report.worst("fp32"), report.worst("fp16")
    # Measured on this voice: durations 1.2e-7, mel 1.4e-6, wave 7.9e-9 max-abs (tolerance 1e-3).
    assert fp32["log_durations_max_abs"] <= 1e-3 and fp32["frame_mismatches"] == 0, fp32
    assert fp32["mel_max_abs"] <= TOLERANCES["fp32"].mel_max_abs, fp32
    assert fp32["wave_max_abs"] <= TOLERANCES["fp32"].wave_max_abs, fp32
    # Measured on this voice: mel SNR 67.2 dB, wave SNR 62.4 dB (worst case; bound 40 dB).
    assert fp16["mel_snr_db"] >= 40.0 and fp16["wave_snr_db"] >= 40.0, fp16
    table = report.format_table()
    assert "PASSED" in table and "fp16" in table and "SNR" in table


def test_verify_fails_when_graphs_and_weights_disagree(exported, tmp_path, capsys):
    """Graphs exported from other weights than the bundle's safetensors: parity fails."""
    from ttsengine.export.verify import run
    from ttsengine.voice_factory import create_random_voice

    other = create_random_voice(tmp_path / "other", name="other", acoustic_size="tiny", vocoder="v2",
                                speakers=SPEAKERS, seed=4)
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    shutil.copyfile(other / "acoustic.safetensors", broken / "acoustic.safetensors")
    args = argparse.Namespace(bundle=str(broken), precision=["fp32"], seed=0, threads=1, vocoder="hifigan")
    assert run(args) == 1
    table = capsys.readouterr().out
    # Measured: log-durations off by 0.1-0.26, mel by 2.3-3.3 (tolerance 1e-3) in every case.
    assert table.rstrip().endswith("FAILED") and table.count(" | NO") == 5, table


def test_verify_rejects_modified_graph_and_missing_graphs(exported, source_voice, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(exported, tampered)
    with open(tampered / "onnx" / "vocoder.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(VoiceLoadError, match="sha256"):
        verify_bundle(tampered, precisions=["fp32"])
    with pytest.raises(VoiceLoadError, match="ttsengine export"):
        verify_bundle(source_voice)


def test_refuses_to_overwrite_without_force(exported, source_voice, tmp_path):
    before = sha256_file(exported / "voice.json")
    with pytest.raises(ExportError, match="--force"):
        export_voice(source_voice, exported)
    assert sha256_file(exported / "voice.json") == before
    other = tmp_path / "not-empty"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty"):
        export_voice(source_voice, other)
    with pytest.raises(ExportError, match="source voice"):
        export_voice(source_voice, source_voice)
    with pytest.raises(ExportError, match="opset"):
        export_voice(source_voice, tmp_path / "new", opset=11)
    assert not (tmp_path / "new").exists()


def test_cli_functions(exported, report, capsys, monkeypatch):
    from ttsengine.export import onnx_export, verify

    parser = argparse.ArgumentParser()
    onnx_export.add_arguments(parser)
    args = parser.parse_args(["default", "-o", str(exported), "--fp16", "--opset", "18"])
    assert (args.voice, args.fp16, args.opset, args.force) == ("default", True, 18, False)
    with pytest.raises(ExportError):
        onnx_export.run(args)
    parser = argparse.ArgumentParser()
    verify.add_arguments(parser)
    args = parser.parse_args([str(exported), "--precision", "fp32", "--precision", "fp16", "--threads", "2"])
    assert (args.bundle, args.precision, args.seed, args.threads) == (str(exported), ["fp32", "fp16"], 0, 2)
    calls = []
    monkeypatch.setattr(verify, "verify_bundle", lambda *a, **k: calls.append((a, k)) or report)
    assert verify.run(args) == 0
    assert calls == [((str(exported),), {"precisions": ["fp32", "fp16"], "seed": 0, "num_threads": 2,
                                         "vocoder": "hifigan"})]
    assert "PASSED" in capsys.readouterr().out


def test_export_modules_import_light():
    import subprocess
    import sys

    code = (
        "import sys, ttsengine.export, ttsengine.export.onnx_export, ttsengine.export.verify, "
        "ttsengine.export.fp16, ttsengine.voice.contract; "
        "print(','.join(m for m in ('torch', 'onnx', 'onnxruntime', 'onnxslim') if m in sys.modules))"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as cwd:  # the installed package, not the source tree
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd).stdout
    assert out.strip() == "", f"importing the export package pulled in {out.strip()}"


def test_weights_stored_in_fp16_halve_the_bundle_and_keep_parity(source_voice, tmp_path):
    from safetensors.torch import load_file

    from ttsengine.voice import load_voice

    out = export_voice(source_voice, tmp_path / "half", weights="fp16")
    src, half = load_voice(source_voice), load_voice(out)
    for name in ("acoustic.safetensors", "vocoder.safetensors"):
        tensors = load_file(str(out / name))
        assert {str(t.dtype) for t in tensors.values()} <= {"torch.float16", "torch.int64"}
        assert (out / name).stat().st_size < 0.55 * (src.path / name).stat().st_size
    for graph in ("encoder", "decoder", "vocoder"):
        model = onnx.load(str(out / half.onnx["graphs"][graph]["fp32"]))
        kinds = {init.data_type for init in model.graph.initializer if init.name.endswith("__fp16")}
        assert kinds == {onnx.TensorProto.FLOAT16}
    rep = verify_bundle(out, num_threads=1)  # torch (fp16-stored weights) against ORT: same rounding
    assert rep.passed, rep.format_table()
    # re-exporting a bundle that already has graphs (e.g. after changing the exporter)
    again = export_voice(out, tmp_path / "again", weights="fp16")
    assert load_voice(again).onnx["graphs"]["decoder"]["fp32"] == "onnx/decoder.onnx"
    with pytest.raises(ExportError, match="weights must be"):
        export_voice(source_voice, tmp_path / "bad", weights="int8")
