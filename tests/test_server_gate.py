"""#23: OpenAI drop-in (voice names, voice objects, model names, streaming by default), the
gate (API-key file, buckets, trusted proxies, websocket and unknown scopes), CORS, the
per-request audio cap, fair scheduling, JSON numbers past int()'s limit, start-up errors."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time

import numpy as np
import pytest

for _module in ("fastapi", "uvicorn", "httpx", "av", "limits", "prometheus_client"):
    pytest.importorskip(_module)

import httpx  # noqa: E402
from fastapi import WebSocket  # noqa: E402
import soundfile as sf  # noqa: E402

from ttsengine.errors import InvalidInputError  # noqa: E402
from ttsengine.server import ServerConfig, create_app  # noqa: E402
from ttsengine.server.background import serve_in_thread  # noqa: E402
from ttsengine.server.middleware import client_address  # noqa: E402

TIMEOUT = 60.0
TEXT = "Hello world."


def _config(synth, **options) -> ServerConfig:
    options.setdefault("rate", None)
    return ServerConfig(synthesizer=synth, **options)


@pytest.fixture(scope="module")
def server(tiny_synth):
    with serve_in_thread(_config(tiny_synth, max_wait_ms=5), timeout=TIMEOUT) as running:
        yield running


def test_openai_client_alloy_voice_object_and_streaming(server, tiny_synth):
    openai = pytest.importorskip("openai")
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", timeout=TIMEOUT, max_retries=0)
    reference = tiny_synth.synthesize(TEXT, speaker="alice", sample_rate=24000)
    for model in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
        result = client.audio.speech.create(model=model, voice="alloy", input=TEXT, response_format="pcm")
        pcm = np.frombuffer(result.content, dtype="<i2")
        assert len(pcm) == len(reference.samples)
        assert np.abs(pcm.astype(np.int32) - reference.to_pcm16()).max() <= 2
    # the voice object form, and an alias that maps to another speaker ("ash" -> bob)
    bob = tiny_synth.synthesize(TEXT, speaker="bob", sample_rate=24000)
    response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                          json={"input": TEXT, "voice": {"id": "ash"}, "response_format": "pcm"})
    assert response.status_code == 200 and len(response.content) == 2 * len(bob.samples)
    bad = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT, json={"input": TEXT, "voice": {"name": "ash"}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "voice"
    # streamed by default (chunked), buffered on request
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="nova", input=TEXT,
                                                            response_format="wav") as streamed:
        assert streamed.headers.get("transfer-encoding") == "chunked"
        data = b"".join(streamed.iter_bytes())
    assert data[:4] == b"RIFF"
    whole = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                       json={"input": TEXT, "response_format": "wav", "stream": False})
    assert whole.status_code == 200 and "transfer-encoding" not in whole.headers
    assert len(sf.read(io.BytesIO(whole.content))[0]) > 0


def test_configured_alias_and_a_bad_one(tiny_synth):
    from ttsengine.server.voices import check_aliases

    assert check_aliases(tiny_synth, {"alloy": "carol"})["alloy"] == "carol"
    with pytest.raises(InvalidInputError, match="alloy"):
        check_aliases(tiny_synth, {"alloy": "nobody"})


def test_numbers_past_int_limit_name_their_parameter(server):
    url, _ = server
    for field in ("speed", "voice"):
        body = b'{"input": "Hi.", "' + field.encode() + b'": ' + b"7" * 5000 + b"}"
        response = httpx.post(f"{url}/v1/audio/speech", content=body, timeout=TIMEOUT,
                              headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == field
    body = b'{"text": "Hi.", "spk_id": ' + b"7" * 5000 + b"}"
    response = httpx.post(f"{url}/clone", content=body, timeout=TIMEOUT, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "spk_id"


def test_audio_cap_refuses_before_synthesis(tiny_synth):
    calls = []

    class Counting:
        def __init__(self, synth):
            self.synth, self.voice = synth, synth.voice

        def __getattr__(self, name):
            calls.append(name)
            return getattr(self.synth, name)

    with serve_in_thread(_config(Counting(tiny_synth), max_audio_seconds=30), timeout=TIMEOUT) as (url, _):
        calls.clear()
        for stream in (True, False):
            response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                                  json={"input": "9" * 4096, "stream": stream})
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "audio_too_long" and error["param"] == "input" and "30 s" in error["message"]
        assert not {"synthesize", "synthesize_batch", "synthesize_prepared", "synthesize_stream"} & set(calls)
        assert httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT, json={"input": TEXT}).status_code == 200


def test_batches_mix_speeds_and_each_request_runs_its_own_front_end(tiny_synth):
    """Requests at different speeds share one batch (their segments run together); the
    front end of each ran on a thread of its own, not on the batch worker."""
    import threading

    calls: list[tuple] = []

    class Recording:
        def __init__(self, synth):
            self.synth, self.voice = synth, synth.voice

        def __getattr__(self, name):
            return getattr(self.synth, name)

        def prepare(self, *args, **kwargs):
            calls.append(("prepare", threading.current_thread().name))
            return self.synth.prepare(*args, **kwargs)

        def synthesize_prepared(self, prepared, **kwargs):
            calls.append(("render", threading.current_thread().name, len(prepared)))
            return self.synth.synthesize_prepared(prepared, **kwargs)

    speeds = (1.0, 1.5, 0.8)
    with serve_in_thread(_config(Recording(tiny_synth), max_wait_ms=500), timeout=TIMEOUT) as (url, _):
        async def post(speed: float) -> bytes:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.post(f"{url}/v1/audio/speech", json={
                    "input": TEXT, "speed": speed, "response_format": "pcm", "stream": False})
            assert response.status_code == 200, response.text
            return response.content

        async def all_three() -> list[bytes]:
            return await asyncio.gather(*(post(speed) for speed in speeds))

        bodies = asyncio.run(all_three())
    renders = [call for call in calls if call[0] == "render"]
    assert max(call[2] for call in renders) >= 2, renders  # speeds batched together
    assert all(call[1].startswith("ttsengine-synth") for call in renders)
    assert [call for call in calls if call[0] == "prepare" and call[1].startswith("ttsengine-synth")] == []
    for speed, body in zip(speeds, bodies):  # each its own speed
        assert len(body) // 2 == len(tiny_synth.synthesize(TEXT, speed=speed, sample_rate=24000).samples)


def test_a_small_request_finishes_before_a_large_one(tiny_synth):
    """Buffered requests: the large one (estimated > LARGE_SECONDS) runs in its own lane."""
    big = " ".join(["This sentence keeps the synthesizer busy for quite a while."] * 40)
    assert tiny_synth.estimate_duration(big) > 20
    with serve_in_thread(_config(tiny_synth, max_wait_ms=1), timeout=TIMEOUT) as (url, _):
        done: dict[str, float] = {}

        async def post(name: str, text: str, delay: float) -> None:
            await asyncio.sleep(delay)
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.post(f"{url}/v1/audio/speech",
                                             json={"input": text, "response_format": "pcm", "stream": False})
            assert response.status_code == 200
            done[name] = time.perf_counter()

        async def both() -> None:
            await asyncio.gather(post("big", big, 0), post("small", TEXT, 0.3))

        asyncio.run(both())
        assert done["small"] < done["big"]


def test_api_key_file_buckets_and_constant_time_compare(tiny_synth, tmp_path, monkeypatch):
    import hmac

    from ttsengine.server import config as config_module

    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nkey-one\n\n  key-two  \n")
    assert config_module.read_api_keys(str(keys)) == ("key-one", "key-two")
    with pytest.raises(InvalidInputError, match="no key"):
        empty = tmp_path / "empty"
        empty.write_text("# nothing\n")
        config_module.read_api_keys(str(empty))
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    config = _config(tiny_synth, rate="2/minute", api_keys=config_module.read_api_keys(str(keys)))
    with serve_in_thread(config, timeout=TIMEOUT) as (url, _):
        body = {"input": "Hi.", "response_format": "pcm"}

        def post(key):
            return httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                              headers={"Authorization": f"Bearer {key}"}).status_code

        assert post("nope") == 401 and post("key-one") == 200
        assert compared and len(compared) % 2 == 0  # every configured key compared
        assert post("key-one") == 200 and post("key-one") == 429
        assert post("key-two") == 200  # its own bucket


def test_rate_limit_per_address_and_trusted_proxies(tiny_synth):
    with serve_in_thread(_config(tiny_synth, rate="1/minute"), timeout=TIMEOUT) as (url, _):
        body = {"input": "Hi.", "response_format": "pcm"}
        assert httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT).status_code == 200
        # neither another Authorization header nor X-Forwarded-For from an untrusted peer changes the bucket
        for headers in ({"Authorization": "Bearer a"}, {"X-Forwarded-For": "203.0.113.9"}):
            assert httpx.post(f"{url}/v1/audio/speech", json=body, headers=headers,
                              timeout=TIMEOUT).status_code == 429
    with serve_in_thread(_config(tiny_synth, rate="1/minute", trusted_proxies=("127.0.0.1",)),
                         timeout=TIMEOUT) as (url, _):
        for client in ("203.0.113.9", "203.0.113.10"):
            assert httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                              headers={"X-Forwarded-For": f"198.51.100.1, {client}"}).status_code == 200
        assert httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT,
                          headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    networks = ServerConfig(trusted_proxies=("10.0.0.0/8",)).proxy_networks
    scope = {"client": ("10.1.2.3", 5), "headers": [(b"x-forwarded-for", b"1.2.3.4, 10.0.0.7")]}
    assert client_address(scope, networks) == "1.2.3.4"
    assert client_address({**scope, "client": ("8.8.8.8", 5)}, networks) == "8.8.8.8"
    with pytest.raises(InvalidInputError, match="trusted proxy"):
        ServerConfig(trusted_proxies=("not-an-ip",))


def test_rate_limit_zero_is_off():
    import argparse

    from ttsengine.server import add_arguments
    from ttsengine.server.config import config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--rate-limit", "0"])).rate is None
    assert config_from_args(parser.parse_args(["--rate-limit", "7"])).rate == "7/minute"
    assert config_from_args(parser.parse_args([])).rate == "60/minute"


def test_cors_preflight_only_for_configured_origins(tiny_synth):
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    with serve_in_thread(_config(tiny_synth, api_keys=("k",), cors_origins=("https://app.example",)),
                         timeout=TIMEOUT) as (url, _):
        response = httpx.options(f"{url}/v1/audio/speech", headers=preflight, timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        other = httpx.options(f"{url}/v1/audio/speech", headers={**preflight, "Origin": "https://evil.example"},
                              timeout=TIMEOUT)
        assert "access-control-allow-origin" not in other.headers
    with serve_in_thread(_config(tiny_synth), timeout=TIMEOUT) as (url, _):  # none by default
        response = httpx.options(f"{url}/v1/audio/speech", headers=preflight, timeout=TIMEOUT)
        assert "access-control-allow-origin" not in response.headers


def _asgi(app, scope: dict, messages: list[dict]) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

    async def send(message):
        sent.append(message)

    async def run():
        await app(scope, receive, send)

    asyncio.run(run())
    return sent


def test_gate_fails_closed_for_websockets_and_unknown_scopes(tiny_synth):
    app = create_app(_config(tiny_synth, api_keys=("k",)))
    reached = []

    @app.websocket("/v1/test/ws")
    async def ws(socket: WebSocket):
        reached.append(True)
        await socket.accept()
        await socket.close()

    def scope(headers):
        return {"type": "websocket", "path": "/v1/test/ws", "raw_path": b"/v1/test/ws", "query_string": b"",
                "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "scheme": "ws",
                "subprotocols": [], "asgi": {"version": "3.0"}, "root_path": ""}

    connect = [{"type": "websocket.connect"}]
    sent = _asgi(app, scope([]), list(connect))
    assert sent and sent[0]["type"] == "websocket.close" and not reached
    sent = _asgi(app, scope([(b"authorization", b"Bearer wrong")]), list(connect))
    assert sent[0]["type"] == "websocket.close" and not reached
    sent = _asgi(app, scope([(b"authorization", b"Bearer k")]), list(connect))
    assert sent[0]["type"] == "websocket.accept" and reached
    # a scope type the gate does not know never reaches the app; lifespan does
    from ttsengine.server.context import ServerContext
    from ttsengine.server.middleware import Gate

    called = []

    async def inner(scope_, receive, send):
        called.append(scope_["type"])

    gate = Gate(inner, ServerContext(_config(tiny_synth)))
    _asgi(gate, {"type": "webtransport", "path": "/v1/audio/speech"}, [])
    _asgi(gate, {"type": "lifespan"}, [])
    assert called == ["lifespan"]


@pytest.mark.parametrize("extra, needle", [
    (["--voice", "no-such-voice"], "no-such-voice"),
    (["--host", "no.such.host.invalid"], "no.such.host.invalid"),
])
def test_serve_start_up_failures_are_one_line_and_exit_2(extra, needle, tiny_voice, tmp_path):
    # a neutral working directory: `python -m` puts the cwd first on sys.path (a source
    # checkout's ttsengine/ has no built _core)
    args = [sys.executable, "-m", "ttsengine", "serve", "--port", "0"]
    if extra[0] != "--voice":
        args += ["--voice", str(tiny_voice), "--backend", "torch"]
    out = subprocess.run(args + extra, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ttsengine: error:") and needle in lines[0], out.stderr


def test_serve_busy_port_is_one_line_and_exit_2(tiny_voice, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "ttsengine", "serve", "--voice", str(tiny_voice), "--backend",
                              "torch", "--port", str(port)], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], out.stderr


def test_startup_line_names_address_voice_backend_and_auth(tiny_synth):
    from ttsengine.server.config import startup_line

    line = startup_line(_config(tiny_synth, api_keys=("a", "b")), tiny_synth, "http://127.0.0.1:7000")
    assert "http://127.0.0.1:7000" in line and "tiny-en" in line and tiny_synth.backend in line
    assert "auth on (2 keys)" in line and "\n" not in line
    assert "auth off" in startup_line(_config(tiny_synth), tiny_synth, "http://x")
