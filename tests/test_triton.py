"""`ttsengine export-triton`: a Triton model repository from an exported voice (CPU, offline).

No Triton server can run here. What is checked instead: every generated config.pbtxt
parses with tritonclient's model-config schema (``model_config_pb2.ModelConfig``), and
every copied graph runs in ONNX Runtime on inputs shaped the way Triton would hand them
over (batch 2, the implicit batch axis and ``reshape`` applied), its outputs matching the
config's shapes and data types. The client pipeline printed in the generated README is run
against the same stand-in and compared with ttsengine's own onnxruntime backend.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

from ttsengine import cli  # noqa: E402
from ttsengine.errors import InvalidInputError, TTSEngineError, VoiceLoadError  # noqa: E402
from ttsengine.voice.contract import GRAPH_NAMES, graph_filename  # noqa: E402
from ttsengine.export.onnx_export import ExportError  # noqa: E402
from ttsengine.export.triton import TritonOptions, export_triton, model_configs  # noqa: E402
from ttsengine.voice import load_voice  # noqa: E402

_NP = {"TYPE_INT64": np.int64, "TYPE_FP32": np.float32, "TYPE_FP16": np.float16, "TYPE_INT32": np.int32}
_WIRE = {"INT64": "TYPE_INT64", "FP32": "TYPE_FP32"}


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def exported(tiny_voice, tmp_path_factory):
    """The tiny test voice exported with fp32 and fp16 graphs (the expensive step, once)."""
    from ttsengine.export.onnx_export import export_voice

    return export_voice(tiny_voice, tmp_path_factory.mktemp("triton-src") / "bundle", fp16=True)


@pytest.fixture(scope="module")
def pb2():
    """tritonclient's generated ``model_config_pb2`` (needs only protobuf: without the
    ``[grpc]`` extra, tritonclient.grpc's __init__ refuses to import, so the generated
    module is then loaded on its own)."""
    pytest.importorskip("tritonclient")
    try:
        from tritonclient.grpc import model_config_pb2
    except (ImportError, RuntimeError):
        import tritonclient

        path = Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
        spec = importlib.util.spec_from_file_location("tritonclient_grpc_model_config_pb2", path)
        model_config_pb2 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(model_config_pb2)
    return model_config_pb2


def _parse(pb2, path: Path):
    from google.protobuf import text_format

    return text_format.Parse(path.read_text(encoding="utf-8"), pb2.ModelConfig())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------- Triton stand-in
class _Model:
    """One model of a repository as Triton would run it: the parsed config and an ONNX
    Runtime session on ``1/model.onnx``, with Triton's shape rules applied on the way in
    and checked on the way out."""

    def __init__(self, pb2, directory: Path):
        self.config = _parse(pb2, directory / "config.pbtxt")
        assert self.config.name == directory.name
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(directory / "1" / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    @property
    def batched(self) -> bool:
        return self.config.max_batch_size > 0

    def _full(self, tensor) -> list[int]:
        """The tensor's shape inside the model: [-1 batch] + dims, or reshape.shape."""
        dims = list(tensor.reshape.shape) if tensor.HasField("reshape") else list(tensor.dims)
        return ([-1] + dims) if self.batched else dims

    @staticmethod
    def _fits(shape, dims) -> bool:
        return len(shape) == len(dims) and all(d == -1 or d == s for s, d in zip(shape, dims))

    def check_session_io(self) -> None:
        """What Triton's ONNX Runtime backend validates at load: names, data types, and the
        config's shapes compatible with the graph's (fixed axes equal; the batch axis and
        every -1 dynamic in the graph)."""
        for kind, declared, actual in (("input", self.config.input, self.session.get_inputs()),
                                       ("output", self.config.output, self.session.get_outputs())):
            assert [t.name for t in declared] == [a.name for a in actual], kind
            for tensor, info in zip(declared, actual):
                want = {"TYPE_INT64": "tensor(int64)", "TYPE_FP32": "tensor(float)"}[_dtype_name(tensor)]
                assert info.type == want, (tensor.name, info.type)
                full = self._full(tensor)
                assert len(full) == len(info.shape), (tensor.name, full, info.shape)
                for d, g in zip(full, info.shape):
                    if d == -1:
                        assert not isinstance(g, int), (tensor.name, full, info.shape)  # dynamic in the graph
                    else:
                        assert g == d, (tensor.name, full, info.shape)

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        batch = None
        feed = {}
        assert set(inputs) == {t.name for t in self.config.input}
        for tensor in self.config.input:
            array = inputs[tensor.name]
            assert array.dtype == _NP[_dtype_name(tensor)], (tensor.name, array.dtype)
            if self.batched:
                assert 1 <= array.shape[0] <= self.config.max_batch_size
                assert batch in (None, array.shape[0])
                batch = array.shape[0]
                assert self._fits(array.shape[1:], list(tensor.dims)), (tensor.name, array.shape)
                if tensor.HasField("reshape"):
                    array = array.reshape([batch] + list(tensor.reshape.shape))
            else:
                assert self._fits(array.shape, list(tensor.dims)), (tensor.name, array.shape)
            feed[tensor.name] = array
        names = [t.name for t in self.config.output]
        results = dict(zip(names, self.session.run(names, feed)))
        for tensor in self.config.output:
            value = results[tensor.name]
            assert value.dtype == _NP[_dtype_name(tensor)], (tensor.name, value.dtype)
            assert self._fits(value.shape, self._full(tensor)), (tensor.name, value.shape, self._full(tensor))
            if self.batched:
                assert value.shape[0] == batch
        return results


def _dtype_name(tensor) -> str:
    return tensor.DESCRIPTOR.fields_by_name["data_type"].enum_type.values_by_number[tensor.data_type].name


def _inputs_from_config(model: _Model, voice, batch: int = 2, length: int = 9, seed: int = 0):
    """Inputs shaped per the config (batch ``batch``, every -1 axis ``length``) with values
    the graphs accept: token ids of the voice, valid speakers, lengths <= ``length``."""
    rng = np.random.default_rng(seed)
    n_symbols = int(voice.acoustic["hparams"]["n_symbols"])
    lengths = np.array([length - 3 * row for row in range(batch)], dtype=np.int64)
    out = {}
    for tensor in model.config.input:
        dims = [length if d == -1 else d for d in tensor.dims]
        shape = ([batch] + dims) if model.batched else [batch if i == 0 else d for i, d in enumerate(dims)]
        dtype = _NP[_dtype_name(tensor)]
        if tensor.name.endswith("_lengths"):
            value = lengths.reshape(shape)
        elif tensor.name == "speakers":
            value = (np.arange(batch) % len(voice.speakers)).reshape(shape)
        elif tensor.name == "tokens":
            value = rng.integers(1, n_symbols, size=shape)
        else:
            value = rng.standard_normal(shape) - (4.0 if tensor.name == "mel" else 0.0)
        out[tensor.name] = np.ascontiguousarray(value, dtype=dtype)
    return out


def _expected_output_shape(graph: str, name: str, batch: int, length: int, voice) -> list[int]:
    d_model, n_mels, hop = int(voice.acoustic["hparams"]["d_model"]), voice.n_mels, voice.hop_length
    return {
        ("encoder", "hidden"): [batch, length, d_model], ("encoder", "log_durations"): [batch, length],
        ("decoder", "mel"): [batch, n_mels, length], ("vocoder", "wave"): [batch, length * hop],
    }[graph, name]


# ---------------------------------------------------------------------------------- tests
def test_repository_layout_and_configs_follow_the_contract(exported, tmp_path, pb2):
    voice = load_voice(exported)
    repo = tmp_path / "repo"
    written = export_triton(exported, repo)
    prefix = "tiny-en"
    assert list(written) == [f"{prefix}_{g}" for g in GRAPH_NAMES]
    assert sorted(p.name for p in repo.iterdir()) == sorted([*written, f"README.{prefix}.md"])
    for graph in GRAPH_NAMES:
        model = repo / f"{prefix}_{graph}"
        assert written[model.name] == model
        assert sorted(p.name for p in model.iterdir()) == ["1", "config.pbtxt"]
        assert [p.name for p in (model / "1").iterdir()] == ["model.onnx"]
        assert _sha256(model / "1" / "model.onnx") == voice.onnx["graphs"][graph]["sha256"]["fp32"]
        config = _parse(pb2, model / "config.pbtxt")
        assert config.name == model.name
        assert config.platform == "onnxruntime_onnx" and config.backend == "onnxruntime"
        assert config.max_batch_size == 8
        assert list(config.dynamic_batching.preferred_batch_size) == [2, 4, 8]
        assert config.dynamic_batching.max_queue_delay_microseconds == 1000
        assert len(config.instance_group) == 1
        group = config.instance_group[0]
        assert group.count == 1 and group.kind == pb2.ModelInstanceGroup.KIND_GPU and not group.gpus
        contract = voice.onnx["graphs"][graph]
        for declared, specs in ((config.input, contract["inputs"]), (config.output, contract["outputs"])):
            assert [t.name for t in declared] == list(specs)
            for tensor in declared:
                spec = specs[tensor.name]
                assert _dtype_name(tensor) == {"int64": "TYPE_INT64", "float32": "TYPE_FP32"}[spec["dtype"]]
                expected = [-1 if isinstance(d, str) else d for d in spec["shape"][1:]]  # batch is implicit
                if expected:
                    assert list(tensor.dims) == expected and not tensor.HasField("reshape")
                else:  # a [batch] tensor: dims [1] reshaped to [] (Triton's documented form)
                    assert list(tensor.dims) == [1]
                    assert tensor.HasField("reshape") and list(tensor.reshape.shape) == []
    d_model = int(voice.acoustic["hparams"]["d_model"])
    encoder = _parse(pb2, repo / f"{prefix}_encoder" / "config.pbtxt")
    assert [list(t.dims) for t in encoder.output] == [[-1, d_model], [-1]]
    vocoder = _parse(pb2, repo / f"{prefix}_vocoder" / "config.pbtxt")
    assert [list(t.dims) for t in vocoder.input] == [[voice.n_mels, -1], [1]]
    readme = (repo / f"README.{prefix}.md").read_text(encoding="utf-8")
    assert "length regulator" in readme and "never loaded by a Triton server" in readme


@pytest.mark.parametrize("precision,max_batch", [("fp32", 8), ("fp16", 8), ("fp32", 0)])
def test_graphs_run_on_inputs_shaped_per_config(exported, tmp_path, pb2, precision, max_batch):
    voice = load_voice(exported)
    repo = tmp_path / "repo"
    written = export_triton(exported, repo, precision=precision, options=TritonOptions(max_batch_size=max_batch))
    for graph in GRAPH_NAMES:
        directory = written[f"tiny-en_{graph}"]
        assert _sha256(directory / "1" / "model.onnx") == voice.onnx["graphs"][graph]["sha256"][precision]
        model = _Model(pb2, directory)
        assert model.config.max_batch_size == max_batch
        assert model.config.HasField("dynamic_batching") == (max_batch > 0)
        if max_batch == 0:  # every tensor carries its batch axis itself
            assert all(t.dims[0] == -1 and not t.HasField("reshape") for t in model.config.input)
        model.check_session_io()
        length = {"encoder": 9, "decoder": 13, "vocoder": 11}[graph]
        outputs = model.infer(_inputs_from_config(model, voice, batch=2, length=length))
        for name, value in outputs.items():
            assert list(value.shape) == _expected_output_shape(graph, name, 2, length, voice), (graph, name)
            assert value.dtype == np.float32 and np.isfinite(value).all()


class _FakeHttp(types.ModuleType):
    """A stand-in for ``tritonclient.http`` that serves a repository with :class:`_Model`."""

    def __init__(self, pb2, repo: Path):
        super().__init__("tritonclient.http")
        models: dict[str, _Model] = {}
        requests: list[str] = []
        self.requests = requests

        class InferInput:
            def __init__(self, name, shape, datatype):
                self.name, self.shape, self.datatype, self.data = name, list(shape), datatype, None

            def set_data_from_numpy(self, array):
                assert list(array.shape) == self.shape and _NP[_WIRE[self.datatype]] == array.dtype
                self.data = array

        class InferRequestedOutput:
            def __init__(self, name):
                self.name = name

        class Result:
            def __init__(self, values):
                self._values = values

            def as_numpy(self, name):
                return self._values[name]

        class InferenceServerClient:
            def __init__(self, url):
                self.url = url

            def infer(self, model_name, inputs, outputs=None):
                if model_name not in models:
                    models[model_name] = _Model(pb2, repo / model_name)
                model = models[model_name]
                for tensor in inputs:
                    declared = next(t for t in model.config.input if t.name == tensor.name)
                    assert _WIRE[tensor.datatype] == _dtype_name(declared)
                requests.append(model_name)
                values = model.infer({tensor.name: tensor.data for tensor in inputs})
                return Result({o.name: values[o.name] for o in outputs})

        self.InferInput, self.InferRequestedOutput = InferInput, InferRequestedOutput
        self.InferenceServerClient = InferenceServerClient


@pytest.mark.parametrize("max_batch", [8, 0])
def test_readme_client_pipeline_matches_the_onnxruntime_backend(exported, tmp_path, pb2, monkeypatch, max_batch):
    """The Python client printed in the README, run against the stand-in server, gives the
    samples ttsengine's onnxruntime backend gives for the same tokens."""
    from ttsengine import Synthesizer

    repo = tmp_path / "repo"
    export_triton(exported, repo, model_prefix="tiny", options=TritonOptions(max_batch_size=max_batch))
    readme = (repo / "README.tiny.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    fake = _FakeHttp(pb2, repo)
    package = types.ModuleType("tritonclient")
    package.http = fake
    monkeypatch.setitem(sys.modules, "tritonclient", package)
    monkeypatch.setitem(sys.modules, "tritonclient.http", fake)
    scope: dict = {}
    exec(compile(code, "README.tiny.md", "exec"), scope)
    assert fake.requests == ["tiny_encoder", "tiny_decoder", "tiny_vocoder"]

    synth = Synthesizer(exported, backend="onnxruntime", device="cpu", precision="fp32", num_threads=1)
    tokens, lengths, speakers = scope["tokens"], scope["token_lengths"], scope["speakers"]
    waves, frame_lengths = synth._pipeline.synthesize(tokens, lengths, speakers, 1.0, None, 100_000)
    reference = waves[0, : int(frame_lengths[0]) * synth.voice.hop_length]
    audio = scope["audio"]
    assert audio.dtype == np.float32 and audio.shape == reference.shape and len(audio) > 0
    np.testing.assert_allclose(audio, reference, atol=1e-5, rtol=0)


def test_options_reach_the_configs(exported, pb2, tmp_path):
    options = TritonOptions(max_batch_size=16, preferred_batch_sizes=(16, 4), max_queue_delay_us=250,
                            instance_kind="gpu", instances=2, gpus=(0, 1))
    configs = model_configs(exported, options=options, model_prefix="v1")
    assert list(configs) == ["v1_encoder", "v1_decoder", "v1_vocoder"]
    path = tmp_path / "config.pbtxt"
    path.write_text(configs["v1_decoder"], encoding="utf-8")
    config = _parse(pb2, path)
    assert config.name == "v1_decoder" and config.max_batch_size == 16
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 16]
    assert config.dynamic_batching.max_queue_delay_microseconds == 250
    assert config.instance_group[0].count == 2 and list(config.instance_group[0].gpus) == [0, 1]
    path.write_text(model_configs(exported, options=TritonOptions(instance_kind="cpu", max_batch_size=1))
                    ["tiny-en_vocoder"], encoding="utf-8")
    config = _parse(pb2, path)
    assert config.instance_group[0].kind == pb2.ModelInstanceGroup.KIND_CPU
    assert list(config.dynamic_batching.preferred_batch_size) == []


@pytest.mark.parametrize("options,message", [
    (TritonOptions(max_batch_size=-1), "max_batch_size"),
    (TritonOptions(max_batch_size=4, preferred_batch_sizes=(8,)), "preferred batch sizes"),
    (TritonOptions(max_batch_size=0, preferred_batch_sizes=(2,)), "max_batch_size > 0"),
    (TritonOptions(instances=0), "instances"),
    (TritonOptions(instance_kind="tpu"), "instance_kind"),
    (TritonOptions(instance_kind="cpu", gpus=(0,)), "gpus"),
])
def test_bad_options_are_refused(exported, options, message):
    with pytest.raises(InvalidInputError, match=message):
        model_configs(exported, options=options)


def test_refusals(exported, tiny_voice, tmp_path):
    with pytest.raises(ExportError, match="has no ONNX graphs: export it first"):
        export_triton(tiny_voice, tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(InvalidInputError, match="model prefix"):
        export_triton(exported, tmp_path / "a", model_prefix="../x")
    with pytest.raises(InvalidInputError, match="model prefix"):
        model_configs(exported, model_prefix="x\n")
    with pytest.raises(InvalidInputError, match="precision"):
        model_configs(exported, precision="int8")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "other").mkdir()
    with pytest.raises(ExportError, match="exists and is not empty; pass --force"):
        export_triton(exported, busy)
    assert [p.name for p in busy.iterdir()] == ["other"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="not a directory"):
        export_triton(exported, tmp_path / "file", force=True)

    # a bundle with fp32 graphs only: --precision fp16 names what is missing
    fp32_only = tmp_path / "fp32-only"
    shutil.copytree(exported, fp32_only)
    content = json.loads((fp32_only / "voice.json").read_text())
    for entry in content["onnx"]["graphs"].values():
        (fp32_only / entry.pop("fp16")).unlink()
        entry["sha256"].pop("fp16")
    (fp32_only / "voice.json").write_text(json.dumps(content))
    with pytest.raises(ExportError, match="no fp16 graphs for encoder, decoder, vocoder .*--fp16"):
        export_triton(fp32_only, tmp_path / "b", precision="fp16")
    assert not (tmp_path / "b").exists()

    # a graph changed since the export: refused, and nothing is left behind
    (fp32_only / "onnx" / graph_filename("decoder", "fp32")).write_bytes(b"not the exported graph")
    with pytest.raises(VoiceLoadError, match="sha256 does not match"):
        export_triton(fp32_only, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_force_replaces_only_this_voices_models(exported, tmp_path):
    voice = load_voice(exported)
    repo = tmp_path / "repo"
    export_triton(exported, repo, model_prefix="tiny_fp32")
    (repo / "someone_else" / "1").mkdir(parents=True)
    (repo / "someone_else" / "config.pbtxt").write_text('name: "someone_else"')
    (repo / "tiny_fp32_encoder" / "1" / "stale.txt").write_text("old")
    export_triton(exported, repo, model_prefix="tiny_fp16", precision="fp16", force=True)
    export_triton(exported, repo, model_prefix="tiny_fp32", force=True)
    assert sorted(p.name for p in repo.iterdir()) == sorted(
        ["someone_else", "README.tiny_fp16.md", "README.tiny_fp32.md"]
        + [f"tiny_{p}_{g}" for p in ("fp16", "fp32") for g in GRAPH_NAMES])
    assert (repo / "someone_else" / "config.pbtxt").read_text() == 'name: "someone_else"'
    assert not (repo / "tiny_fp32_encoder" / "1" / "stale.txt").exists()
    for precision in ("fp16", "fp32"):
        model = repo / f"tiny_{precision}_vocoder" / "1" / "model.onnx"
        assert _sha256(model) == voice.onnx["graphs"]["vocoder"]["sha256"][precision]
    assert not list(repo.glob(".export-triton-*"))


def test_default_voice_configs_parse(pb2, tmp_path):
    """The bundled voice (config text only: its graphs are not copied or run here)."""
    voice = load_voice("default")
    if not voice.onnx:
        pytest.skip("the bundled default voice has no ONNX graphs")
    d_model = int(voice.acoustic["hparams"]["d_model"])
    configs = model_configs("default")
    assert set(configs) >= {"default_encoder", "default_decoder", "default_vocoder"}
    for name, text in configs.items():
        path = tmp_path / f"{name}.pbtxt"
        path.write_text(text, encoding="utf-8")
        config = _parse(pb2, path)
        assert config.name == name and config.max_batch_size == 8
    path = tmp_path / "default_decoder.pbtxt"
    assert [list(t.dims) for t in _parse(pb2, path).input] == [[-1, d_model], [1]]


def test_cli(exported, tiny_voice, tmp_path, capsys):
    out = tmp_path / "repo"
    assert cli.main(["export-triton", str(exported), "-o", str(out), "--max-batch-size", "4",
                     "--preferred-batch-sizes", "2,4", "--instance-kind", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 3 Triton models (fp32)" in printed and "tritonserver --model-repository=" in printed
    assert "max_batch_size: 4" in (out / "tiny-en_encoder" / "config.pbtxt").read_text()
    # user errors: exit 2, one line on stderr
    for argv, message in (
        (["export-triton", str(exported), "-o", str(out)], "exists and is not empty; pass --force"),
        (["export-triton", str(tiny_voice), "-o", str(tmp_path / "x")], "has no ONNX graphs"),
        (["export-triton", str(exported), "-o", str(tmp_path / "y"), "--max-batch-size", "2",
          "--preferred-batch-sizes", "4"], "preferred batch sizes"),
        (["export-triton", str(tmp_path / "nowhere"), "-o", str(tmp_path / "z")], "not found"),
    ):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ttsengine: error: ") and message in err[0], err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    with pytest.raises(SystemExit):
        cli.main(["export-triton", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Not tested against a running Triton server" in help_text
    assert "length regulator" in help_text and "--precision {fp32,fp16}" in help_text


def test_errors_are_ttsengine_errors():
    assert issubclass(ExportError, TTSEngineError)
