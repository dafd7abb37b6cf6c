#!/usr/bin/env python3
"""Bounded load test of the ttsengine server: above-capacity load on loopback, then a table.

Sends a fixed number of ``POST /v1/audio/speech`` requests from ``--concurrency`` closed-loop
clients (more than the server's ``--max-queue``, so some are rejected; a rejected client
waits its ``Retry-After``, at most 2 s, before its next request), checks that every
accepted request completes with valid audio and every rejected one gets 429 or 503 (with
``Retry-After``), that nothing hangs, and prints p50/p95/p99 of time to first byte and total
time, audio seconds produced per wall second, and the batch-size histogram from the
server's ``/metrics`` (the change over the run, summed over replicas).

    python benchmarks/load_test.py                 # starts one uvicorn server (subprocess)
    python benchmarks/load_test.py --ray           # Ray Serve, 2 replicas (own network namespace)
    python benchmarks/load_test.py --url http://127.0.0.1:7000   # a running server

The voice is a seeded random tiny 3-speaker voice (torch backend) unless ``--voice`` names
one: random weights make noise, but the compute per request is real. Everything stops by
itself: per-request timeouts, and a hard overall ``--timeout`` after which the process
(and the server it started, or the whole Ray namespace) is killed. Exit status: 0 when all
checks pass, 1 when one fails, 3 on the hard timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TEXTS = (
    "Hello world, this is a load test.",
    "The quick brown fox jumps over the lazy dog.",
    "Batching many requests together keeps the server busy and fast.",
    "Every accepted request must come back with valid audio.",
)
REPLICA_HEADER = "x-ttsengine-replica"
SPEAKER_HEADER = "serve_multiplexed_model_id"
NETNS = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_DEDUP_LOGS": "0"}

_children: list[subprocess.Popen] = []  # killed by the watchdog
_temp_dirs: list[Path] = []  # removed by the watchdog too


# -- helpers -------------------------------------------------------------------------------------

def log(message: str) -> None:
    print(f"[load_test {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_watchdog(seconds: float) -> None:
    """Hard overall limit: kill what we started and exit 3, whatever is hanging."""

    def expire() -> None:
        print(f"load_test: hard timeout after {seconds:.0f} s: killing everything", file=sys.stderr, flush=True)
        for child in _children:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        for directory in _temp_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def make_voice(directory: Path) -> Path:
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(directory / "tiny-load", name="tiny-load", acoustic_size="tiny", vocoder="v2",
                               speakers=("alice", "bob", "carol"), seed=1)


# -- the single server (subprocess) ----------------------------------------------------------------

def serve_main(args: argparse.Namespace) -> int:
    """``--_serve``: one uvicorn server on 127.0.0.1:args.port (run by the parent)."""
    import uvicorn

    from ttsengine import Synthesizer
    from ttsengine.server import ServerConfig, create_app

    synth = Synthesizer(args.voice, device="cpu", backend=args.backend, num_threads=args.threads)
    config = ServerConfig(synthesizer=synth, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                          max_queue=args.max_queue, rate=args.rate or None)
    uvicorn.run(create_app(config), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def start_single_server(args: argparse.Namespace, voice: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--_serve", "--port", str(port), "--voice", voice,
               "--backend", args.backend, "--threads", str(args.threads), "--max-batch", str(args.max_batch),
               "--max-wait-ms", str(args.max_wait_ms), "--max-queue", str(args.max_queue), "--rate", args.rate or ""]
    process = subprocess.Popen(command, start_new_session=True)
    _children.append(process)
    return f"http://127.0.0.1:{port}", process


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def wait_ready(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} was not ready within {timeout:.0f} s")


# -- Ray Serve ----------------------------------------------------------------------------------------

def reexec_in_netns(args: argparse.Namespace, voice: str) -> int:
    """Runs this script again inside network + PID namespaces of its own: Ray binds only
    loopback there, and every Ray process dies with the namespace."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise SystemExit("--ray needs 'unshare' and 'ip' (util-linux, iproute2) and root; or pass --no-netns")
    argv = [a for a in sys.argv[1:]]
    argv += ["--_in-netns", "--voice", voice, "--_voice-label", args.voice_label]
    command = [*NETNS, "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable,
               str(Path(__file__).resolve()), *argv]
    env = {**os.environ, **RAY_ENV}
    process = subprocess.Popen(command, env=env, start_new_session=True)
    _children.append(process)
    try:
        return process.wait(args.timeout + 15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # --kill-child takes the namespace down
        return 3


def start_ray(args: argparse.Namespace, voice: str) -> str:
    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    if args.affinity_timeout is not None:  # read by Ray's proxy (it inherits the driver's environment)
        os.environ["RAY_SERVE_MULTIPLEXED_MODEL_ID_MATCHING_TIMEOUT_S"] = str(args.affinity_timeout)
    import ray
    from ray import serve

    from ttsengine.server.ray_app import build_app

    temp_dir = tempfile.mkdtemp(prefix="ttsray-", dir="/tmp")  # short: Ray's socket paths
    _temp_dirs.append(Path(temp_dir))
    for attempt in (1, 2, 3):  # a starved machine can miss the raylet's 15 s agent start window
        try:
            ray.init(num_cpus=max(2, math.ceil(args.replicas * args.num_cpus)), include_dashboard=False,
                     object_store_memory=100 * 1024 * 1024, _temp_dir=temp_dir, log_to_driver=False)
            break
        except Exception as exc:  # noqa: BLE001
            log(f"ray.init attempt {attempt} failed: {exc}")
            ray.shutdown()
            if os.getpid() == 1:  # PID 1 of our own namespace: what the failed start left running
                for entry in os.listdir("/proc"):
                    if entry.isdigit() and entry != "1":
                        try:
                            os.kill(int(entry), signal.SIGKILL)
                        except OSError:
                            pass
            if attempt == 3:
                raise
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    app = build_app({"voice": voice, "backend": args.backend, "device": "cpu", "num_replicas": args.replicas,
                     "num_cpus": args.num_cpus, "num_threads": args.threads_per_replica,
                     "max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms, "max_queue": args.max_queue,
                     "max_queued_requests": args.ray_queue if args.ray_queue is not None else args.max_queue,
                     "rate": args.rate or ""})
    serve.run(app, name="ttsengine", route_prefix="/")
    return f"http://127.0.0.1:{port}"


def stop_ray() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()
    for directory in _temp_dirs:
        if directory.name.startswith("ttsray-"):
            shutil.rmtree(directory, ignore_errors=True)


# -- metrics --------------------------------------------------------------------------------------------

_BUCKET = re.compile(r'^ttsengine_batch_size_bucket\{le="([^"]+)"\}\s+([0-9.eE+-]+)')


def parse_histogram(text: str) -> dict[float, float]:
    """Cumulative ``le -> count`` of ttsengine_batch_size."""
    buckets = {}
    for line in text.splitlines():
        match = _BUCKET.match(line)
        if match:
            buckets[float(match.group(1))] = float(match.group(2))
    return buckets


def scrape(url: str, replicas: int, tries: int = 80) -> dict[str, dict[float, float]]:
    """Each replica's histogram (one for a single server): ``/metrics`` is answered by any
    replica, named by the x-ttsengine-replica header, so ask until all have answered."""
    import httpx

    found: dict[str, dict[float, float]] = {}
    with httpx.Client(timeout=30) as client:
        for _ in range(tries):
            response = client.get(f"{url}/metrics")
            response.raise_for_status()
            found[response.headers.get(REPLICA_HEADER, "server")] = parse_histogram(response.text)
            if len(found) >= replicas:
                break
    return found


def histogram_delta(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]) -> dict[str, int]:
    """Batches per size range over the run, summed over replicas."""
    total: dict[float, float] = {}
    for replica, buckets in after.items():
        base = before.get(replica, {})
        for le, count in buckets.items():
            total[le] = total.get(le, 0.0) + count - base.get(le, 0.0)
    ranges: dict[str, int] = {}
    previous = 0.0
    low = 1
    for le in sorted(total):
        count = int(round(total[le] - previous))
        previous = total[le]
        if math.isinf(le):
            label = f">{int(sorted(total)[-2])}" if len(total) > 1 else "all"
        else:
            high = int(le)
            label = str(high) if high == low else f"{low}-{high}"
            low = high + 1
        ranges[label] = count
    while len(ranges) > 1 and list(ranges.values())[-1] == 0:  # no empty rows past the largest batch
        ranges.pop(list(ranges)[-1])
    return ranges


# -- the load ---------------------------------------------------------------------------------------------

@dataclass
class Result:
    kind: str  # ok | rejected | invalid | error | hung
    status: int | None
    ttfb: float | None = None
    total: float = 0.0
    audio_s: float = 0.0
    replica: str | None = None
    detail: str = ""
    retry_after: float | None = None


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    wall: float = 0.0


def check_audio(body: bytes, stream: bool) -> tuple[bool, float, str]:
    """(valid, seconds, why not) of a response body: WAV (or raw pcm16 when streamed) at 24 kHz."""
    import numpy as np
    import soundfile as sf

    if stream:
        ok = len(body) > 0 and len(body) % 2 == 0
        samples = np.frombuffer(body[: len(body) - len(body) % 2], dtype="<i2")
        return ok and samples.size > 0, samples.size / 24000, "" if ok else f"{len(body)} bytes of pcm16"
    try:
        data, rate = sf.read(io.BytesIO(body), dtype="float32")
    except Exception as exc:  # noqa: BLE001
        return False, 0.0, f"not a WAV: {exc}"
    if rate != 24000 or len(data) == 0 or not np.isfinite(data).all():
        return False, 0.0, f"rate {rate}, {len(data)} frames"
    return True, len(data) / rate, ""


async def one_request(client, url: str, payload: dict, headers: dict, timeout: float, stream: bool) -> Result:
    import httpx

    started = time.perf_counter()
    ttfb = None
    chunks = []
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", f"{url}/v1/audio/speech", json=payload, headers=headers) as response:
                async for chunk in response.aiter_bytes():
                    if ttfb is None and chunk:
                        ttfb = time.perf_counter() - started
                    chunks.append(chunk)
    except TimeoutError:
        return Result("hung", None, ttfb, time.perf_counter() - started, detail=f"no answer in {timeout:.0f} s")
    except httpx.HTTPError as exc:
        return Result("error", None, ttfb, time.perf_counter() - started, detail=f"{type(exc).__name__}: {exc}")
    total = time.perf_counter() - started
    replica = response.headers.get(REPLICA_HEADER)
    body = b"".join(chunks)
    if response.status_code == 200:
        valid, seconds, why = check_audio(body, stream)
        if valid:
            return Result("ok", 200, ttfb, total, seconds, replica)
        return Result("invalid", 200, ttfb, total, replica=replica, detail=why)
    if response.status_code in (429, 503):
        retry_after = response.headers.get("retry-after")
        try:
            seconds = float(retry_after) if retry_after is not None else None
        except ValueError:
            seconds = None
        return Result("rejected", response.status_code, ttfb, total, replica=replica,
                      detail="" if seconds is not None else f"Retry-After {retry_after!r}", retry_after=seconds)
    return Result("error", response.status_code, ttfb, total, replica=replica, detail=body[:200].decode(errors="replace"))


async def run_load(url: str, args: argparse.Namespace, speakers: list[str]) -> Run:
    import httpx

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        queue.put_nowait(i)
    run = Run()
    limits = httpx.Limits(max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4)

    async with httpx.AsyncClient(timeout=httpx.Timeout(args.request_timeout), limits=limits) as client:
        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                speaker = speakers[i % len(speakers)]
                payload = {"model": "tts-1", "input": TEXTS[i % len(TEXTS)], "voice": speaker,
                           "response_format": "pcm" if args.stream else "wav"}
                if args.stream:
                    payload["stream_format"] = "audio"
                result = await one_request(client, url, payload, {SPEAKER_HEADER: speaker}, args.request_timeout,
                                           args.stream)
                run.results.append(result)
                if result.kind == "rejected":
                    await asyncio.sleep(args.backoff if args.backoff >= 0 else min(result.retry_after or 1.0, 2.0))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        run.wall = time.perf_counter() - started
    return run


def warm_up(url: str, speakers: list[str], timeout: float) -> None:
    import httpx

    with httpx.Client(timeout=timeout) as client:
        for speaker in speakers:
            response = client.post(f"{url}/v1/audio/speech", headers={SPEAKER_HEADER: speaker},
                                   json={"input": TEXTS[0], "voice": speaker, "response_format": "wav"})
            response.raise_for_status()


def voice_speakers(url: str, wanted: str | None) -> list[str]:
    import httpx

    if wanted:
        return [s.strip() for s in wanted.split(",") if s.strip()]
    voices = httpx.get(f"{url}/v1/audio/voices", timeout=30).json()["voices"]
    return [v["id"] for v in voices]


# -- report -------------------------------------------------------------------------------------------------

def report(title: str, args: argparse.Namespace, run: Run, batches: dict[str, int], replicas: int) -> dict:
    results = run.results
    by_kind: dict[str, list[Result]] = {}
    for result in results:
        by_kind.setdefault(result.kind, []).append(result)
    ok = by_kind.get("ok", [])
    rejected = by_kind.get("rejected", [])
    audio = sum(r.audio_s for r in ok)
    lines = [
        "",
        f"== {title} ==",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}; voice {args.voice_label}",
        f"requests {args.requests}, concurrency {args.concurrency}, max_queue {args.max_queue}"
        f"{' per replica' if replicas > 1 else ''}"
        f"{f' (+ {args.ray_queue if args.ray_queue is not None else args.max_queue} queued in Ray)' if args.ray else ''}"
        f"{f', affinity timeout {args.affinity_timeout:g} s' if args.ray and args.affinity_timeout is not None else ''}"
        f", max_batch {args.max_batch}, max_wait_ms {args.max_wait_ms:g}"
        f"{', streamed pcm' if args.stream else ', wav'}",
        "",
        "outcome                 count",
        f"ok (valid audio)        {len(ok):5d}",
    ]
    for status in sorted({r.status for r in rejected}):
        same = [r for r in rejected if r.status == status]
        missing = sum(1 for r in same if r.detail)
        lines.append(f"rejected {status}            {len(same):5d}" + (f"  ({missing} without a valid Retry-After)"
                                                                    if missing else ""))
    for kind in ("invalid", "error", "hung"):
        lines.append(f"{kind:<24}{len(by_kind.get(kind, [])):5d}")
    lines += ["", "seconds                   p50     p95     p99     max"]

    def row(name: str, values: list[float]) -> str:
        if not values:
            return f"{name:<22}      -"
        return f"{name:<22}" + "".join(f"{percentile(values, q):8.3f}" for q in (50, 95, 99)) + f"{max(values):8.3f}"

    lines.append(row("ok: first byte", [r.ttfb for r in ok if r.ttfb is not None]))
    lines.append(row("ok: total", [r.total for r in ok]))
    lines.append(row("rejected: total", [r.total for r in rejected]))
    lines += ["",
              f"wall {run.wall:.1f} s; audio produced {audio:.1f} s; {audio / run.wall:.2f} audio-s per s; "
              f"{len(ok) / run.wall:.2f} ok requests per s"]
    if replicas > 1 or any(r.replica for r in ok):
        per = {}
        for r in ok:
            per[r.replica] = per.get(r.replica, 0) + 1
        lines.append("ok per replica: " + ", ".join(f"{k}: {v}" for k, v in sorted(per.items(), key=str)))
        per = {}
        for r in rejected:
            per[r.replica or "proxy"] = per.get(r.replica or "proxy", 0) + 1
        lines.append("rejected by: " + ", ".join(f"{k}: {v}" for k, v in sorted(per.items(), key=str)))
    lines += ["", "batch size  batches  (from /metrics, this run, all replicas)"]
    for label, count in batches.items():
        lines.append(f"{label:>10}  {count:7d}")
    lines.append(f"{'total':>10}  {sum(batches.values()):7d}")
    failures = []
    if by_kind.get("invalid") or by_kind.get("error") or by_kind.get("hung"):
        failures.append("some requests were invalid, failed or hung")
    if any(r.detail for r in rejected):
        failures.append("some rejections had no Retry-After")
    if not ok:
        failures.append("no request was accepted")
    if not rejected:
        failures.append("no request was rejected: the load was not above capacity")
    lines.append("")
    lines.append("checks: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    print("\n".join(lines), flush=True)
    for r in (by_kind.get("invalid", []) + by_kind.get("error", []) + by_kind.get("hung", []))[:5]:
        print(f"  {r.kind} {r.status}: {r.detail}", flush=True)
    return {"title": title, "ok": len(ok), "rejected": len(rejected), "audio_s_per_s": audio / run.wall,
            "ttfb_p50": percentile([r.ttfb for r in ok if r.ttfb is not None], 50),
            "total_p50": percentile([r.total for r in ok], 50), "total_p95": percentile([r.total for r in ok], 95),
            "total_p99": percentile([r.total for r in ok], 99), "batches": batches, "failures": failures}


def measure(url: str, args: argparse.Namespace, title: str, replicas: int) -> int:
    speakers = voice_speakers(url, args.speakers)
    log(f"warm-up ({len(speakers)} speakers: {', '.join(speakers)})")
    warm_up(url, speakers, args.request_timeout)
    if replicas > 1:
        time.sleep(2.0)  # the Ray proxy learns which replica holds which speaker
    before = scrape(url, replicas)
    log(f"load: {args.requests} requests, concurrency {args.concurrency}")
    run = asyncio.run(asyncio.wait_for(run_load(url, args, speakers), args.timeout))
    after = scrape(url, replicas)
    summary = report(title, args, run, histogram_delta(before, after), replicas)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0 if not summary["failures"] else 1


# -- main ---------------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="target a running server instead of starting one")
    p.add_argument("--ray", action="store_true", help="deploy on Ray Serve (ttsengine.server.ray_app)")
    p.add_argument("--replicas", type=int, default=2, help="Ray replicas (default 2)")
    p.add_argument("--num-cpus", type=float, default=0.5, help="Ray CPUs per replica (default 0.5)")
    p.add_argument("--threads-per-replica", type=int, default=1, help="synthesis threads per Ray replica (default 1)")
    p.add_argument("--ray-queue", type=int, default=None,
                   help="Ray's max_queued_requests in front of the replicas (default: --max-queue)")
    p.add_argument("--affinity-timeout", type=float, default=None,
                   help="s a request waits for a replica holding its speaker before any other takes it "
                        "(RAY_SERVE_MULTIPLEXED_MODEL_ID_MATCHING_TIMEOUT_S; default: Ray's, 1-2 s)")
    p.add_argument("--no-netns", action="store_true", help="with --ray: do not enter a network namespace")
    p.add_argument("--voice", help="voice bundle (default: a seeded random tiny 3-speaker voice)")
    p.add_argument("--backend", default="auto", help="synthesizer backend (default auto)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="synthesis threads of the single server (default: all CPUs)")
    p.add_argument("--requests", type=int, default=240, help="requests in all (default 240)")
    p.add_argument("--concurrency", type=int, default=24, help="concurrent clients (default 24)")
    p.add_argument("--max-queue", type=int, default=8, help="server queue limit, per replica (default 8)")
    p.add_argument("--max-batch", type=int, default=8, help="server batch limit (default 8)")
    p.add_argument("--max-wait-ms", type=float, default=20.0, help="server batch wait (default 20 ms)")
    p.add_argument("--rate", default="", help='server rate limit, e.g. "600/minute" (default none)')
    p.add_argument("--speakers", help="comma-separated speakers (default: all of the voice)")
    p.add_argument("--stream", action="store_true", help='stream_format "audio" (pcm chunks; outside batches)')
    p.add_argument("--backoff", type=float, default=-1.0,
                   help="client pause after a rejection, s (default -1: its Retry-After, at most 2 s)")
    p.add_argument("--request-timeout", type=float, default=120.0, help="per request, s (default 120)")
    p.add_argument("--startup-timeout", type=float, default=300.0, help="server start, s (default 300)")
    p.add_argument("--timeout", type=float, default=900.0, help="hard limit on everything, s (default 900)")
    p.add_argument("--json", help="also write the summary as JSON here")
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--_serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_in-netns", dest="in_netns", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_voice-label", dest="voice_label", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.concurrency < 1 or args.requests < 1:
        p.error("--requests and --concurrency must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._serve:
        return serve_main(args)
    start_watchdog(args.timeout)
    args.voice_label = args.voice_label or args.voice or "random tiny (acoustic tiny + HiFi-GAN V2, 3 speakers)"

    if args.url:
        return measure(args.url.rstrip("/"), args, f"server at {args.url}", args.replicas if args.ray else 1)

    workdir = None
    try:
        voice = args.voice
        if voice is None:
            workdir = Path(tempfile.mkdtemp(prefix="ttsload-"))
            _temp_dirs.append(workdir)
            log("creating a random tiny voice")
            voice = str(make_voice(workdir))
            args.voice = voice
        if args.ray:
            if not args.in_netns and not args.no_netns:
                return reexec_in_netns(args, voice)
            log(f"starting Ray Serve ({args.replicas} replicas, {args.num_cpus:g} CPU each)")
            url = start_ray(args, voice)
            try:
                return measure(url, args, f"Ray Serve, {args.replicas} replicas "
                                          f"({args.threads_per_replica} thread each)", args.replicas)
            finally:
                log("stopping Ray Serve")
                stop_ray()
        log("starting a single uvicorn server")
        url, process = start_single_server(args, voice)
        try:
            wait_ready(url, args.startup_timeout, process)
            return measure(url, args, f"single uvicorn server ({args.threads} threads)", 1)
        finally:
            stop_process(process)
    finally:
        if workdir is not None and not args.in_netns:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
