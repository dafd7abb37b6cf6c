"""`ttsengine bench`: a smoke run on a tiny voice (no timings asserted), JSON, plot, exit codes.

Timing *values* are never asserted (the CPU is shared); the tests check that every metric is
measured, internally consistent and reported, and that `--assert-rtf` decides correctly.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile

import pytest

from ttsengine.bench import report, suite
from ttsengine.bench.runner import ConfigSpec, Plan, percentile, planned_steps, run_config, stats, warm_up
from ttsengine.bench.texts import TEXT_KINDS, language_of, load_texts

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
TINY_PLAN = Plan(repeats=1, warmup=0, warmup_s=0.0, text_kinds=("short", "medium"), batch_sizes=(1, 2), batch_pool="short",
                 concurrency=2, requests_per_worker=1, concurrency_kind="short", threads=1, quick=True)
# The fastest command-line run that still goes through every metric.
# One thread: a shared, busy CPU makes multi-threaded torch stall on its barriers.
SMOKE = ["--quick", "--no-peers", "--repeats", "1", "--backend", "torch", "--precision", "fp32", "--threads", "1",
         "--batch-sizes", "1,2", "--quiet"]


@pytest.fixture
def restore_torch_threads():
    """Benchmarks set torch's process-wide thread count; give later tests theirs back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_text_set_is_complete_and_sized():
    version, sets = load_texts()
    assert version >= 1 and set(sets) == {"en", "zh"}
    for language, texts in sets.items():
        lengths = [len(texts.text(kind)) for kind in TEXT_KINDS]
        assert lengths == sorted(lengths) and lengths[0] < lengths[1] < lengths[2], (language, lengths)
        assert len(texts.batch) == 8 and texts.medium in texts.batch
        # One sentence each (a batch of N texts is N sentences), within the splitter's limit.
        for sentence in (texts.medium, *texts.batch):
            assert len(sentence) <= 200
            assert sum(sentence.count(mark) for mark in ".!?。！？") == 1, sentence
        assert texts.batch_texts(10)[8:] == list(texts.batch[:2])
    assert language_of({"kind": "pinyin", "language": "zh"}) == "zh"
    assert language_of({"kind": "phonemes", "language": "en-us"}) == "en"


def test_bench_import_is_light(tmp_path):
    code = ("import sys, ttsengine.bench, ttsengine.bench.cli, ttsengine.bench.suite, ttsengine.bench.peers; "
            "print(','.join(m for m in ('torch', 'onnxruntime', 'matplotlib', 'tqdm', 'piper', 'hibari') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.strip() == ""


def test_warm_up_runs_until_its_time_is_spent():
    import time

    from ttsengine.errors import InvalidInputError

    calls = []

    class Engine:
        def synthesize(self, text):
            calls.append(text)
            time.sleep(0.01)

    started = time.perf_counter()
    assert warm_up(Engine(), "x", 0.05) == len(calls) >= 4
    assert time.perf_counter() - started >= 0.05
    calls.clear()
    assert warm_up(Engine(), "x", 0.0) == 0 and not calls
    assert warm_up(Engine(), "x", 1e-9) == 1  # a positive budget runs at least once
    with pytest.raises(InvalidInputError, match="warmup"):
        Plan(warmup_s=-1.0).validate()


def test_statistics_match_numpy():
    np = pytest.importorskip("numpy")
    values = [0.31, 0.12, 0.5, 0.2, 0.9, 0.33, 0.41]
    for q in (0, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-12)
    assert stats(values) == {"median": 0.33, "min": 0.12, "max": 0.9, "n": 7}


@requires_torch
def test_run_config_measures_every_metric(tiny_voice, restore_torch_threads):
    _, sets = load_texts()
    spec = ConfigSpec(kind="ttsengine", backend="torch", device="cpu", precision="fp32",
                      voice=str(tiny_voice), voice_label="tiny-en")
    steps = []
    result = run_config(spec, TINY_PLAN, sets["en"], progress=steps.append)
    assert result["status"] == "ok", result["reason"]
    assert len(steps) == planned_steps(spec, TINY_PLAN) == 7
    m = result["metrics"]
    assert m["cold"]["load_s"] > 0 and m["cold"]["first_request_s"] > 0
    for kind in ("short", "medium"):
        rtf = m[f"rtf_{kind}"]
        assert rtf["audio_s"] > 0 and rtf["rtf"]["n"] == 1
        assert rtf["rtf"]["median"] == pytest.approx(rtf["seconds"]["median"] / rtf["audio_s"])
    assert m["rtf_medium"]["audio_s"] > m["rtf_short"]["audio_s"]
    # The first of several streamed chunks comes before the whole sentence is done
    # (measured on the tiny voice: ~25 ms vs ~200 ms, idle CPU).
    assert 0 < m["stream"]["ttfa_s"]["median"] < m["rtf_medium"]["seconds"]["median"]
    assert set(m["batch"]) == {"1", "2"}
    assert m["batch"]["2"]["audio_s"] == pytest.approx(2 * m["batch"]["1"]["audio_s"], rel=1e-6)
    c = m["concurrency"]
    assert c["requests"] == 2 and c["workers"] == 2
    lat = c["latency_s"]
    assert lat["min"] <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert c["achieved_rtf"] == pytest.approx(c["wall_s"] / c["audio_s"])
    assert result["memory"]["peak_rss_mib"] > 50 and result["memory"]["device_peak_mib"] is None
    assert result["engine"]["backend"] == "torch" and result["engine"]["precision"] == "fp32"


@requires_torch
def test_unrunnable_configurations_are_reported_not_dropped(tiny_voice, tmp_path):
    _, sets = load_texts()
    fp16 = ConfigSpec(kind="ttsengine", backend="torch", device="cpu", precision="fp16", voice=str(tiny_voice))
    result = run_config(fp16, TINY_PLAN, sets["en"])
    assert result["status"] == "skipped" and "fp16" in result["reason"]
    missing = ConfigSpec(kind="ttsengine", backend="torch", voice=str(tmp_path / "nothing"))
    result = run_config(missing, TINY_PLAN, sets["en"])
    assert result["status"] == "failed" and "VoiceLoadError" in result["reason"]
    marked = ConfigSpec(kind="peer", backend="piper", skip_reason="not installed (test)")
    assert run_config(marked, TINY_PLAN, sets["en"])["reason"] == "not installed (test)"


def _result(config_id, backend, kind="ttsengine", rtf=None, status="ok", voice="v", device="cpu", language="en"):
    config = {"id": config_id, "kind": kind, "backend": backend, "device": device, "precision": "fp32",
              "voice_label": voice, "language": language}
    metrics = {} if rtf is None else {"rtf_medium": {"audio_s": 5.0, "rtf": {"median": rtf, "min": rtf, "max": rtf, "n": 1}}}
    return {"config": config, "status": status, "reason": "" if status == "ok" else "why", "metrics": metrics}


def test_ratios_and_rtf_assertion_on_a_document():
    document = {"results": [
        _result("torch", "torch", rtf=0.2),
        _result("ort", "onnxruntime", rtf=0.1),
        _result("ort-zh", "onnxruntime", rtf=0.05, voice="zh", language="zh"),
        _result("trt", "tensorrt", status="skipped"),
        _result("broken", "onnxruntime", status="failed"),
        _result("piper", "piper", kind="peer", rtf=0.04),
    ]}
    ratios = {row["config"]: row["medium"] for row in report.compute_ratios(document)}
    assert ratios["torch"] == {"vs_torch_eager": 1.0, "vs_piper": pytest.approx(0.2)}
    assert ratios["ort"] == {"vs_torch_eager": 2.0, "vs_piper": pytest.approx(0.4)}
    assert ratios["ort-zh"] == {}  # no torch baseline for that voice, no peer for Chinese
    missed, passed = suite.check_rtf(document, 0.15)
    assert [m.split(" ")[0] for m in missed] == ["torch", "broken"]  # a failed run cannot pass
    assert [p.split(" ")[0] for p in passed] == ["ort", "ort-zh"]  # skipped and peers are not judged


@requires_torch
def test_cli_quick_run_json_plot_and_failed_bound(tiny_voice, tmp_path):
    """The command as users run it (one process per configuration), with a bound nobody meets."""
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    plot = ["--plot", str(png)] if importlib.util.find_spec("matplotlib") else []
    with tempfile.TemporaryDirectory() as cwd:
        result = subprocess.run(
            [sys.executable, "-m", "ttsengine.bench", *SMOKE, "--voice", str(tiny_voice), "--json", str(out),
             "--assert-rtf", "1e-9", *plot],
            capture_output=True, text=True, timeout=300, cwd=cwd,
        )
    assert result.returncode == 1, result.stderr
    assert "missed by: torch/cpu/fp32 tiny-en (RTF" in result.stderr
    assert "Real-time factor" in result.stdout and "torch/cpu/fp32 tiny-en" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["schema"] == suite.SCHEMA and document["isolated"] is True
    machine = document["environment"]["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and len(machine["load_average_1_5_15"]) == 3
    versions = document["environment"]["versions"]
    assert versions["ttsengine"] and versions["torch"] and "onnxruntime" in versions and versions["numpy"]
    assert document["environment"]["native"]["_core"]
    assert set(document["backends"]) >= {"torch", "onnxruntime", "tensorrt"}
    assert document["plan"]["quick"] and document["plan"]["batch_sizes"] == [1, 2]
    assert set(document["texts"]["languages"]) == {"en", "zh"}
    (run,) = [r for r in document["results"] if r["status"] == "ok"]
    assert run["config"]["backend"] == "torch" and run["config"]["device"] == "cpu"
    assert run["isolated"] is True and run["memory"]["peak_rss_mib"] > 50
    assert len(run["load_average"]["before"]) == 3 and "cpu_stall_fraction" in run  # contention, recorded
    assert set(run["metrics"]) == {"cold", "rtf_short", "rtf_medium", "stream", "batch", "concurrency"}
    assert document["ratios"][0]["medium"]["vs_torch_eager"] == 1.0
    if plot:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@requires_torch
def test_cli_in_process_met_bound_markdown_and_user_errors(tiny_voice, tmp_path, capsys, restore_torch_threads):
    from ttsengine.cli import main

    markdown = tmp_path / "bench.md"
    code = main(["bench", *SMOKE, "--voice", str(tiny_voice), "--in-process", "--assert-rtf", "1e6", "--markdown", str(markdown)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "RTF bound 1e+06 met by: torch/cpu/fp32 tiny-en" in captured.out
    text = markdown.read_text(encoding="utf-8")
    assert "| torch/cpu/fp32 tiny-en |" in text and "not one configuration" in text

    for argv, fragment in ((["--backend", "nosuch"], "unknown backend"), (["--repeats", "0"], "--repeats"),
                           (["--device", "tpu"], "device"), (["--assert-rtf", "-1"], "--assert-rtf"),
                           (["--voice", str(tmp_path / "missing")], "not found")):
        assert main(["bench", *SMOKE, *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ttsengine: error:") and fragment in err[0], err


def test_report_lists_skipped_and_unavailable():
    document = {
        "environment": {"machine": {"cpu": "CPU X", "usable_cores": 2, "gpus": []},
                        "versions": {"ttsengine": "0"}, "git": None,
                        "load_average_before": [0.1, 0.2, 0.3], "load_average_after": [0.4, 0.5, 0.6]},
        "plan": TINY_PLAN.to_dict(),
        "backends": {"tensorrt": {"available": False, "reason": "tensorrt is not installed"}},
        "results": [_result("torch/cpu/fp16 v", "torch", status="skipped")],
        "isolated": True,
    }
    text = report.format_report(document)
    assert "CPU X, 2 usable cores" in text and "0.1/0.2/0.3 before" in text
    assert "torch/cpu/fp16 v: skipped: why" in text and "tensorrt (tensorrt is not installed)" in text


@pytest.mark.parametrize("name", ["piper", "hibari"])
def test_peer_adapters(name):
    from ttsengine.bench.peers import create_peer, peer_status

    status = peer_status(name)
    if not status.available:
        pytest.skip(status.reason)
    peer = create_peer(name, threads=1)
    seconds = peer.synthesize("Hello there.")
    assert 0.3 < seconds < 5.0  # "Hello there." spoken: measured 0.9-1.2 s
    assert sum(peer.stream("One. Two.")) > 0 and peer.info()["device"] == "cpu"
    assert not peer_status("nosuch").available
