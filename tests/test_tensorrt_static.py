"""TensorRT path, static checks: TensorRT itself cannot be installed here, so this tests
everything around it: every operator of the exported graphs is on TensorRT's documented
ONNX operator list, the optimization profiles match the graphs and cover every shape the
synthesizer requests, the engine cache keys, and the errors raised without TensorRT.
The engine build and the TensorRT runtime are NOT exercised by these tests."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ttsengine.errors import BackendUnavailableError, InvalidInputError
from ttsengine.limits import SPEED_RANGE, TOKEN_BUCKET, TOKENS_PER_CHAR, bucket, segment_frame_limit
from ttsengine.export import tensorrt_build as tb
from ttsengine.backends import tensorrt_cache as tc
from ttsengine.backends import tensorrt_profiles as tp
from ttsengine.voice.hashing import sha256_file
from ttsengine.pipeline import batch_slices
from ttsengine.voice.onnx import onnx_graph_paths
from ttsengine.voice import load_voice

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exported(tiny_voice, tmp_path_factory):
    """The tiny voice exported by `ttsengine export --fp16` (fp32 and fp16 graphs)."""
    from ttsengine.export.onnx_export import export_voice

    return load_voice(export_voice(tiny_voice, tmp_path_factory.mktemp("trt") / "tiny-onnx", fp16=True))


@pytest.fixture()
def no_tensorrt(monkeypatch):
    """Makes `import tensorrt` fail even on a machine that has it."""
    monkeypatch.setitem(sys.modules, "tensorrt", None)


def _graph_files(voice):
    graphs = voice.onnx["graphs"]
    return {
        (graph, precision): voice.path / graphs[graph][precision]
        for graph in ("encoder", "decoder", "vocoder")
        for precision in ("fp32", "fp16")
    }


# ------------------------------------------------------------------------ the data file
def test_operator_list_is_valid_data_with_its_source():
    data = tb.supported_ops()
    assert "onnx-tensorrt" in data["source"]["url"] and data["source"]["url"].endswith("docs/operators.md")
    assert data["tensorrt_version"].startswith("10."), data["tensorrt_version"]
    assert data["tensorrt_version"] in data["source"]["header"]
    low, high = data["opset_range"]
    assert low <= 17 <= high
    supported, unsupported = data["supported"], set(data["unsupported"])
    assert len(supported) >= 150 and not unsupported & set(supported), (len(supported), unsupported & set(supported))
    known_types = {"FP32", "FP16", "BF16", "FP8", "FP4", "INT4", "INT8", "UINT8", "INT32", "INT64", "BOOL"}
    for op, entry in supported.items():
        assert entry["types"] and set(entry["types"]) <= known_types, (op, entry)
    for op in ("Conv", "ConvTranspose", "MatMul", "LayerNormalization", "Softmax", "Where", "LeakyRelu"):
        assert op in supported
    for op in ("Unique", "StringNormalizer", "SequenceAt", "ConvInteger"):
        assert op in unsupported


# ------------------------------------------------------------------------ the graphs
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("graph", ["encoder", "decoder", "vocoder"])
def test_every_operator_of_the_exported_graphs_is_supported(exported, graph, precision):
    path = _graph_files(exported)[graph, precision]
    ops = tb.graph_ops(path)
    assert ops, f"no operators found in {path.name}"
    missing = tb.unsupported_ops(path)
    version = tb.supported_ops()["tensorrt_version"]
    assert not missing, f"{path.name}: not on TensorRT {version}'s ONNX operator list: {sorted(missing)} (all ops: {ops})"
    # Documented restrictions we can check (constant axes, opset range) and input types.
    assert tb.check_graph_for_tensorrt(path) == []
    print(f"{path.name}: {len(ops)} operator types, all supported: {', '.join(ops)}")


def test_operator_walk_agrees_with_onnx_graphsurgeon(exported):
    gs = pytest.importorskip("onnx_graphsurgeon")
    for (graph, precision), path in _graph_files(exported).items():
        model = onnx.load(str(path))
        counts: dict[str, int] = {}
        for node in gs.import_onnx(model).nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        # graphsurgeon sees Constant nodes as constants, not nodes
        ours = {op: n for op, n in tb.graph_ops(path).items() if op != "Constant"}
        assert ours == counts, (graph, precision)


def _model_with_subgraph_and_function(opset=17, unsqueeze_axes_constant=True):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
    then_branch = helper.make_graph(
        [helper.make_node("Unique", ["x"], ["u"])], "then", [], [helper.make_tensor_value_info("u", TensorProto.FLOAT, None)]
    )
    else_branch = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"])], "else", [], [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)]
    )
    function = helper.make_function(
        "local", "MyOp", ["a"], ["b"], [helper.make_node("Hardmax", ["a"], ["h"]), helper.make_node("Det", ["h"], ["b"])],
        [helper.make_opsetid("", opset)],
    )
    nodes = [
        helper.make_node("If", ["cond"], ["z"], then_branch=then_branch, else_branch=else_branch),
        helper.make_node("MyOp", ["z"], ["w"], domain="local"),
        helper.make_node("FusedMatMul", ["w", "w"], ["v"], domain="com.microsoft"),
        helper.make_node("Unsqueeze", ["v", "axes"], ["y"]),
    ]
    initializers = [helper.make_tensor("axes", TensorProto.INT64, [1], [0])] if unsqueeze_axes_constant else []
    inputs = [x, cond] + ([] if unsqueeze_axes_constant else [axes])
    graph = helper.make_graph(nodes, "g", inputs, [y], initializer=initializers)
    return helper.make_model(
        graph, functions=[function],
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("local", 1), helper.make_opsetid("com.microsoft", 1)],
    )


def test_operator_check_sees_subgraphs_functions_and_other_domains(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_model_with_subgraph_and_function(), str(path))
    ops = tb.graph_ops(path)
    assert set(ops) == {"If", "Unique", "Relu", "Hardmax", "Det", "com.microsoft::FusedMatMul", "Unsqueeze"}, ops
    assert tb.unsupported_ops(path) == {"Unique", "Det", "com.microsoft::FusedMatMul"}
    problems = tb.check_graph_for_tensorrt(path)
    assert len(problems) == 3 and all("not supported" in p for p in problems), problems

    bad = _model_with_subgraph_and_function(opset=8, unsqueeze_axes_constant=False)
    problems = tb.check_graph_for_tensorrt(bad)
    assert any("opset 8 is outside" in p for p in problems), problems
    assert any("Unsqueeze" in p and "must be a constant" in p for p in problems), problems


# ------------------------------------------------------------------------ profiles
def test_profiles_match_the_graph_inputs(exported):
    profiles = tp.profile_shapes(exported)
    d_model = int(exported.acoustic["hparams"]["d_model"])
    assert profiles["decoder"]["frames"][2] == (tp.DEFAULT_MAX_BATCH, tp.frame_bound(exported), d_model)
    assert profiles["vocoder"]["mel"][0] == (1, exported.n_mels, 1)
    for (graph, precision), path in _graph_files(exported).items():
        assert tb.check_graph_inputs(path, profiles[graph]) == [], (graph, precision)
    # The check can fail: a varying axis where the graph is fixed, a missing input, a wrong rank.
    wrong = dict(profiles["decoder"])
    wrong["frames"] = ((1, 1, 1), (1, 8, d_model), (8, 64, 2 * d_model))
    assert any("fixed at" in p for p in tb.check_graph_inputs(_graph_files(exported)["decoder", "fp32"], wrong))
    assert tb.check_graph_inputs(_graph_files(exported)["decoder", "fp32"], {"frames": wrong["frames"]})
    wrong["frame_lengths"] = ((1, 1), (1, 1), (8, 8))
    assert any("rank" in p for p in tb.check_graph_inputs(_graph_files(exported)["decoder", "fp32"], wrong))


def test_profile_arguments(exported):
    profiles = tp.profile_shapes(exported, max_batch=4, max_tokens=100, max_frames=300, opt={"tokens": 500, "batch": 2})
    assert profiles["encoder"]["tokens"] == ((1, 1), (2, 100), (4, 100))  # opt clamped to the max
    assert profiles["vocoder"]["frame_lengths"] == ((1,), (2,), (4,))
    assert profiles["vocoder"]["mel"][2] == (4, exported.n_mels, 300)
    for bad in ({"max_batch": 0}, {"max_tokens": -1}, {"max_frames": 1.5}, {"opt": {"speakers": 2}}):
        with pytest.raises(InvalidInputError):
            tp.profile_shapes(exported, **bad)


def _segment_requests(voice, segments, batch):
    """(graph, shapes) the synthesizer sends for a batch of these segments at their longest."""
    from ttsengine.limits import FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES
    from ttsengine.pipeline.streaming import plan_chunks

    d_model = int(voice.acoustic["hparams"]["d_model"])
    tokens = max(len(s.ids) for s in segments)
    frames = tp.frame_bound(voice)  # the longest segment the synthesizer lets through
    context = voice.vocoder["receptive_field_frames"] + 1
    requests = [
        ("encoder", {"tokens": (batch, tokens), "token_lengths": (batch,), "speakers": (batch,)}),
        ("decoder", {"frames": (batch, frames, d_model), "frame_lengths": (batch,)}),
        ("vocoder", {"mel": (batch, voice.n_mels, frames), "frame_lengths": (batch,)}),
        ("decoder", {"frames": (batch, 1, d_model), "frame_lengths": (batch,)}),
    ]
    for total in (1, 7, frames):  # streaming windows: one row, chunk + context on both sides
        for start, stop in plan_chunks(total, FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES):
            width = min(total, stop + context) - max(0, start - context)
            requests.append(("vocoder", {"mel": (1, voice.n_mels, width), "frame_lengths": (1,)}))
    return requests


def test_profiles_cover_what_the_synthesizer_requests(exported):
    from ttsengine.frontend import Frontend
    from ttsengine.limits import FRAME_BUCKET, MAX_SEGMENT_SECONDS

    frontend = Frontend.from_config(dict(exported.frontend))
    max_chars = frontend.max_segment_chars
    texts = {
        "prose": "The quick brown fox jumps over the lazy dog, and then it runs far away into the forest. " * 5,
        "numbers": "In 1999 it cost $3.50, on the 22nd it was 100% more: 2023, 4,096 and 3.14159. " * 4,
        "spelled letters (worst case found)": "ww " * 100,
        "one long word": "supercalifragilistic" * 20,
    }
    profiles = tp.profile_shapes(exported)
    worst = 0.0
    for name, text in texts.items():
        segments = frontend.segments(text)
        assert all(len(s.text) <= max_chars for s in segments)
        ratio = max(len(s.ids) / len(s.text) for s in segments)
        worst = max(worst, ratio)
        # synthesize / stream send batch 1, synthesize_batch up to its max_batch=16, which
        # the backend runs in pieces of the profile's batch (batch_slices)
        for requested in (1, 16):
            batch = max(s.stop - s.start for s in batch_slices(requested, tp.DEFAULT_MAX_BATCH))
            problems = tp.check_profiles_cover(profiles, _segment_requests(exported, segments, batch))
            assert problems == [], (name, batch, problems)
    # measured: ~1.2 tokens per character for prose, 7.0 for "ww ww ..." (espeak spells it out)
    assert worst <= tp.TOKENS_PER_CHAR["phonemes"], f"measured {worst:.2f} tokens per character"

    # The frames bound is the synthesizer's cap at the slowest speed, rounded up to a bucket.
    slowest = MAX_SEGMENT_SECONDS * exported.model_sample_rate / exported.hop_length / SPEED_RANGE[0]
    assert tp.frame_bound(exported) - FRAME_BUCKET < slowest < tp.frame_bound(exported) + 1

    # The check can fail: one token or frame beyond the profile is reported.
    tokens = tp.token_bound(exported)
    beyond = [("encoder", {"tokens": (1, tokens + 1), "token_lengths": (1,), "speakers": (1,)}),
              ("vocoder", {"mel": (1, exported.n_mels, tp.frame_bound(exported) + 1), "frame_lengths": (1,)}),
              ("decoder", {"frames": (tp.DEFAULT_MAX_BATCH + 1, 5, 32), "frame_lengths": (9,)})]
    problems = tp.check_profiles_cover(profiles, beyond)
    assert len(problems) == 4, problems  # the decoder request fails on both of its inputs


class _ShapeRecorder:
    """A runner for the CUDA pipeline (on the CPU) that records the shapes it is sent and
    predicts one token of ``frames`` frames at speed 1 (the rest of the row: none)."""

    io, dtype, max_batch, device = "torch", None, None, "cpu"

    def __init__(self):
        self.frames, self.requests = 0, []

    def encoder(self, tokens, token_lengths, speakers, hidden, log_durations):
        import math

        log_durations.zero_()
        log_durations[:, 0] = math.log1p(self.frames)
        self.requests.append(("encoder", {"tokens": tuple(tokens.shape), "token_lengths": tuple(token_lengths.shape),
                                          "speakers": tuple(speakers.shape)}))

    def decoder(self, expanded, frame_lengths, mel):
        self.requests.append(("decoder", {"frames": tuple(expanded.shape), "frame_lengths": tuple(frame_lengths.shape)}))

    def vocoder(self, mel, frame_lengths, wave):
        self.requests.append(("vocoder", {"mel": tuple(mel.shape), "frame_lengths": tuple(frame_lengths.shape)}))


@pytest.mark.parametrize("speed", [SPEED_RANGE[0], 0.1003, 0.25, 0.5, 0.77, 1.0, 2.0, SPEED_RANGE[1]])
def test_profiles_cover_the_bucketed_shapes_at_every_speed(exported, speed):
    """The longest segment the synthesizer lets through at ``speed`` (its frame limit grows
    as 1 / speed), with the most tokens a segment can have, run through the CUDA pipeline's
    buckets (tokens to multiples of 32, frames to 64), batch 1 and the profile's max batch:
    every shape it sends the engines is inside the default profiles."""
    import numpy as np
    import torch

    from ttsengine.pipeline.cuda import CudaPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    frame_limit = segment_frame_limit(exported.model_sample_rate, exported.hop_length, speed)
    profiles = tp.profile_shapes(exported)
    runner = _ShapeRecorder()
    dims = dict(d_model=int(exported.acoustic["hparams"]["d_model"]), n_mels=exported.n_mels, hop=exported.hop_length)
    pipeline = CudaPipeline(runner, device=torch.device("cpu"), dtype=torch.float32, limits=BufferLimits(),
                            graphs=False, **dims)
    for batch in (1, tp.DEFAULT_MAX_BATCH):
        for tokens in (1, tp.token_bound(exported) - 5, tp.token_bound(exported)):
            runner.frames = (frame_limit - 0.4) * speed  # frame_limit frames at ``speed``
            ids = np.ones((batch, tokens), dtype=np.int64)
            lengths = np.full(batch, tokens, dtype=np.int64)
            _, totals = pipeline.synthesize(ids, lengths, np.zeros(batch, np.int64), speed, None, frame_limit)
            assert int(totals.max()) == frame_limit
    assert any(r[0] == "decoder" and r[1]["frames"][1] > frame_limit for r in runner.requests)  # really bucketed
    problems = tp.check_profiles_cover(profiles, runner.requests)
    assert problems == [], problems[:3]


@pytest.mark.parametrize("kind", sorted(TOKENS_PER_CHAR))
@pytest.mark.parametrize("chars", [200, 193, 17])
def test_token_bound_is_a_token_bucket(exported, kind, chars):
    """A segment of the most tokens is padded to a multiple of TOKEN_BUCKET by the CUDA
    pipeline: the profile's max tokens is that bucket (pinyin: 200 chars x 2 = 400 tokens,
    padded to 416)."""
    import dataclasses

    voice = dataclasses.replace(exported, frontend={**exported.frontend, "kind": kind, "max_segment_chars": chars})
    most = chars * TOKENS_PER_CHAR[kind]
    assert tp.token_bound(voice) == bucket(most, TOKEN_BUCKET)
    assert tp.profile_shapes(voice)["encoder"]["tokens"][2][1] == bucket(most, TOKEN_BUCKET)


def test_token_bounds_of_the_other_frontends(exported):
    from ttsengine.frontend import Frontend, default_symbols

    for kind, language, text in (
        ("pinyin", "zh", "银行行长说，重庆的天气很好。我们明天去北京看看长城吧！" * 8),
        ("chars", "en", "The ﬁrst café in Zürich opened in 1999, naïvely. " * 8),
    ):
        frontend = Frontend(kind, default_symbols(kind, language), language)
        segments = frontend.segments(text)
        worst = max(len(s.ids) / len(s.text) for s in segments)
        assert worst <= tp.TOKENS_PER_CHAR[kind], f"{kind}: measured {worst:.2f} tokens per character"


def test_batch_slices():
    assert batch_slices(1, 8) == [slice(0, 1)]
    assert batch_slices(16, 8) == [slice(0, 8), slice(8, 16)]
    assert [s.stop - s.start for s in batch_slices(19, 8)] == [8, 8, 3]


# ------------------------------------------------------------------------ cache
def test_cache_key_changes_with_each_ingredient():
    profile = {"mel": ((1, 80, 1), (1, 80, 512), (8, 80, 5625)), "frame_lengths": ((1,), (1,), (8,))}
    base = dict(onnx_sha256="a" * 64, tensorrt_version="10.15.1", compute_capability="sm_90", precision="fp16", profile=profile)
    key = tc.engine_cache_key(**base)
    assert len(key) == 64 and int(key, 16) >= 0
    assert tc.engine_cache_key(**base) == key
    assert tc.engine_cache_key(**{**base, "profile": dict(reversed(list(profile.items())))}) == key  # order-free
    variants = {
        "onnx": {"onnx_sha256": "b" * 64},
        "tensorrt": {"tensorrt_version": "10.15.2"},
        "gpu": {"compute_capability": "sm_89"},
        "precision": {"precision": "fp32"},
        "profile max": {"profile": {**profile, "mel": ((1, 80, 1), (1, 80, 512), (8, 80, 5626))}},
        "profile opt": {"profile": {**profile, "mel": ((1, 80, 1), (1, 80, 256), (8, 80, 5625))}},
        "profile batch": {"profile": {**profile, "frame_lengths": ((1,), (1,), (4,))}},
    }
    keys = {name: tc.engine_cache_key(**{**base, **change}) for name, change in variants.items()}
    assert key not in keys.values() and len(set(keys.values())) == len(keys), keys
    with pytest.raises(InvalidInputError):
        tc.engine_cache_key(**{**base, "precision": "int8"})


def test_cache_directory(monkeypatch, tmp_path, exported):
    monkeypatch.setenv("TTSENGINE_CACHE_DIR", str(tmp_path / "c"))
    assert tc.default_cache_dir() == tmp_path / "c" / "engines"
    monkeypatch.delenv("TTSENGINE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert tc.default_cache_dir() == tmp_path / "x" / "ttsengine" / "engines"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tc.default_cache_dir() == Path("~/.cache/ttsengine/engines").expanduser()
    with pytest.raises(InvalidInputError, match="never go into a bundle"):
        tb.build_engines(exported.path, cache_dir=exported.path / "engines")


def test_cached_engines_are_found_by_their_sidecars(tmp_path, exported):
    cache = tmp_path / "cache"
    cache.mkdir()
    profiles = tp.profile_shapes(exported)

    def fake(graph, *, version="10.15.1", built_at=1.0, precision="fp16"):
        path, _ = onnx_graph_paths(exported)[graph]
        sha = sha256_file(path)
        key = tc.engine_cache_key(sha, version, "sm_90", precision, profiles[graph])
        (cache / f"{key}.engine").write_bytes(b"not an engine")
        meta = {"schema": tc.CACHE_SCHEMA, "graph": graph, "onnx_sha256": sha, "tensorrt": version,
                "compute_capability": "sm_90", "precision": precision, "built_at": built_at,
                "profile": tc.profile_json(profiles[graph])}
        (cache / f"{key}.json").write_text(json.dumps(meta))
        return cache / f"{key}.engine"

    assert tc.find_cached_engines(exported, "fp16", "10.15.1", "sm_90", cache) is None
    paths = {graph: fake(graph) for graph in ("encoder", "decoder", "vocoder")}
    fake("vocoder", version="10.14.0", built_at=5.0)  # other TensorRT: never chosen
    fake("decoder", precision="fp32", built_at=5.0)  # other precision: never chosen
    found = tc.find_cached_engines(exported, "fp16", "10.15.1", "sm_90", cache)
    assert {graph: path for graph, (path, _) in found.items()} == paths
    assert tc.find_cached_engines(exported, "fp16", "10.15.1", "sm_86", cache) is None
    assert tc.find_cached_engines(exported, "fp32", "10.15.1", "sm_90", cache) is None  # only a decoder


# ------------------------------------------------------------------------ without TensorRT
def test_build_engines_without_tensorrt_names_what_to_install(exported, no_tensorrt, tmp_path):
    with pytest.raises(BackendUnavailableError) as info:
        tb.build_engines(exported.path, cache_dir=tmp_path)
    message = str(info.value)
    assert "pip install tensorrt" in message and "pypi.nvidia.com" in message and "CUDA" in message, message
    assert not any(tmp_path.iterdir()), "nothing may be written without TensorRT"


def test_backend_without_tensorrt_or_cuda_fails_at_construction(exported, tiny_voice, no_tensorrt):
    from ttsengine import Synthesizer
    from ttsengine.backends import create_backend
    from ttsengine.backends.tensorrt_backend import TensorRTBackend

    with pytest.raises(BackendUnavailableError, match="pip install tensorrt"):
        TensorRTBackend(exported, device="cuda", precision="fp16", num_threads=None)
    with pytest.raises(BackendUnavailableError, match="TensorRT needs a CUDA device"):
        TensorRTBackend(exported, device="cpu", precision="auto", num_threads=None)
    with pytest.raises(BackendUnavailableError, match="ttsengine export"):
        TensorRTBackend(load_voice(tiny_voice), device="cuda", precision="auto", num_threads=None)
    with pytest.raises(InvalidInputError):
        TensorRTBackend(exported, device="gpu0", precision="auto", num_threads=None)
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        create_backend("tensorrt", exported, "cuda", "auto")
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        Synthesizer(exported.path, backend="tensorrt", device="cuda")


# ------------------------------------------------------------------------ CLI
def test_build_engine_cli(exported, no_tensorrt, capsys, tmp_path):
    parser = argparse.ArgumentParser()
    tb.add_arguments(parser)
    args = parser.parse_args([str(exported.path), "--dry-run", "--max-batch", "4", "--no-fp16"])
    assert args.fp16 is False and args.max_batch == 4 and args.max_tokens is None
    assert tb.run(args) == 0
    out = capsys.readouterr().out
    assert out.count("all operators on TensorRT") == 3 and "[4, 1600]" in out, out
    with pytest.raises(BackendUnavailableError, match="pip install tensorrt"):
        tb.run(parser.parse_args([str(exported.path), "--cache-dir", str(tmp_path)]))


def test_build_engine_script_dry_run(exported, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "export" / "build_engine.py"), str(exported.path), "--dry-run"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("all operators on TensorRT") == 3, result.stdout


# ------------------------------------------------------------------------ backend glue, fake TensorRT
class _FakeTensorRT:
    """Stands in for `tensorrt` to test the backend's own logic on the CPU: an "engine" is
    the ONNX graph run by ONNX Runtime, reading its inputs from and writing its outputs to
    the raw addresses the backend passes to set_tensor_address. This checks shapes,
    addresses, dtypes, batch pieces, the regulator and streaming windows — not TensorRT."""

    __version__ = "10.15.1"
    float32, float16, int32, int64, bool = "float32", "float16", "int32", "int64", "bool"

    class Logger:
        WARNING, VERBOSE = "warning", "verbose"

        def __init__(self, level):
            self.level = level

    class TensorIOMode:
        INPUT, OUTPUT = "input", "output"

    def __init__(self, voice):
        self.voice = voice
        self.executions = []
        fake = self

        class Runtime:
            def __init__(self, logger):
                pass

            def deserialize_cuda_engine(self, data):
                return _FakeEngine(fake, data)

        self.Runtime = Runtime


class _FakeEngine:
    def __init__(self, trt, data):
        import onnxruntime as ort

        self.trt = trt
        self.session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()] + [o.name for o in self.session.get_outputs()]
        self.modes = {i.name: "input" for i in self.session.get_inputs()}
        self.dtype = {v.name: ("int64" if "int64" in v.type else "float32")
                      for v in (*self.session.get_inputs(), *self.session.get_outputs())}
        self.num_io_tensors = len(self.names)

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return self.modes.get(name, "output")

    def get_tensor_dtype(self, name):
        return self.dtype[name]

    def create_execution_context(self):
        return _FakeContext(self)


class _FakeContext:
    def __init__(self, engine):
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)
        return True

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def get_tensor_shape(self, name):
        voice = self.engine.trt.voice
        s = self.shapes
        return {
            "hidden": (*s.get("tokens", (0, 0)), int(voice.acoustic["hparams"]["d_model"])),
            "log_durations": s.get("tokens"),
            "mel": (s.get("frames", (0,))[0], voice.n_mels, s.get("frames", (0, 0))[1]),
            "wave": (s.get("mel", (0,))[0], s.get("mel", (0, 0, 0))[2] * voice.hop_length),
        }[name]

    def execute_async_v3(self, stream):
        import ctypes

        import numpy as np

        feeds = {}
        for name in self.engine.modes:
            shape, dtype = self.shapes[name], np.dtype(self.engine.dtype[name])
            count = int(np.prod(shape))
            raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(self.addresses[name])
            feeds[name] = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape).copy()
        outputs = self.engine.session.run(None, feeds)
        for value, out in zip(self.engine.session.get_outputs(), outputs):
            assert out.shape == tuple(self.get_tensor_shape(value.name)), (value.name, out.shape)
            out = np.ascontiguousarray(out, dtype=np.float32)
            ctypes.memmove(self.addresses[value.name], out.ctypes.data, out.nbytes)
        self.engine.trt.executions.append({k: v for k, v in self.shapes.items()})
        return True


class _CpuTorch:
    """torch with a `cuda` namespace that runs on the CPU (device and stream are no-ops)."""

    def __init__(self):
        import contextlib
        import types

        import torch

        self._torch = torch
        self.device = lambda name: torch.device("cpu")
        self.cuda = types.SimpleNamespace(
            is_available=lambda: True, device_count=lambda: 1,
            device=lambda index: contextlib.nullcontext(), stream=lambda s: contextlib.nullcontext(),
            Stream=lambda device: types.SimpleNamespace(cuda_stream=0),
            current_stream=lambda device=None: types.SimpleNamespace(cuda_stream=0),
        )

    def __getattr__(self, name):
        return getattr(self._torch, name)


@pytest.fixture()
def fake_tensorrt_backend(exported, monkeypatch, tmp_path):
    """A TensorRTBackend over fake engines with a max batch of 2 in a temporary cache."""
    from ttsengine.backends import tensorrt_backend as backend_module

    fake = _FakeTensorRT(exported)
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setattr(backend_module, "_torch_cuda", lambda index: _CpuTorch())
    monkeypatch.setattr(tc, "compute_capability", lambda index=0: "sm_90")
    monkeypatch.setenv("TTSENGINE_CACHE_DIR", str(tmp_path))
    cache = tmp_path / "engines"
    cache.mkdir()
    profiles = tp.profile_shapes(exported, max_batch=2)
    for graph, (path, _) in onnx_graph_paths(exported).items():
        key = tc.engine_cache_key(sha256_file(path), fake.__version__, "sm_90", "fp16", profiles[graph])
        (cache / f"{key}.engine").write_bytes(path.read_bytes())
        (cache / f"{key}.json").write_text(json.dumps({
            "schema": tc.CACHE_SCHEMA, "graph": graph, "onnx_sha256": sha256_file(path), "tensorrt": fake.__version__,
            "compute_capability": "sm_90", "precision": "fp16", "built_at": 1.0, "profile": tc.profile_json(profiles[graph]),
        }))
    backend = backend_module.TensorRTBackend(exported, device="cuda", precision="auto", num_threads=None)
    return backend, fake


def test_backend_glue_with_a_fake_tensorrt(exported, fake_tensorrt_backend):
    """The TensorRT runner in the CUDA pipeline on a fake device (the GPU code path on the
    CPU): batch slices of the engines' max batch, the device regulator, bucketed shapes and
    streaming windows give the torch runner's output in the host pipeline."""
    import numpy as np
    import torch

    from ttsengine.backends.torch_backend import TorchBackend
    from ttsengine.pipeline.cuda import TOKEN_BUCKET, CudaPipeline
    from ttsengine.pipeline.host import HostPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    backend, fake = fake_tensorrt_backend
    assert (backend.name, backend.device, backend.precision) == ("tensorrt", "cuda:0", "fp16")
    assert backend.vocoder_context_frames == exported.vocoder["receptive_field_frames"] + 1
    assert (backend.io, backend.max_batch, backend.dtype) == ("torch", 2, torch.float32)
    dims = dict(d_model=int(exported.acoustic["hparams"]["d_model"]), n_mels=exported.n_mels, hop=exported.hop_length)
    reference = HostPipeline(TorchBackend(exported, device="cpu", precision="fp32"), **dims)
    pipeline = CudaPipeline(backend, device=torch.device("cpu"), dtype=backend.dtype, limits=BufferLimits(),
                            graphs=False, **dims)

    rng = np.random.default_rng(0)
    lengths = np.array([9, 4, 7, 2, 9], dtype=np.int64)  # batch 5 -> engine pieces 2 + 2 + 1
    tokens = rng.integers(1, 20, size=(5, 9)).astype(np.int64)
    tokens[np.arange(9)[None, :] >= lengths[:, None]] = 0
    speakers = np.array([0, 1, 2, 0, 1], dtype=np.int64)

    waves, frame_lengths = pipeline.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    assert [e["tokens"] for e in fake.executions if "tokens" in e] == [(2, TOKEN_BUCKET)] * 2 + [(1, TOKEN_BUCKET)]
    ref_waves, ref_lengths = reference.synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    # The fake runs the fp32 graphs in ONNX Runtime; vs torch fp32 the measured max abs
    # differences are 1.2e-7 (log durations), 5.4e-7 (mel), 1.1e-8 (wave): bound 1e-4.
    np.testing.assert_array_equal(frame_lengths, ref_lengths)
    assert waves.shape == ref_waves.shape and waves.dtype == np.float32
    for row, n in enumerate(ref_lengths):
        samples = int(n) * exported.hop_length
        np.testing.assert_allclose(waves[row, :samples], ref_waves[row, :samples], atol=1e-4)

    mel, mel_lengths, mel_frames = pipeline.mel(tokens[1:2], lengths[1:2], speakers[1:2], 1.0, None, 10_000)
    ref_mel, _, ref_frames = reference.mel(tokens[1:2], lengths[1:2], speakers[1:2], 1.0, None, 10_000)
    np.testing.assert_array_equal(mel_frames, ref_frames)  # per-token frames (word timings, #24)
    stop = min(20, int(mel_lengths[0]))
    window, _ = pipeline.vocode_window(mel, 3, stop, None)
    assert window.shape == ((stop - 3) * exported.hop_length,)
    np.testing.assert_allclose(window, reference.vocode_window(ref_mel, 3, stop, None)[0], atol=1e-4)

    too_long = np.ones((1, tp.token_bound(exported) + 1), dtype=np.int64)
    with pytest.raises(InvalidInputError, match="build-engine"):
        pipeline.synthesize(too_long, np.array([too_long.shape[1]]), np.array([0]), 1.0, None, 10_000)
