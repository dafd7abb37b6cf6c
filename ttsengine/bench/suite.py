"""The benchmark matrix and its execution: every configuration, one process each.

Matrix: voices x backends x devices x precisions for ttsengine (torch eager fp32 on the CPU
is the baseline), then the peers. A configuration that cannot run is kept in the results
as ``skipped`` with the reason; one that crashes is ``failed`` with the reason.

Each configuration runs in a fresh Python process by default (``isolate=True``): its load
time includes importing the runtime, its peak RSS is its own, and process-wide settings
(torch's thread count) cannot leak between configurations.
"""

from __future__ import annotations

import itertools

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InvalidInputError, TTSEngineError, VoiceLoadError
from .runner import ConfigSpec, Plan, planned_steps, run_config
from .texts import TextSet, language_of, load_texts

__all__ = ["RANDOM_VOICES", "SCHEMA", "Options", "build_matrix", "run_suite"]

logger = logging.getLogger("ttsengine")

SCHEMA = "ttsengine-bench/1"
#: Voices made on the fly with seeded random weights (speed does not depend on training).
RANDOM_VOICES: dict[str, dict[str, Any]] = {
    "base-v1": {"acoustic_size": "base", "vocoder": "v1"},
    "base-v1-zh": {"acoustic_size": "base", "vocoder": "v1", "frontend_kind": "pinyin", "language": "zh"},
}
QUICK_VOICES = ("default",)
FULL_VOICES = ("default", "base-v1", "base-v1-zh")
PRECISIONS = ("fp32", "fp16", "int8")
#: Worker protocol: lines on the worker's stdout that start with these markers.
PROGRESS_MARK = "@@ttsengine-bench-progress "
RESULT_MARK = "@@ttsengine-bench-result "
CONFIG_TIMEOUT_S = 3600
_EXPORT_FALLBACK = """\
import argparse, importlib, sys
module = importlib.import_module("ttsengine.export.onnx_export")
parser = argparse.ArgumentParser(prog="ttsengine export")
module.add_arguments(parser)
sys.exit(module.run(parser.parse_args(sys.argv[1:])))
"""


@dataclass
class Options:
    """What to run (the CLI's arguments, resolved)."""

    plan: Plan
    backends: Sequence[str] | None = None  # None: every available backend
    devices: Sequence[str] | None = None  # None: cpu, plus cuda where a GPU is usable
    precisions: Sequence[str] | None = None  # None: fp32, fp16 and int8
    voices: Sequence[str] | None = None  # None: QUICK_VOICES or FULL_VOICES
    peers: bool = True
    #: Vocoders to run each configuration with (None: just ``auto``).
    vocoders: Sequence[str] | None = None
    isolate: bool = True
    #: Export voices without ONNX graphs so that ONNX backends can run them (full runs).
    export: bool | None = None
    workdir: Path | None = None
    extra_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Voice:
    label: str
    path: str
    language: str
    has_onnx: bool
    problem: str = ""


# -- matrix ----------------------------------------------------------------------------


def _gpu_devices() -> list[str]:
    import importlib.util

    found = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        found = torch.cuda.is_available()
    if not found and importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        found = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    return ["cuda"] if found else []


def _resolve_voice(name: str, workdir: Path) -> _Voice:
    from ..voice import load_voice, resolve_voice_path

    if name in RANDOM_VOICES:
        try:
            resolve_voice_path(name)  # a bundled voice of that name wins
        except VoiceLoadError:
            return _random_voice(name, workdir)
    voice = load_voice(name)  # VoiceLoadError: a user error, reported by the CLI
    return _Voice(label=voice.name, path=str(voice.path),
                  language=language_of(voice.frontend), has_onnx=bool(getattr(voice, "onnx", None)))


def _random_voice(name: str, workdir: Path) -> _Voice:
    import importlib.util

    settings = RANDOM_VOICES[name]
    language = "zh" if settings.get("language") == "zh" else "en"
    if importlib.util.find_spec("torch") is None:
        return _Voice(name, "", language, False, problem="making a random-weight voice needs torch")
    from ..voice_factory import create_random_voice

    path = workdir / "voices" / name
    if not (path / "voice.json").exists():
        create_random_voice(path, name=name, seed=0, description="ttsengine bench: random weights", **settings)
    return _Voice(name, str(path), language, False)


def _export(voice: _Voice, workdir: Path) -> tuple[str, str]:
    """``ttsengine export`` of a voice (fp32 + fp16 graphs, the int8 decoder) -> (bundle path, "") or ("", reason)."""
    target = workdir / "exported" / voice.label
    if (target / "voice.json").exists():
        return str(target), ""
    arguments = [voice.path, "-o", str(target), "--fp16", "--int8"]
    # The command as users run it; while the CLI does not list it yet, the export module's
    # own add_arguments/run (the CLI integration pattern) is the same command.
    commands = [
        [sys.executable, "-m", "ttsengine", "export", *arguments],
        [sys.executable, "-c", _EXPORT_FALLBACK, *arguments],
    ]
    reason = ""
    for command in commands:
        logger.info("bench: exporting %s for the ONNX backends: %s", voice.label, " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=_child_env())
        except subprocess.TimeoutExpired:
            return "", "`ttsengine export` timed out"
        if done.returncode == 0 and (target / "voice.json").exists():
            return str(target), ""
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = f"`ttsengine export` failed: {lines[-1] if lines else f'exit {done.returncode}'}"
        if "not implemented" not in reason:
            break
    return "", reason


def build_matrix(options: Options, workdir: Path) -> list[ConfigSpec]:
    """Every configuration to run or to report as skipped, torch/cpu/fp32 first per voice."""
    from ..backends import available_backends, backend_report

    report = backend_report()
    if options.backends:
        unknown = [b for b in options.backends if b not in report]
        if unknown:
            raise InvalidInputError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(report)}")
        backends = list(dict.fromkeys(options.backends))
    else:
        backends = available_backends()
    backends.sort(key=lambda b: b != "torch")  # the baseline first
    devices = list(options.devices) if options.devices else ["cpu", *_gpu_devices()]
    for device in devices:
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise InvalidInputError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    precisions = list(options.precisions) if options.precisions else list(PRECISIONS)
    for precision in precisions:
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    names = list(options.voices) if options.voices else list(QUICK_VOICES if options.plan.quick else FULL_VOICES)
    export = (not options.plan.quick) if options.export is None else options.export

    specs: list[ConfigSpec] = []
    labels: set[str] = set()
    for name in dict.fromkeys(names):
        voice = _resolve_voice(name, workdir)
        label, number = voice.label, 1
        while label in labels:  # two bundles with the same name
            number += 1
            label = f"{voice.label}#{number}"
        labels.add(label)
        voice = replace(voice, label=label)
        exported, export_problem = "", ""
        needs_onnx = [b for b in backends if b != "torch" and report[b].available]
        if needs_onnx and not voice.has_onnx and not voice.problem:
            if export:  # else the backend itself says whether it can run the bundle
                exported, export_problem = _export(voice, workdir)
        for backend, device, precision, vocoder in itertools.product(
                backends, devices, precisions, list(dict.fromkeys(options.vocoders or ["auto"]))):
            skip = voice.problem
            path = voice.path
            notes: tuple[str, ...] = ()
            if not skip and not report[backend].available:
                skip = f"backend {backend!r} is unavailable: {report[backend].reason}"
            elif not skip and backend != "torch" and exported:
                path, notes = exported, ("ONNX graphs exported by this run",)
            elif not skip and backend != "torch" and export_problem:
                notes = (f"the voice has no ONNX graphs and {export_problem}",)
            specs.append(ConfigSpec(kind="ttsengine", backend=backend, device=device, precision=precision,
                                    voice=path, voice_label=voice.label, language=voice.language,
                                    vocoder=vocoder, skip_reason=skip, notes=notes))
    if options.peers:
        from .peers import PEER_VOICES, PEERS, peer_status

        for peer in PEERS:
            status = peer_status(peer)
            specs.append(ConfigSpec(kind="peer", backend=peer, device="cpu", precision="fp32",
                                    voice=PEER_VOICES[peer], voice_label=PEER_VOICES[peer], language="en",
                                    skip_reason="" if status.available else status.reason))
    return specs


# -- execution -------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """The environment of worker processes: this process's ttsengine comes first on the path."""
    import ttsengine

    env = dict(os.environ)
    root = str(Path(ttsengine.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _run_isolated(spec: ConfigSpec, plan: Plan, texts: TextSet, step: Callable[[str], None],
                  workdir: Path) -> dict[str, Any]:
    payload = workdir / f"config-{os.getpid()}-{time.monotonic_ns()}.json"
    payload.write_text(json.dumps({"spec": spec.to_dict(), "plan": plan.to_dict(),
                                   "texts": asdict(texts)}), encoding="utf-8")
    result: dict[str, Any] | None = None
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "ttsengine.bench.worker", str(payload)],
            stdout=subprocess.PIPE, stderr=errors, text=True, env=_child_env(),
        )
        watchdog = threading.Timer(CONFIG_TIMEOUT_S, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith(PROGRESS_MARK):
                    step(line[len(PROGRESS_MARK):].strip())
                elif line.startswith(RESULT_MARK):
                    result = json.loads(line[len(RESULT_MARK):])
            code = process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        stderr = [line.strip() for line in errors.read().splitlines() if line.strip()]
    payload.unlink(missing_ok=True)
    if result is None:
        why = stderr[-1] if stderr else f"worker exited with status {code}"
        if code == -9:
            why = f"killed after {CONFIG_TIMEOUT_S} s (or out of memory); last message: {why}"
        result = {"config": spec.to_dict(), "status": "failed", "reason": why, "metrics": {}, "isolated": True}
    return result


class _Progress:
    """tqdm on stderr when installed; else one line per step (nothing when quiet)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.quiet = quiet
        self.total = total
        self.done = 0
        self.label = ""
        self._bar = None
        if not quiet:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, file=sys.stderr, unit="step", dynamic_ncols=True, leave=False)
            except ImportError:
                pass

    def config(self, label: str) -> None:
        self.label = label
        if self._bar is not None:
            self._bar.set_description_str(label)

    def step(self, name: str, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.set_postfix_str(name, refresh=False)
            self._bar.update(count)
        elif not self.quiet:
            print(f"bench: [{self.done}/{self.total}] {self.label}: {name}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_suite(options: Options, quiet: bool = False) -> dict[str, Any]:
    """Builds the matrix, runs it, and returns the full result document (see BENCHMARKS.md)."""
    from ..backends import backend_report
    from .environment import cpu_stall_us, environment, load_average

    plan = options.plan
    started = time.perf_counter()
    env = environment() | {"load_average_before": load_average()}
    version, text_sets = load_texts()
    with tempfile.TemporaryDirectory(prefix="ttsengine-bench-") as tmp:
        workdir = Path(options.workdir) if options.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not quiet:
            print("bench: preparing the matrix ...", file=sys.stderr, flush=True)
        specs = build_matrix(options, workdir)
        progress = _Progress(sum(planned_steps(s, plan) for s in specs), quiet)
        results = []
        try:
            for spec in specs:
                progress.config(spec.id)
                expected = planned_steps(spec, plan)
                counted = 0

                def step(name: str) -> None:
                    nonlocal counted
                    counted += 1
                    progress.step(name)

                texts = text_sets[spec.language]
                load, stall, began = load_average(), cpu_stall_us(), time.perf_counter()
                if spec.skip_reason:
                    result = run_config(spec, plan, texts)
                elif options.isolate:
                    result = _run_isolated(spec, plan, texts, step, workdir)
                else:
                    result = run_config(spec, plan, texts, progress=step, isolated=False)
                if counted < expected:
                    progress.step(result["status"], expected - counted)
                result["load_average"] = {"before": load, "after": load_average()}
                stalled = cpu_stall_us()
                result["cpu_stall_fraction"] = (
                    None if stall is None or stalled is None
                    else (stalled - stall) / 1e6 / max(time.perf_counter() - began, 1e-9))
                results.append(result)
        finally:
            progress.close()
    from .peers import PEERS, peer_status

    return {
        "schema": SCHEMA,
        "environment": env | {"load_average_after": load_average()},
        "backends": {name: {"available": s.available, "reason": s.reason} for name, s in backend_report().items()},
        "peers": {name: {"available": s.available, "reason": s.reason, "versions": s.versions}
                  for name, s in ((n, peer_status(n)) for n in PEERS)} if options.peers else {},
        "plan": plan.to_dict(),
        "texts": {"version": version, "languages": {k: asdict(v) for k, v in text_sets.items()}},
        "isolated": options.isolate,
        "notes": list(options.extra_notes),
        "results": results,
        "wall_s": time.perf_counter() - started,
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    data = dict(data)
    for key in ("text_kinds", "batch_sizes"):
        data[key] = tuple(data[key])
    return Plan(**data)


def texts_from_dict(data: dict[str, Any]) -> TextSet:
    return TextSet(language=data["language"], short=data["short"], medium=data["medium"],
                   long=data["long"], batch=tuple(data["batch"]))


def check_rtf(document: dict[str, Any], bound: float) -> tuple[list[str], list[str]]:
    """(configurations whose 5-second RTF exceeds ``bound`` or failed, those within it); ours only."""
    missed, passed = [], []
    for result in document["results"]:
        config = result["config"]
        if config["kind"] != "ttsengine" or result["status"] == "skipped":
            continue
        rtf = result.get("metrics", {}).get("rtf_medium", {}).get("rtf", {}).get("median")
        if rtf is None:
            missed.append(f"{config['id']} (no measurement: {result['status']} {result.get('reason', '')})".strip())
        elif rtf > bound:
            missed.append(f"{config['id']} (RTF {rtf:.4f})")
        else:
            passed.append(f"{config['id']} (RTF {rtf:.4f})")
    return missed, passed


def ensure_ran(document: dict[str, Any]) -> None:
    if not any(r["status"] == "ok" for r in document["results"]):
        raise TTSEngineError("no configuration could run (see the skipped reasons above)")
