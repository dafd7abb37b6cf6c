"""ttsengine.server: a real uvicorn on a loopback port, spoken to over HTTP (httpx, openai)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

for _module in ("fastapi", "uvicorn", "httpx", "av", "limits", "prometheus_client"):
    pytest.importorskip(_module)

import av  # noqa: E402
import httpx  # noqa: E402
import soundfile as sf  # noqa: E402
import uvicorn  # noqa: E402

from ttsengine.errors import BackendUnavailableError, InvalidInputError  # noqa: E402
from ttsengine.server import ServerConfig, add_arguments, create_app  # noqa: E402
from ttsengine.server.background import serve_in_thread  # noqa: E402

TIMEOUT = 30.0
TEXT = "Hello world."


def serve(config: ServerConfig):
    """The app on 127.0.0.1:<free port> in a thread; yields (base_url, app)."""
    return serve_in_thread(config, timeout=TIMEOUT)


def _config(synth, **options) -> ServerConfig:
    options.setdefault("rate", None)
    return ServerConfig(synthesizer=synth, **options)


def _assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error


def _decode_av(data: bytes) -> tuple[int, float]:
    with av.open(io.BytesIO(data)) as container:
        samples, rate = 0, None
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return rate, samples / rate


async def _post_many(url: str, payloads: list[dict], headers: list[dict] | None = None) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(payloads) + 4)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        return await asyncio.gather(*(client.post(url, json=p, headers=(headers or [{}] * len(payloads))[i])
                                      for i, p in enumerate(payloads)))


@pytest.fixture(scope="module")
def server(tiny_synth):
    with serve(_config(tiny_synth, max_wait_ms=5)) as running:
        yield running


# -- formats -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tiny_synth):
    return tiny_synth.synthesize(TEXT, speaker="bob", sample_rate=24000)


@pytest.mark.parametrize("fmt, media_type, padding", [
    ("mp3", "audio/mpeg", 0.08), ("opus", "audio/ogg", 0.08), ("aac", "audio/aac", 0.12),
    ("flac", "audio/flac", 0.0), ("wav", "audio/wav", 0.0),
])
def test_speech_formats_decode_to_the_right_duration(server, reference, fmt, media_type, padding):
    url, _ = server
    response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                          json={"model": "tts-1", "input": TEXT, "voice": "bob", "response_format": fmt,
                                "stream": False})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    if fmt in ("wav", "flac"):
        data, rate = sf.read(io.BytesIO(response.content), dtype="int16")
        assert rate == 24000 and len(data) == len(reference.samples)
        assert np.abs(data.astype(np.int32) - reference.to_pcm16()).max() <= 2
    else:
        rate, duration = _decode_av(response.content)
        assert rate in (24000, 48000)
        assert -0.05 <= duration - reference.duration <= 0.05 + padding, (duration, reference.duration)


def test_speech_default_format_is_mp3_and_pcm_is_exact(server, reference):
    url, _ = server
    default = httpx.post(f"{url}/v1/audio/speech", json={"input": TEXT, "voice": "bob"}, timeout=TIMEOUT)
    assert default.status_code == 200 and default.headers["content-type"].startswith("audio/mpeg")
    response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                          json={"model": "x", "input": TEXT, "voice": "1", "response_format": "pcm"})
    assert response.status_code == 200
    pcm = np.frombuffer(response.content, dtype="<i2")
    assert len(response.content) == 2 * len(reference.samples)
    assert np.abs(pcm.astype(np.int32) - reference.to_pcm16()).max() <= 2


def test_speech_speed_and_instructions(server, reference):
    url, _ = server
    response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                          json={"input": TEXT, "voice": "bob", "response_format": "pcm", "speed": 2.0,
                                "instructions": "Speak cheerfully."})
    assert response.status_code == 200
    assert len(response.content) // 2 < 0.75 * len(reference.samples)


def test_openai_client(server, reference):
    openai = pytest.importorskip("openai")
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="anything", timeout=TIMEOUT, max_retries=0)
    result = client.audio.speech.create(model="tts-1", voice="bob", input=TEXT, response_format="wav")
    data, rate = sf.read(io.BytesIO(result.content), dtype="int16")
    assert rate == 24000 and len(data) == len(reference.samples)
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="nobody", input=TEXT)
    assert "alice" in str(caught.value)


# -- /clone --------------------------------------------------------------------------------

def test_clone_returns_wav_at_the_voice_rate_and_the_requested_rate(server, tiny_synth):
    url, _ = server
    expected = tiny_synth.synthesize("Good morning.", speaker=2)
    response = httpx.post(f"{url}/clone", json={"text": "Good morning.", "spk_id": 2}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    data, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == tiny_synth.voice.sample_rate == 24000 and len(data) == len(expected.samples)
    response = httpx.post(f"{url}/clone?sample_rate=16000", json={"text": "Good morning.", "spk_id": "carol"},
                          timeout=TIMEOUT)
    assert response.status_code == 200
    data, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == 16000 and abs(len(data) / 16000 - expected.duration) < 0.01
    error = _assert_openai_error(httpx.post(f"{url}/clone?sample_rate=12345", json={"text": "Hi.", "spk_id": 0},
                                            timeout=TIMEOUT), 400)
    assert error["param"] == "sample_rate"
    error = _assert_openai_error(httpx.post(f"{url}/clone", json={"text": "Hi.", "spk_id": 7}, timeout=TIMEOUT), 400)
    assert "alice" in error["message"]
    _assert_openai_error(httpx.post(f"{url}/clone", json={"text": "x" * 501, "spk_id": 0}, timeout=TIMEOUT), 400)


# -- errors ----------------------------------------------------------------------------------

def test_unknown_voice_lists_the_valid_ones(server):
    url, _ = server
    error = _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json={"input": TEXT, "voice": "nobody"},
                                            timeout=TIMEOUT), 400)
    assert error["param"] == "voice" and error["type"] == "invalid_request_error"
    assert all(name in error["message"] for name in ("alice", "bob", "carol"))


@pytest.mark.parametrize("body, param", [
    ({"input": "", "voice": "bob"}, "input"),
    ({"input": "x" * 4097, "voice": "bob"}, "input"),
    ({"voice": "bob"}, "input"),
    ({"input": TEXT, "speed": 4.5}, "speed"),
    ({"input": TEXT, "speed": 0.1}, "speed"),
    ({"input": TEXT, "response_format": "ogg"}, "response_format"),
    ({"input": TEXT, "stream_format": "websocket"}, "stream_format"),
])
def test_invalid_requests_get_openai_shaped_400(server, body, param):
    url, _ = server
    error = _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT), 400)
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_malformed_json_and_unspeakable_text(server):
    url, _ = server
    _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", content=b"{not json",
                                    headers={"content-type": "application/json"}, timeout=TIMEOUT), 400)
    error = _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json={"input": "   "}, timeout=TIMEOUT), 400)
    assert error["param"] == "input"
    _assert_openai_error(httpx.get(f"{url}/nowhere", timeout=TIMEOUT), 404)


def test_status_routes(server):
    url, _ = server
    assert httpx.get(f"{url}/health", timeout=TIMEOUT).json() == {"status": "ok"}
    ready = httpx.get(f"{url}/ready", timeout=TIMEOUT)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    models = httpx.get(f"{url}/v1/models", timeout=TIMEOUT).json()
    assert models["object"] == "list"
    assert {"ttsengine", "tiny-en", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"} <= {m["id"] for m in models["data"]}
    voices = httpx.get(f"{url}/v1/audio/voices", timeout=TIMEOUT).json()
    assert [(v["id"], v["speaker_id"]) for v in voices["voices"]][:3] == [("alice", 0), ("bob", 1), ("carol", 2)]
    aliases = {v["id"]: v["speaker_id"] for v in voices["voices"][3:]}
    assert (aliases["alloy"], aliases["ash"], aliases["ballad"], aliases["coral"]) == (0, 1, 2, 0)


def test_metrics(server):
    url, _ = server
    assert httpx.post(f"{url}/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm"},
                      timeout=TIMEOUT).status_code == 200
    text = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
    for needle in ('ttsengine_requests_total{route="/v1/audio/speech",status="200"}',
                   "ttsengine_queue_depth 0.0", "ttsengine_batch_size_bucket", "ttsengine_batch_size_count",
                   "ttsengine_synthesis_seconds_count", "ttsengine_audio_seconds_total"):
        assert needle in text, needle
    assert "ttsengine_rejections" in text


# -- auth, rate limits -------------------------------------------------------------------------

def test_api_key_required_when_configured(tiny_synth):
    with serve(_config(tiny_synth, api_key="sekret")) as (url, _):
        body = {"input": "Hi.", "response_format": "pcm"}
        error = _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT), 401)
        assert error["code"] == "invalid_api_key"
        _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                                        headers={"Authorization": "Bearer wrong"}), 401)
        _assert_openai_error(httpx.post(f"{url}/clone", json={"text": "Hi."}, timeout=TIMEOUT), 401)
        _assert_openai_error(httpx.get(f"{url}/v1/models", timeout=TIMEOUT), 401)
        ok = httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                        headers={"Authorization": "Bearer sekret"})
        assert ok.status_code == 200 and len(ok.content) > 0
        assert httpx.get(f"{url}/health", timeout=TIMEOUT).status_code == 200
        assert 'reason="auth"' in httpx.get(f"{url}/metrics", timeout=TIMEOUT).text


def test_rate_limit_per_client_with_cached_clone_reply(tiny_synth):
    with serve(_config(tiny_synth, rate="5/minute", api_keys=("client-a", "client-b"))) as (url, app):
        a = {"Authorization": "Bearer client-a"}
        body = {"input": "Hi.", "response_format": "pcm"}
        for _ in range(5):
            assert httpx.post(f"{url}/v1/audio/speech", json=body, headers=a, timeout=TIMEOUT).status_code == 200
        limited = httpx.post(f"{url}/v1/audio/speech", json=body, headers=a, timeout=TIMEOUT)
        error = _assert_openai_error(limited, 429)
        assert error["code"] == "rate_limit_exceeded"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        clone = httpx.post(f"{url}/clone", json={"text": "Hi.", "spk_id": 0}, headers=a, timeout=TIMEOUT)
        assert clone.status_code == 429 and clone.headers["content-type"] == "audio/wav"
        assert int(clone.headers["Retry-After"]) >= 1
        assert clone.content == app.state.ttsengine["busy_wav"]
        data, rate = sf.read(io.BytesIO(clone.content))
        assert rate == 24000 and len(data) > 0.2 * rate
        other = httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                           headers={"Authorization": "Bearer client-b"})
        assert other.status_code == 200
        assert httpx.get(f"{url}/health", timeout=TIMEOUT).status_code == 200  # not limited
        metrics = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        assert 'ttsengine_rejections_total{reason="rate_limit"} 2.0' in metrics
        assert 'ttsengine_requests_total{route="/v1/audio/speech",status="429"} 1.0' in metrics


def test_default_rate_60_per_minute(tiny_synth):
    config = _config(tiny_synth, max_batch=32, max_wait_ms=50)
    config.rate = "60/minute"
    assert ServerConfig().rate == "60/minute"
    with serve(config) as (url, _):
        body = {"input": "Hi.", "response_format": "pcm"}
        responses = asyncio.run(_post_many(f"{url}/v1/audio/speech", [body] * 61))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 60 + [429]
        limited = next(r for r in responses if r.status_code == 429)
        assert int(limited.headers["Retry-After"]) >= 1
        # the same IP is limited, whatever Authorization header it sends (no keys configured)
        assert httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT).status_code == 429
        assert httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                          headers={"Authorization": "Bearer other"}).status_code == 429


# -- batching and the queue --------------------------------------------------------------------

def test_concurrent_requests_are_batched(tiny_synth):
    with serve(_config(tiny_synth, max_batch=16, max_wait_ms=100)) as (url, app):
        texts = [f"Number {i}." for i in range(32)]
        responses = asyncio.run(_post_many(
            f"{url}/v1/audio/speech",
            [{"input": t, "voice": ("alice", "bob")[i % 2], "response_format": "pcm", "stream": False}
             for i, t in enumerate(texts)]))
        assert [r.status_code for r in responses] == [200] * 32
        batcher = app.state.ttsengine["batcher"]
        assert sum(batcher.batch_sizes) == 32 and batcher.batches < 32 and max(batcher.batch_sizes) > 1
        # each response is its own text: compare two with single synthesis
        for i in (0, 5):
            single = tiny_synth.synthesize(texts[i], speaker=i % 2, sample_rate=24000)
            assert len(responses[i].content) == 2 * len(single.samples)
        metrics = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        count = next(line for line in metrics.splitlines() if line.startswith("ttsengine_batch_size_count"))
        total = next(line for line in metrics.splitlines() if line.startswith("ttsengine_batch_size_sum"))
        assert float(count.split()[-1]) == batcher.batches < 32
        assert float(total.split()[-1]) == 32


class _SlowSynth:
    """Wraps a Synthesizer; batches wait for `release` (the queue fills meanwhile)."""

    def __init__(self, synth) -> None:
        self.synth = synth
        self.voice = synth.voice
        self.release = threading.Event()
        self.entered = threading.Event()

    def synthesize(self, *args, **kwargs):
        return self.synth.synthesize(*args, **kwargs)

    def synthesize_prepared(self, *args, **kwargs):
        self.entered.set()
        self.release.wait(TIMEOUT)
        return self.synth.synthesize_prepared(*args, **kwargs)

    def synthesize_stream(self, *args, **kwargs):
        return self.synth.synthesize_stream(*args, **kwargs)

    def _options(self, *args):
        return self.synth._options(*args)

    def prepare(self, *args, **kwargs):
        return self.synth.prepare(*args, **kwargs)


def test_full_queue_answers_503_with_retry_after(tiny_synth):
    slow = _SlowSynth(tiny_synth)
    with serve(_config(slow, max_queue=1, max_wait_ms=0)) as (url, _):
        body = {"input": "Hi.", "response_format": "pcm", "stream": False}
        results = {}
        first = threading.Thread(target=lambda: results.update(
            first=httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT)))
        first.start()
        try:
            assert slow.entered.wait(TIMEOUT)
            busy = httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT)
            error = _assert_openai_error(busy, 503)
            assert error["code"] == "queue_full" and int(busy.headers["Retry-After"]) >= 1
            assert httpx.post(f"{url}/clone", json={"text": "Hi."}, timeout=TIMEOUT).status_code == 503
            streamed = httpx.post(f"{url}/v1/audio/speech", json={**body, "stream_format": "audio"},
                                  timeout=TIMEOUT)
            assert streamed.status_code == 503 and int(streamed.headers["Retry-After"]) >= 1
            assert httpx.get(f"{url}/ready", timeout=TIMEOUT).status_code == 503
            assert httpx.get(f"{url}/health", timeout=TIMEOUT).status_code == 200
            assert "ttsengine_queue_depth 1.0" in httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        finally:
            slow.release.set()
            first.join(TIMEOUT)
        assert results["first"].status_code == 200
        assert httpx.get(f"{url}/ready", timeout=TIMEOUT).status_code == 200
        metrics = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        assert 'ttsengine_rejections_total{reason="queue_full"} 3.0' in metrics


def test_one_bad_text_does_not_fail_its_batch(tiny_synth):
    with serve(_config(tiny_synth, max_batch=8, max_wait_ms=200)) as (url, _):
        payloads = [{"input": "Hi there.", "response_format": "pcm", "stream": False},
                    {"input": "\u4e2d\u6587", "response_format": "pcm", "stream": False},
                    {"input": "Bye now.", "response_format": "pcm", "stream": False}]
        responses = asyncio.run(_post_many(f"{url}/v1/audio/speech", payloads))
        assert [r.status_code for r in responses] == [200, 400, 200]
        assert responses[1].json()["error"]["param"] == "input"


# -- command line, imports -------------------------------------------------------------------

def test_cli_arguments_and_run(monkeypatch, tiny_voice):
    import argparse

    from ttsengine.server import config as config_module

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.voice, args.rate, args.api_key) == ("127.0.0.1", 7000, "default",
                                                                            "60/minute", None)
    args = parser.parse_args(["--voice", str(tiny_voice), "--backend", "torch", "--device", "cpu", "--port", "0",
                              "--max-batch", "4", "--max-wait-ms", "20", "--max-queue", "9", "--rate", "5/second",
                              "--api-key", "k"])
    config = config_module.config_from_args(args)
    assert (config.max_batch, config.max_wait_ms, config.max_queue, config.rate, config.api_key) == (
        4, 20.0, 9, "5/second", "k")
    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self, sockets: seen.update(app=self.config.app, address=sockets[0].getsockname(),
                                                          proxy_headers=self.config.proxy_headers))
    assert config_module.run(args) == 0
    assert seen["address"][0] == "127.0.0.1" and seen["address"][1] > 0 and seen["app"].title == "ttsengine"
    assert seen["proxy_headers"] is False
    with pytest.raises(InvalidInputError, match="--rate"):
        config_module.config_from_args(parser.parse_args(["--rate", "lots"]))
    with pytest.raises(InvalidInputError, match="max_queue"):
        ServerConfig(max_queue=0)


def test_missing_dependency_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "limits", None)
    with pytest.raises(BackendUnavailableError, match=r'pip install "ttsengine\[serve\]"') as caught:
        create_app(ServerConfig())
    assert "limits" in str(caught.value)


def test_import_stays_light():
    code = ("import sys, ttsengine, ttsengine.server; "
            "heavy = [m for m in ('fastapi', 'uvicorn', 'prometheus_client', 'limits', 'av', 'starlette') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


# -- streaming ---------------------------------------------------------------------------------

LONG = "The first sentence is here. A second one follows it. And then a third, to be sure."


@pytest.mark.parametrize("fmt", ["pcm", "wav"])
def test_stream_format_audio_streams_chunks(server, tiny_synth, fmt):
    import struct

    url, _ = server
    reference = tiny_synth.synthesize(LONG, speaker=0, sample_rate=24000)
    body = {"input": LONG, "voice": "alice", "response_format": fmt, "stream_format": "audio"}
    with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        pieces = list(response.iter_raw())
    data = b"".join(pieces)
    assert len(pieces) > 1
    if fmt == "wav":
        header, data = data[:44], data[44:]
        assert header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt " and header[36:40] == b"data"
        assert struct.unpack("<I", header[4:8])[0] == struct.unpack("<I", header[40:44])[0] == 0xFFFFFFFF
        assert struct.unpack("<HHIIHH", header[20:36]) == (1, 1, 24000, 48000, 2, 16)
    pcm = np.frombuffer(data, dtype="<i2")
    assert len(pcm) == len(reference.samples)
    assert np.abs(pcm.astype(np.int32) - reference.to_pcm16()).max() <= 2
    # an unspeakable text is still a 400 before any audio
    bad = httpx.post(f"{url}/v1/audio/speech", json={**body, "input": "   "}, timeout=TIMEOUT)
    _assert_openai_error(bad, 400)
    assert httpx.get(f"{url}/ready", timeout=TIMEOUT).json()["queue_depth"] == 0


def test_a_client_leaving_mid_stream_frees_its_slot(server):
    url, _ = server
    body = {"input": " ".join([LONG] * 6), "response_format": "pcm", "stream_format": "audio"}
    with httpx.Client(timeout=TIMEOUT) as client:
        with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
            assert response.status_code == 200
            next(response.iter_raw())
    deadline = time.monotonic() + TIMEOUT
    while httpx.get(f"{url}/ready", timeout=TIMEOUT).json()["queue_depth"] != 0:
        assert time.monotonic() < deadline, "the stream's queue slot was not given back"
        time.sleep(0.05)
    assert httpx.post(f"{url}/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm"},
                      timeout=TIMEOUT).status_code == 200


def test_request_bodies_over_the_limit_get_413(tiny_synth):
    from ttsengine.server.app import MAX_BODY_BYTES

    big = {"input": "a" * 4000, "voice": "alice", "padding": "x" * MAX_BODY_BYTES}
    with serve(_config(tiny_synth)) as (url, _):
        error = _assert_openai_error(httpx.post(f"{url}/v1/audio/speech", json=big, timeout=TIMEOUT), 413)
        assert error["code"] == "request_too_large"

        def chunks():  # no content-length: the body is cut while it is read
            yield b'{"input": "' + b"a" * 1000
            for _ in range(MAX_BODY_BYTES // 4096 + 2):
                yield b"a" * 4096
            yield b'"}'

        response = httpx.post(f"{url}/v1/audio/speech", content=chunks(), timeout=TIMEOUT,
                              headers={"content-type": "application/json"})
        _assert_openai_error(response, 413)
        ok = httpx.post(f"{url}/clone", json={"text": "Hello.", "spk_id": 0}, timeout=TIMEOUT)
        assert ok.status_code == 200 and ok.headers["content-type"] == "audio/wav"


def test_ttsengine_serve_subprocess_answers_and_drains_on_sigterm(small_onnx_voice, tmp_path):
    """`ttsengine serve` as users run it: the OpenAI client and /clone get audio, and a request
    in flight when SIGTERM arrives still completes before the process exits 0."""
    import signal
    import socket
    import subprocess
    import sys
    import threading

    from openai import OpenAI

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "ttsengine", "serve", "--voice", str(small_onnx_voice),
                             "--port", str(port), "--max-wait-ms", "1"], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "ttsengine serve did not get ready"
            time.sleep(0.2)
        client = OpenAI(base_url=f"{url}/v1", api_key="unused")
        wav = client.audio.speech.create(model="tts-1", voice="default", input="Hello there.", response_format="wav")
        assert wav.content[:4] == b"RIFF" and len(wav.content) > 10_000
        clone = httpx.post(f"{url}/clone", json={"text": "Hello.", "spk_id": 0}, timeout=TIMEOUT)
        assert clone.status_code == 200 and clone.content[:4] == b"RIFF"

        result: dict = {}
        long_text = " ".join(["This sentence keeps the server busy for a while."] * 12)

        def slow_request() -> None:
            result["response"] = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                                            json={"input": long_text, "response_format": "wav"})

        thread = threading.Thread(target=slow_request)
        thread.start()
        deadline = time.monotonic() + 30
        while "ttsengine_queue_depth 1.0" not in httpx.get(f"{url}/metrics", timeout=5).text:
            assert time.monotonic() < deadline and thread.is_alive(), "the request never reached the queue"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        thread.join(TIMEOUT)
        response = result["response"]
        assert response.status_code == 200 and response.content[:4] == b"RIFF" and len(response.content) > 200_000
        # uvicorn re-raises the SIGTERM after its graceful shutdown: the usual exit of a terminated process
        assert proc.wait(60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def _metric(text: str, name: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_metrics_time_to_first_byte_and_request_rtf(tiny_synth):
    with serve(_config(tiny_synth)) as (url, _):
        speech = {"input": "Hi there.", "response_format": "wav", "stream": False}
        assert httpx.post(f"{url}/v1/audio/speech", json=speech, timeout=TIMEOUT).status_code == 200
        streamed = {**speech, "response_format": "pcm", "stream": True}
        assert httpx.post(f"{url}/v1/audio/speech", json=streamed, timeout=TIMEOUT).status_code == 200
        assert httpx.post(f"{url}/v1/audio/speech", json={"input": ""}, timeout=TIMEOUT).status_code == 400
        assert httpx.post(f"{url}/clone", json={"text": "Hi.", "spk_id": 0}, timeout=TIMEOUT).status_code == 200
        text = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        ttfb = 'ttsengine_time_to_first_byte_seconds_count{route="/v1/audio/speech"}'
        assert _metric(text, ttfb) == 2  # the 400 is not counted
        assert _metric(text, 'ttsengine_time_to_first_byte_seconds_count{route="/clone"}') == 1
        assert _metric(text, "ttsengine_request_rtf_count") == 2  # the batched ones
        assert 0 < _metric(text, "ttsengine_request_rtf_sum") < 100
