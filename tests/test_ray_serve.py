"""ttsengine.server.ray_app on Ray Serve: 2 CPU replicas on loopback, speaker affinity, shutdown.

The Ray part runs in a subprocess (this file run as a script) inside network, PID and mount
namespaces of its own (``unshare --net --pid --fork --kill-child --mount-proc``): Ray binds
only the namespace's loopback, and every process Ray starts dies with the namespace, even
when the subprocess is killed on its timeout. The subprocess reports what it saw as JSON;
the assertions are here.

Skips (with the reason) where ray[serve] or a working ``unshare`` is missing; with
``TTSENGINE_REQUIRE_RAY=1`` those are failures instead (CI).
"""

from __future__ import annotations

import faulthandler
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

#: Hard limit on the whole Ray scenario (startup on a loaded 2-core machine is slow).
SCENARIO_TIMEOUT = float(os.environ.get("TTSENGINE_RAY_TEST_TIMEOUT", "540"))
REQUEST_TIMEOUT = 120.0
SPEAKERS = ("alice", "bob", "carol")
TEXT = "Hello world."
NETNS = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "RAY_DEDUP_LOGS": "0"}


# -- where it can run ------------------------------------------------------------------------

def _missing_reason() -> str | None:
    for module, hint in (("ray", 'pip install "ttsengine[ray]"'), ("ray.serve", 'pip install "ttsengine[ray]"'),
                         ("fastapi", 'pip install "ttsengine[serve]"'), ("httpx", "pip install httpx")):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"{module} is not installed ({hint})"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"'{tool}' not found: the Ray test runs in its own network namespace (util-linux, iproute2)"
    try:
        probe = subprocess.run([*NETNS, "sh", "-c", "ip link set lo up"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a network namespace with unshare: {exc}"
    if probe.returncode != 0:
        return f"cannot create a network namespace with unshare (needs root / CAP_SYS_ADMIN): {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def ray_ready():
    reason = _missing_reason()
    if reason is not None:
        if os.environ.get("TTSENGINE_REQUIRE_RAY") == "1":
            pytest.fail(f"TTSENGINE_REQUIRE_RAY=1 but the Ray test cannot run: {reason}")
        pytest.skip(reason)


# -- the test --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario(ray_ready, tiny_voice):
    """Runs the Ray scenario once (2 replicas serving `tiny_voice`); returns its report."""
    workdir = Path(tempfile.mkdtemp(prefix="ttsray-", dir="/tmp"))  # short: Ray's socket paths
    report = workdir / "report.json"
    env = {**os.environ, **RAY_ENV}
    command = [*NETNS, "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
               sys.executable, str(Path(__file__).resolve()), "--scenario", str(tiny_voice), str(workdir)]
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=SCENARIO_TIMEOUT,
                                cwd=str(workdir))
    except subprocess.TimeoutExpired as exc:  # unshare was SIGKILLed; --kill-child takes the namespace down
        out = (exc.stdout or b"")[-6000:] if isinstance(exc.stdout, bytes) else (exc.stdout or "")[-6000:]
        err = (exc.stderr or b"")[-6000:] if isinstance(exc.stderr, bytes) else (exc.stderr or "")[-6000:]
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(f"the Ray scenario did not finish in {SCENARIO_TIMEOUT:.0f} s\n--- stdout\n{out}\n--- stderr\n{err}")
    elapsed = time.monotonic() - started
    try:
        data = json.loads(report.read_text()) if report.exists() else None
        ray_errors = _ray_log_errors(workdir) if result.returncode != 0 or data is None else ""
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result.returncode != 0 or data is None:
        pytest.fail(f"the Ray scenario failed (exit {result.returncode}, {elapsed:.0f} s)\n"
                    f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-8000:]}\n"
                    f"--- errors in Ray's logs\n{ray_errors}")
    data["elapsed_s"] = elapsed
    return data


def _ray_log_errors(workdir: Path, limit: int = 40) -> str:
    """Error and fatal lines of Ray's own logs (raylet, GCS, agents, workers)."""
    lines = []
    for path in sorted(workdir.glob("ray/session_*/logs/*")):
        if path.suffix not in (".out", ".err", ".log") or not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if " E " in line[:40] or " C " in line[:40] or "Error" in line or "Traceback" in line:
                lines.append(f"{path.name}: {line[:300]}")
    return "\n".join(lines[-limit:]) or "(none)"


def test_two_replicas_serve_valid_wav(scenario):
    assert scenario["ready_replicas"] == 2, scenario
    assert len(scenario["replicas_seen"]) == 2, scenario["replicas_seen"]
    assert scenario["wav"], scenario
    for item in scenario["wav"]:
        assert item["status"] == 200, item
        assert item["content_type"].startswith("audio/wav"), item
        assert item["sample_rate"] == 24000 and item["frames"] > 2400 and item["finite"], item
        assert item["replica"] in scenario["replicas_seen"], item
    clone = scenario["clone"]
    assert clone["status"] == 200 and clone["frames"] > 0 and clone["finite"], clone


def test_concurrent_requests_all_complete(scenario):
    concurrent = scenario["concurrent"]
    assert len(concurrent) == 9
    assert all(item["status"] == 200 and item["frames"] > 0 for item in concurrent), concurrent
    # below max_ongoing_requests no replica is saturated, so affinity holds under concurrency too
    first = scenario["first_replica"]
    assert all(item["replica"] == first[item["speaker"]] for item in concurrent), (concurrent, first)


def test_same_speaker_lands_on_the_same_replica(scenario):
    first = scenario["first_replica"]
    assert set(first) == set(SPEAKERS)
    for speaker, replicas in scenario["speaker_replicas"].items():
        assert set(replicas) == {first[speaker]}, (speaker, replicas, first)
    # new speakers go to the replica holding the fewest: the three are spread over both
    assert len(set(first.values())) == 2, first


def test_unknown_speaker_header_is_only_a_hint(scenario):
    unknown = scenario["unknown_header"]
    assert unknown["status"] == 200 and unknown["frames"] > 0, unknown
    bad_voice = scenario["bad_voice"]
    assert bad_voice["status"] == 400 and bad_voice["code"] == "invalid_voice", bad_voice


def test_voice_aliases_reach_the_replicas(scenario):
    """``voice_aliases="nova=bob"``: OpenAI's "nova" speaks as bob and is listed as his alias."""
    alias, bob = scenario["alias"], scenario["unknown_header"]  # both: TEXT by bob
    assert alias["status"] == 200 and alias["frames"] == bob["frames"], (alias, bob)
    assert [v["alias_of"] for v in scenario["alias_listed"]] == ["bob"], scenario["alias_listed"]


def test_metrics_per_replica(scenario):
    metrics = scenario["metrics"]
    assert set(metrics) == set(scenario["replicas_seen"])
    assert sum(metrics.values()) >= len(scenario["wav"]) + len(scenario["concurrent"])


def test_shutdown_is_clean(scenario):
    shutdown = scenario["shutdown"]
    assert shutdown["app_deleted"], shutdown
    assert shutdown["port_closed"], shutdown
    assert shutdown["leftover_processes"] == [], shutdown


def test_build_app_options_are_checked():
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("TTSENGINE_REQUIRE_RAY") == "1":
            pytest.fail('TTSENGINE_REQUIRE_RAY=1 but ray is not installed (pip install "ttsengine[ray]")')
        pytest.skip('ray is not installed (pip install "ttsengine[ray]")')
    from ttsengine.errors import InvalidInputError
    from ttsengine.server import ray_app

    opts = ray_app._parse({"num_replicas": "2", "num_cpus": "0.5", "max_queue": "8", "rate": "none"})
    assert (opts.num_replicas, opts.num_cpus, opts.max_queue, opts.rate) == (2, 0.5, 8, None)
    options = ray_app.deployment_options(opts)
    assert options["num_replicas"] == 2 and options["ray_actor_options"]["num_cpus"] == 0.5
    assert options["max_ongoing_requests"] == 8 and options["max_queued_requests"] == 64
    if ray_app._supports_backpressure_config():
        assert options["backpressure_config"] == {"status_code": 503, "retry_after_s": 1}
    assert ray_app.deployment_options(ray_app._parse({"max_queued_requests": "-1"}))["max_queued_requests"] == -1
    auto = ray_app.deployment_options(ray_app._parse({"max_replicas": 3, "max_batch": 4}))
    assert auto["autoscaling_config"]["max_replicas"] == 3 and "num_replicas" not in auto
    assert auto["autoscaling_config"]["target_ongoing_requests"] == 4.0
    for bad in ({"voices": "x"}, {"num_replicas": "two"}, {"min_replicas": 3, "max_replicas": 2},
                {"max_batch": 0}, {"rate": "often"}, {"max_queued_requests": 0}, {"max_ongoing_requests": -2}):
        with pytest.raises(InvalidInputError):
            ray_app.build_app(bad)


def test_server_list_options_as_lists_strings_or_mappings(tmp_path):
    """voice_aliases, api_key_file, trusted_proxies and cors_origins, as `ttsengine serve` has
    them; checked on the driver (no Ray needed for that)."""
    from ttsengine.errors import InvalidInputError
    from ttsengine.server import ray_app

    keys = tmp_path / "keys.txt"
    keys.write_text("# team\nk-one\n\nk-two\n")
    for aliases in ("nova=bob, echo=carol", ["nova=bob", "echo=carol"], {"nova": "bob", "echo": "carol"}):
        opts = ray_app._parse({"voice_aliases": aliases, "api_key_file": str(keys),
                               "trusted_proxies": "10.0.0.0/8,127.0.0.1", "cors_origins": ["https://a.example"]})
        server = ray_app._server_options(opts)
        assert server["voice_aliases"] == {"nova": "bob", "echo": "carol"}
        assert server["api_keys"] == ("k-one", "k-two")
        assert server["trusted_proxies"] == ("10.0.0.0/8", "127.0.0.1")
        assert server["cors_origins"] == ("https://a.example",)
    default = ray_app._server_options(ray_app._parse({}))
    assert default["voice_aliases"] is None and default["trusted_proxies"] == () and "api_keys" not in default
    for bad in ({"voice_aliases": "nova"}, {"voice_aliases": 3}, {"trusted_proxies": "not-an-address"},
                {"cors_origins": [1]}, {"api_key_file": str(tmp_path / "missing.txt")}):
        with pytest.raises(InvalidInputError):
            ray_app._server_options(ray_app._parse(bad))


def test_without_ray_the_module_imports_and_names_the_extra():
    code = ("import sys; sys.modules['ray'] = None\n"
            "from ttsengine.errors import BackendUnavailableError\n"
            "from ttsengine.server import ray_app\n"
            "assert ray_app.TTSServer is None\n"
            "try:\n    ray_app.build_app({})\nexcept BackendUnavailableError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'pip install "ttsengine[ray]"' in result.stdout


# -- the scenario (run as a script inside the namespaces) ----------------------------------------

def _log(message: str) -> None:
    print(f"[scenario {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _in_time(fn, timeout: float, what: str):
    """fn() with a hard timeout (Ray calls that can wait forever), run on the main thread:
    Ray ties the processes it starts to the starting *thread* (PR_SET_PDEATHSIG), so
    ray.init must not run on a thread that ends."""
    def expired(signum, frame):
        raise TimeoutError(f"{what} did not finish in {timeout:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _wav_info(response) -> dict:
    import numpy as np
    import soundfile as sf

    info = {"status": response.status_code, "content_type": response.headers.get("content-type", ""),
            "replica": response.headers.get("x-ttsengine-replica")}
    if response.status_code == 200:
        data, rate = sf.read(io.BytesIO(response.content), dtype="float32")
        info.update(sample_rate=rate, frames=len(data), finite=bool(np.isfinite(data).all()))
    else:
        try:
            info["code"] = response.json()["error"]["code"]
        except Exception:  # noqa: BLE001
            info["body"] = response.text[:200]
    return info


def _live_processes() -> list[str]:
    """Processes of this PID namespace other than this one, not zombies."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state = stat.rsplit(")", 1)[1].split()[0]
        if state not in ("Z", "X"):
            session = re.search(r"session_[0-9_-]+", cmdline)
            found.append(f"{entry} {state} {cmdline[:100]} ({session.group(0) if session else 'no session'})")
    return found


def _reap() -> None:
    with_children = True
    while with_children:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        with_children = pid != 0


def _kill_namespace_processes() -> None:
    """SIGKILLs every other process of this PID namespace (ours alone): what a failed
    ray.init left running (its GCS, log monitor, ...; ray.shutdown does not know them).
    Only as PID 1 of a namespace of its own (as the scenario runs): never anywhere else."""
    if os.getpid() != 1:
        return
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(1.0)
    _reap()


def _start_ray(ray, workdir: Path, attempts: int = 3) -> int:
    """ray.init, retried: on a starved machine the raylet gives its Python agents only ~15 s
    to report their ports and aborts the node start (a retry finds warm caches). Returns
    the attempts it took."""
    for attempt in range(1, attempts + 1):
        _log(f"ray.init (attempt {attempt})")
        try:
            _in_time(lambda: ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024,
                                        _temp_dir=str(workdir / "ray"), log_to_driver=False,
                                        configure_logging=False), 180, "ray.init")
            return attempt
        except Exception as exc:  # noqa: BLE001 - "The current node timed out during startup", ...
            _log(f"ray.init failed: {exc}")
            ray.shutdown()
            _kill_namespace_processes()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _scenario(voice: str, workdir: Path) -> dict:
    import asyncio

    import httpx
    import ray
    from ray import serve

    from ttsengine.server.ray_app import REPLICA_HEADER, SPEAKER_HEADER, build_app

    report: dict = {}
    port = _free_port()
    report["ray_init_attempts"] = _start_ray(ray, workdir)
    _log(f"serve.start on 127.0.0.1:{port}")
    _in_time(lambda: serve.start(http_options={"host": "127.0.0.1", "port": port}), 120, "serve.start")
    app = build_app({"voice": voice, "backend": "torch", "device": "cpu", "num_replicas": 2, "num_cpus": 0.5,
                     "num_threads": 1, "max_batch": 4, "max_wait_ms": 30, "max_queue": 16, "rate": "",
                     "voice_aliases": "nova=bob"})
    _log("serve.run (2 replicas)")
    _in_time(lambda: serve.run(app, name="ttsengine", route_prefix="/"), 300, "serve.run")
    status = serve.status().applications["ttsengine"]
    deployment = status.deployments["ttsengine"]
    report["ready_replicas"] = sum(n for state, n in deployment.replica_states.items() if str(state).endswith("RUNNING"))
    _log(f"deployed: {deployment.status} {deployment.replica_states}")

    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT)

    def speech(speaker: str, header: str | None = None, **extra) -> dict:
        headers = {SPEAKER_HEADER: header if header is not None else speaker}
        response = client.post("/v1/audio/speech", headers=headers,
                               json={"input": TEXT, "voice": speaker, "response_format": "wav", "stream": False,
                                     **extra})
        return _wav_info(response)

    # every replica answers (unrouted requests reach both, sooner or later)
    seen: set[str] = set()
    for _ in range(60):
        seen.add(client.get("/health").headers[REPLICA_HEADER])
        if len(seen) == 2:
            break
    report["replicas_seen"] = sorted(seen)

    # affinity: the first request of each speaker picks a replica (the one holding the fewest
    # speakers); after Ray's routing table has the speaker, its requests go there
    first: dict[str, str] = {}
    wav: list[dict] = []
    for speaker in SPEAKERS:
        info = speech(speaker)
        wav.append(info)
        first[speaker] = info["replica"]
        time.sleep(2.0)  # replicas push their speakers every 0.1 s; the proxy learns them by long poll
    report["first_replica"] = first
    _log(f"first replicas: {first}")
    speaker_replicas: dict[str, list] = {s: [] for s in SPEAKERS}
    for _ in range(3):
        for speaker in SPEAKERS:
            info = speech(speaker)
            wav.append(info)
            speaker_replicas[speaker].append(info["replica"])
    report["speaker_replicas"] = speaker_replicas
    report["wav"] = wav

    async def burst() -> list[dict]:
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as aclient:
            async def one(speaker: str) -> dict:
                response = await aclient.post("/v1/audio/speech", headers={SPEAKER_HEADER: speaker},
                                              json={"input": TEXT, "voice": speaker, "response_format": "wav",
                                                    "stream": False})
                return {"speaker": speaker, **_wav_info(response)}
            return await asyncio.gather(*(one(s) for s in SPEAKERS * 3))

    report["concurrent"] = asyncio.run(asyncio.wait_for(burst(), REQUEST_TIMEOUT * 2))
    report["unknown_header"] = speech("bob", header="nobody")
    report["bad_voice"] = speech("nobody")
    report["alias"] = speech("nova", header="bob")
    report["alias_listed"] = [v for v in client.get("/v1/audio/voices").json()["voices"] if v["id"] == "nova"]
    response = client.post("/clone", headers={SPEAKER_HEADER: "carol"}, json={"text": TEXT, "spk_id": "carol"})
    report["clone"] = _wav_info(response)

    # each replica's own /metrics (the batch-size histogram counts requests per batch)
    metrics: dict[str, float] = {}
    for _ in range(60):
        response = client.get("/metrics")
        total = next(line for line in response.text.splitlines() if line.startswith("ttsengine_batch_size_sum"))
        metrics[response.headers[REPLICA_HEADER]] = float(total.split()[-1])
        if len(metrics) == 2:
            break
    report["metrics"] = metrics
    client.close()

    _log("serve.delete")
    shutdown: dict = {}
    _in_time(lambda: serve.delete("ttsengine"), 120, "serve.delete")
    shutdown["app_deleted"] = "ttsengine" not in serve.status().applications
    _in_time(serve.shutdown, 120, "serve.shutdown")
    shutdown["port_closed"] = False
    for _ in range(60):  # the proxy actor may take a moment to exit
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
        except OSError:
            shutdown["port_closed"] = True
            break
        time.sleep(0.5)
    shutdown["session"] = Path(ray._private.worker._global_node.get_session_dir_path()).name
    _log("ray.shutdown")
    _in_time(ray.shutdown, 120, "ray.shutdown")
    stopped = time.monotonic()
    while True:  # Ray's workers notice their raylet is gone within seconds (more on a loaded machine)
        _reap()
        leftover = _live_processes()
        if not leftover or time.monotonic() > stopped + 90:
            break
        time.sleep(0.5)
    shutdown["leftover_processes"] = leftover
    shutdown["drain_s"] = round(time.monotonic() - stopped, 1)
    report["shutdown"] = shutdown
    return report


def _scenario_main(argv: list[str]) -> int:
    voice, workdir = argv[1], Path(argv[2])
    faulthandler.dump_traceback_later(SCENARIO_TIMEOUT - 20, exit=True)  # tracebacks before the kill
    started = time.monotonic()
    report = _scenario(voice, workdir)
    report["scenario_s"] = time.monotonic() - started
    (workdir / "report.json").write_text(json.dumps(report, indent=1))
    _log(f"done in {report['scenario_s']:.0f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--scenario":
        sys.exit(_scenario_main(sys.argv[1:]))
    sys.exit("usage: test_ray_serve.py --scenario VOICE_DIR WORKDIR (run by pytest)")
