"""Measurements: one engine (ours or a peer) on one configuration, every metric.

Every timed metric is a list of warm repetitions (after ``plan.warmup`` untimed calls),
summarized as median / min / max. The functions here take an :class:`Engine` (a small
adapter) so that ttsengine and the peers are measured by the same code.
"""

from __future__ import annotations

import logging
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from ..errors import BackendUnavailableError, InvalidInputError, TTSEngineError
from .texts import TEXT_KINDS, TextSet

__all__ = [
    "ConfigSpec",
    "Engine",
    "Plan",
    "TTSEngineAdapter",
    "create_engine",
    "measure_cold",
    "measure_concurrency",
    "measure_import",
    "measure_rtf",
    "measure_throughput",
    "measure_ttfa",
    "memory_snapshot",
    "percentile",
    "planned_steps",
    "run_config",
    "stats",
]

logger = logging.getLogger("ttsengine")

#: The ``--quick`` and full plans (repeats/threads/concurrency may be overridden).
QUICK = dict(repeats=3, text_kinds=("short", "medium"), batch_sizes=(1, 8), batch_pool="short",
             concurrency=2, requests_per_worker=2, concurrency_kind="short")
FULL = dict(repeats=5, text_kinds=TEXT_KINDS, batch_sizes=(1, 8, 32), batch_pool="batch",
            concurrency=4, requests_per_worker=3, concurrency_kind="medium")


@dataclass(frozen=True)
class Plan:
    """What to measure and how often."""

    repeats: int = 5
    warmup: int = 1
    #: Seconds of untimed synthesis of the 5 s text after loading, before any metric: the
    #: first configuration of a run otherwise met an idle CPU and measured up to 1.4x slower
    #: than the same configuration later in the run (2-core VM).
    warmup_s: float = 2.0
    text_kinds: tuple[str, ...] = TEXT_KINDS
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    #: ``batch``: the ~5-second sentence pool; ``short``: the short text repeated (``--quick``).
    batch_pool: str = "batch"
    concurrency: int = 4
    requests_per_worker: int = 3
    concurrency_kind: str = "medium"
    threads: int = 1
    quick: bool = False

    @classmethod
    def make(cls, *, quick: bool, threads: int, repeats: int | None = None,
             concurrency: int | None = None, batch_sizes: Sequence[int] | None = None) -> "Plan":
        base = dict(QUICK if quick else FULL)
        if repeats is not None:
            base["repeats"] = repeats
        if concurrency is not None:
            base["concurrency"] = concurrency
        if batch_sizes is not None:
            base["batch_sizes"] = tuple(batch_sizes)
        plan = cls(threads=threads, quick=quick, **base)
        plan.validate()
        return plan

    def validate(self) -> None:
        for name in ("repeats", "concurrency", "requests_per_worker", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
        if self.warmup < 0 or not self.warmup_s >= 0:
            raise InvalidInputError(f"warmup and warmup_s must be >= 0, got {self.warmup}, {self.warmup_s}")
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise InvalidInputError(f"batch sizes must be positive integers, got {self.batch_sizes}")
        for kind in (*self.text_kinds, self.concurrency_kind):
            if kind not in TEXT_KINDS:
                raise InvalidInputError(f"unknown text kind {kind!r}")
        if "medium" not in self.text_kinds:
            raise InvalidInputError("the plan must measure the 'medium' (5-second) text")

    def batch_repeats(self, size: int) -> int:
        """Timed repetitions for a batch: fewer for big batches (each is many seconds of audio)."""
        return self.repeats if size <= 1 else max(1, min(self.repeats, 2 if size >= 32 else 3))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ConfigSpec:
    """One configuration of the matrix: our engine on (voice, backend, device, precision), or a peer."""

    kind: str  # "ttsengine" | "peer"
    backend: str  # our backend name, or the peer's name
    device: str = "cpu"
    precision: str = "fp32"
    voice: str = ""  # bundle path or bundled name (ours); the peer's voice (peers)
    voice_label: str = ""  # short name for tables
    language: str = "en"
    #: Which of the voice's vocoders (``auto``: the CPU vocoder on a CPU where the voice has one).
    vocoder: str = "auto"
    #: Set by the matrix when the configuration cannot run at all; it is reported, not run.
    skip_reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        if self.kind == "peer":
            return f"{self.backend} ({self.voice_label})/{self.device}"
        suffix = "" if self.vocoder == "auto" else f" [{self.vocoder}]"
        return f"{self.backend}/{self.device}/{self.precision} {self.voice_label}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        data["id"] = self.id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConfigSpec":
        data = {k: v for k, v in data.items() if k != "id"}
        data["notes"] = tuple(data.get("notes") or ())
        return cls(**data)


class Engine(Protocol):
    """What a benchmark needs from a TTS engine (ours and the peers' adapters)."""

    #: Whether :meth:`batch` runs real batches.
    supports_batch: bool

    def synthesize(self, text: str) -> float:
        """Synthesizes to completion; returns the audio duration in seconds."""

    def stream(self, text: str) -> Iterator[int]:
        """Yields the number of samples of each chunk as it becomes available."""

    def batch(self, texts: Sequence[str]) -> float:
        """Synthesizes all texts as one batch; returns the total audio seconds."""

    def info(self) -> dict[str, Any]:
        """What actually runs (backend, device, precision, sample rate ...)."""


class TTSEngineAdapter:
    """:class:`~ttsengine.Synthesizer` behind the :class:`Engine` interface."""

    supports_batch = True

    def __init__(self, synth: Any) -> None:
        self.synth = synth

    @classmethod
    def create(cls, spec: ConfigSpec, threads: int) -> "TTSEngineAdapter":
        from ..synthesizer import Synthesizer

        return cls(Synthesizer(spec.voice, device=spec.device, backend=spec.backend,
                               precision=spec.precision, num_threads=threads, vocoder=spec.vocoder))

    def synthesize(self, text: str) -> float:
        return self.synth.synthesize(text).duration

    def stream(self, text: str) -> Iterator[int]:
        for chunk in self.synth.synthesize_stream(text):
            yield len(chunk.samples)

    def batch(self, texts: Sequence[str]) -> float:
        audios = self.synth.synthesize_batch(list(texts), max_batch=max(1, len(texts)))
        return float(sum(a.duration for a in audios))

    def info(self) -> dict[str, Any]:
        s = self.synth
        return {"backend": s.backend, "device": s.device, "precision": s.precision,
                "sample_rate": s.voice.sample_rate, "voice": s.voice.name, "trained": s.voice.trained,
                "acoustic": dict(s.voice.acoustic).get("size"), "vocoder": s.vocoder,
                "vocoder_variant": dict(s.voice.vocoder).get("variant")}


# -- statistics ------------------------------------------------------------------------


def stats(values: Sequence[float]) -> dict[str, float | int]:
    """median / min / max / n of repetitions."""
    if not values:
        raise ValueError("no values")
    return {"median": float(statistics.median(values)), "min": float(min(values)),
            "max": float(max(values)), "n": len(values)}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method), q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def timed(fn: Callable[[], Any], repeats: int, warmup: int) -> tuple[list[float], Any]:
    """(wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones, the last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


# -- metrics ---------------------------------------------------------------------------


def warm_up(engine: Engine, text: str, seconds: float) -> int:
    """Synthesizes ``text`` untimed until ``seconds`` have passed (at least once if
    ``seconds`` > 0); returns the number of calls."""
    calls, deadline = 0, time.perf_counter() + seconds
    while seconds > 0 and (calls == 0 or time.perf_counter() < deadline):
        engine.synthesize(text)
        calls += 1
    return calls


def measure_rtf(engine: Engine, text: str, repeats: int, warmup: int = 1) -> dict[str, Any]:
    """Real-time factor of ``synthesize`` (wall seconds / audio seconds) over warm repetitions."""
    times, duration = timed(lambda: engine.synthesize(text), repeats, warmup)
    duration = float(duration)
    if duration <= 0:
        raise TTSEngineError("the engine returned no audio")
    return {"audio_s": duration, "seconds": stats(times), "rtf": stats([t / duration for t in times])}


def measure_ttfa(engine: Engine, text: str, repeats: int, warmup: int = 1) -> dict[str, Any]:
    """Time to first audio of streaming: from the call to the first non-empty chunk.

    The stream is closed right after it (a closed generator stops its work), so every
    repetition starts from idle and nothing else is timed.
    """
    firsts: list[float] = []
    for round_ in range(warmup + repeats):
        start = time.perf_counter()
        stream = engine.stream(text)
        try:
            first = next((time.perf_counter() - start for samples in stream if samples > 0), None)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if first is None:
            raise TTSEngineError("the stream yielded no audio")
        if round_ >= warmup:
            firsts.append(first)
    return {"ttfa_s": stats(firsts)}


def measure_throughput(
    engine: Engine, texts: Sequence[str], repeats: int, warmup_texts: Sequence[str] | None = None
) -> dict[str, Any]:
    """Audio seconds per wall second of one ``batch`` call over ``texts``.

    The warm-up runs one batch over ``warmup_texts`` (a few short texts: cheap).
    """
    if warmup_texts is not None:
        engine.batch(list(warmup_texts))
    times, audio = timed(lambda: engine.batch(texts), repeats, 0)
    audio = float(audio)
    return {"batch": len(texts), "audio_s": audio, "seconds": stats(times),
            "throughput": stats([audio / t for t in times])}


def measure_concurrency(engine: Engine, text: str, workers: int, requests_per_worker: int) -> dict[str, Any]:
    """``workers`` threads share one engine, each sending ``requests_per_worker`` requests
    back to back. Latency percentiles over all requests; achieved RTF = wall / audio."""
    latencies: list[float] = []
    audio: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(requests_per_worker):
                start = time.perf_counter()
                seconds = engine.synthesize(text)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    audio.append(seconds)
        except BaseException as exc:  # reported below, in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=work, name=f"bench-{i}") for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    total_audio = float(sum(audio))
    return {
        "workers": workers,
        "requests": len(latencies),
        "wall_s": wall,
        "audio_s": total_audio,
        "latency_s": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                      "p99": percentile(latencies, 99), "min": min(latencies), "max": max(latencies)},
        "achieved_rtf": wall / total_audio,
        "throughput": total_audio / wall,
    }


#: Backend or peer -> the runtime module its load imports (timed on its own as ``import_s``).
RUNTIME_MODULES = {"torch": "torch", "onnxruntime": "onnxruntime", "tensorrt": "tensorrt",
                   "piper": "onnxruntime", "hibari": "onnxruntime"}


def measure_import(backend: str) -> float | None:
    """Seconds to import the runtime of ``backend`` (~0 if this process already has it)."""
    import importlib
    import importlib.util

    module = RUNTIME_MODULES.get(backend)
    if module is None or importlib.util.find_spec(module) is None:
        return None
    start = time.perf_counter()
    importlib.import_module(module)
    return time.perf_counter() - start


def measure_cold(factory: Callable[[], Engine], text: str) -> tuple[Engine, dict[str, float]]:
    """Time to create (load) the engine, then of its first request on ``text``."""
    start = time.perf_counter()
    engine = factory()
    loaded = time.perf_counter()
    duration = engine.synthesize(text)
    done = time.perf_counter()
    return engine, {"load_s": loaded - start, "first_request_s": done - loaded,
                    "first_request_audio_s": float(duration)}


# -- memory ----------------------------------------------------------------------------


def _proc_status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_snapshot() -> dict[str, float | None]:
    """Current and peak resident memory of this process in MiB (peak: since it started)."""
    peak_kib = _proc_status_kib("VmHWM")
    if peak_kib is None:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
        import resource

        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_kib = maxrss // 1024 if sys.platform == "darwin" else maxrss
    rss_kib = _proc_status_kib("VmRSS")
    return {"rss_mib": None if rss_kib is None else rss_kib / 1024, "peak_rss_mib": peak_kib / 1024}


def _cuda_index(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    return int(device.split(":", 1)[1]) if ":" in device else 0


def _reset_device_peak(device: str) -> None:
    index = _cuda_index(device)
    if index is None or "torch" not in sys.modules:
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats(index)


def _device_peak_mib(backend: str, device: str) -> float | None:
    index = _cuda_index(device)
    if index is None or backend != "torch" or "torch" not in sys.modules:
        return None
    import torch

    return torch.cuda.max_memory_allocated(index) / 2**20 if torch.cuda.is_available() else None


# -- one configuration -----------------------------------------------------------------


def planned_steps(spec: ConfigSpec, plan: Plan, supports_batch: bool | None = None) -> int:
    """Progress steps of :func:`run_config` for ``spec`` (load, texts, stream, batches, concurrency)."""
    if supports_batch is None:
        supports_batch = spec.kind == "ttsengine"
    return 1 + len(plan.text_kinds) + 1 + (len(plan.batch_sizes) if supports_batch else 0) + 1


def create_engine(spec: ConfigSpec, threads: int) -> Engine:
    """The engine adapter for ``spec`` (imports the runtime it needs)."""
    if spec.kind == "peer":
        from .peers import create_peer

        return create_peer(spec.backend, threads=threads)
    if spec.kind != "ttsengine":
        raise InvalidInputError(f"unknown configuration kind {spec.kind!r}")
    return TTSEngineAdapter.create(spec, threads)


def run_config(
    spec: ConfigSpec,
    plan: Plan,
    texts: TextSet,
    progress: Callable[[str], None] | None = None,
    isolated: bool = False,
) -> dict[str, Any]:
    """Runs every metric of ``plan`` for one configuration; never raises for the engine's sake.

    Returns a result dict: ``status`` ``ok`` | ``skipped`` (cannot run here, with ``reason``)
    | ``failed`` (crashed while measuring, with ``reason``), the ``metrics`` measured so far,
    and memory. ``isolated`` says whether this process ran only this configuration (then its
    peak RSS is this configuration's own).
    """
    step = progress or (lambda name: None)
    result: dict[str, Any] = {"config": spec.to_dict(), "status": "ok", "reason": "", "metrics": {},
                              "isolated": isolated}
    if spec.skip_reason:
        result.update(status="skipped", reason=spec.skip_reason)
        return result
    metrics: dict[str, Any] = result["metrics"]
    result["memory"] = {"before_load": memory_snapshot()}
    _reset_device_peak(spec.device)
    try:
        import_s = measure_import(spec.backend)
        try:
            engine, cold = measure_cold(lambda: create_engine(spec, plan.threads), texts.medium)
        except BackendUnavailableError as exc:
            result.update(status="skipped", reason=str(exc).splitlines()[0])
            return result
        metrics["cold"] = {"import_s": import_s, **cold}
        result["engine"] = engine.info()
        _reset_device_peak(spec.device)  # load may have initialized the CUDA context
        step("load + first request")
        warm_up(engine, texts.medium, plan.warmup_s)
        for kind in plan.text_kinds:
            metrics[f"rtf_{kind}"] = measure_rtf(engine, texts.text(kind), plan.repeats, plan.warmup)
            step(f"rtf {kind}")
        metrics["stream"] = measure_ttfa(engine, texts.medium, plan.repeats, plan.warmup)
        step("time to first audio")
        if engine.supports_batch:
            metrics["batch"] = {}
            for size in plan.batch_sizes:
                pool = texts.batch_texts(size) if plan.batch_pool == "batch" else [texts.short] * size
                metrics["batch"][str(size)] = measure_throughput(
                    engine, pool, plan.batch_repeats(size),
                    warmup_texts=[texts.short] * min(size, 4) if plan.warmup else None,
                )
                step(f"batch {size}")
        metrics["concurrency"] = measure_concurrency(
            engine, texts.text(plan.concurrency_kind), plan.concurrency, plan.requests_per_worker
        )
        metrics["concurrency"]["text"] = plan.concurrency_kind
        step(f"concurrency {plan.concurrency}")
    except Exception as exc:  # a crash of one configuration must not lose the others
        logger.debug("configuration %s failed", spec.id, exc_info=True)
        result.update(status="failed", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        memory = memory_snapshot()
        result["memory"]["peak_rss_mib"] = memory["peak_rss_mib"]
        result["memory"]["device_peak_mib"] = _device_peak_mib(spec.backend, spec.device)
        result["memory"]["process_isolated"] = isolated
    return result
