"""Voice enrollment over HTTP (POST /v1/voices, GET /v1/voices/jobs/{id}, DELETE /v1/voices/{name}):
end to end on the tiny random voice (a job in its own low-priority process -> progress -> the new
speaker answers /v1/audio/speech -> DELETE), one job at a time, limits, auth, rate limit."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest

for _module in ("fastapi", "httpx", "torch", "python_multipart", "soundfile", "websockets"):
    pytest.importorskip(_module)

import httpx  # noqa: E402
import soundfile as sf  # noqa: E402
from websockets.sync.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from ttsengine.server import ServerConfig  # noqa: E402
from ttsengine.server.background import serve_in_thread  # noqa: E402

KEY = "enroll-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
TIMEOUT = 60.0
#: A clone as small as one can be: 3 steps, no ONNX export, any amount of speech accepted.
FAST = {"min_seconds": 0, "export": False, "batch_size": 2, "sample_every": 0, "checkpoint_every": 100,
        "warmup_steps": 0}


def _wav(seed: int, noise: float = 0.0) -> bytes:
    from ttsengine.training.synthetic import _utterance

    rng = np.random.default_rng(seed)
    wave, _ = _utterance("abc def", rng, 24000, 256, 1.0)
    if noise:
        wave = wave + rng.normal(0, noise, wave.size).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, wave, 24000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _files(n: int, **names: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    files = [("files", (f"take{i}.wav", _wav(i), "audio/wav")) for i in range(n)]
    files += [("files", (name, data, "audio/wav")) for name, data in names.items()]
    return files


#: A transcriber for the job's process (imported there by name, from a folder on sys.path,
#: which the spawned process inherits: the tests folder itself need not be importable): one
#: text too few, so the job fails at once after reporting them.
FAKE_TRANSCRIBER = """
def fake_transcribe(paths):
    assert all(p.endswith(".wav") for p in paths)
    return [f"text of {len(paths)} files"]
"""


@pytest.fixture(scope="module")
def enrolling(tiny_synth, tmp_path_factory):
    voices = tmp_path_factory.mktemp("enrolled")
    config = ServerConfig(synthesizer=tiny_synth, rate=None, api_key=KEY, voices_dir=str(voices),
                          enroll_steps=3, enroll_options=FAST, enroll_max_files=4,
                          enroll_max_file_bytes=200_000, enroll_max_total_bytes=500_000)
    with serve_in_thread(config, timeout=TIMEOUT) as (url, app):
        yield url, app, voices


def _wait(url: str, job_id: str, seen: list[dict] | None = None, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{url}/v1/voices/jobs/{job_id}", headers=AUTH, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        job = r.json()
        if seen is not None:
            seen.append(job)
        if job["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def _ws_speak(url: str, voice: str, text: str) -> tuple[np.ndarray, list[dict]]:
    """``text`` in ``voice`` over ``WS /v1/audio/speech/ws``: the PCM16 received and the JSON frames."""
    audio: list[np.ndarray] = []
    frames: list[dict] = []
    with connect(url.replace("http://", "ws://") + "/v1/audio/speech/ws", open_timeout=10,
                 additional_headers=AUTH) as ws:
        try:
            ws.send(json.dumps({"voice": voice, "response_format": "pcm"}))
            ws.send(json.dumps({"text": text}))
            ws.send(json.dumps({"text": ""}))
        except ConnectionClosed:
            pass  # the server refused the first frame and closed: its error frame is read below
        while True:
            try:
                message = ws.recv(timeout=TIMEOUT)
            except ConnectionClosed:
                break
            if isinstance(message, bytes):
                audio.append(np.frombuffer(message, "<i2"))
                continue
            frames.append(json.loads(message))
            if frames[-1]["type"] in ("done", "error"):
                break
    return (np.concatenate(audio) if audio else np.zeros(0, np.int16)), frames


def _assert_same_voice_error(url: str, voice: str) -> None:
    """``voice`` is refused over the WebSocket with the error the HTTP speech route gives."""
    r = httpx.post(f"{url}/v1/audio/speech", headers=AUTH, timeout=TIMEOUT,
                   json={"input": "abc", "voice": voice, "response_format": "pcm", "stream": False})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_voice"
    audio, frames = _ws_speak(url, voice, "Hello there.")
    assert len(audio) == 0 and frames == [{"type": "error", "error": {"message": r.json()["error"]["message"],
                                                                       "code": "invalid_voice"}}]


def test_enrollment_end_to_end(enrolling, tiny_synth):
    """Job -> progress -> the new speaker answers by name -> DELETE removes it; a second POST
    meanwhile is a 409; the job ran at nice 19 with one thread."""
    url, app, voices = enrolling
    data = {"name": "dora", "transcript": ["abc def"] * 3}
    r = httpx.post(f"{url}/v1/voices", headers=AUTH, data=data,
                   files=_files(2, **{"noisy.wav": _wav(9, noise=0.05)}), timeout=TIMEOUT)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "queued" and job["name"] == "dora" and job["files"] == 3
    assert r.headers["location"] == f"/v1/voices/jobs/{job['id']}"

    busy = httpx.post(f"{url}/v1/voices", headers=AUTH, data={"name": "erin", "transcript": ["abc"]},
                      files=_files(1), timeout=TIMEOUT)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "enrollment_busy"
    assert job["id"] in busy.json()["error"]["message"]

    seen: list[dict] = []
    done = _wait(url, job["id"], seen)
    assert done["state"] == "succeeded", done
    assert done["progress"] == 1.0 and done["error"] is None and done["stage"] == "done"
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress)
    assert done["worker"]["nice"] == 19 and done["worker"]["threads"] == 1
    warnings = "\n".join(done["warnings"])
    assert "noisy.wav: noisy (SNR estimate" in warnings and "s of speech" in warnings

    listed = httpx.get(f"{url}/v1/audio/voices", headers=AUTH, timeout=TIMEOUT).json()["voices"]
    assert {"id": "dora", "name": "dora", "speaker_id": None, "default": False, "enrolled": True} in listed
    assert (voices / "dora" / "enrollment.json").is_file() and not (voices / ".jobs" / job["id"]).exists()
    for stream in (False, True):
        r = httpx.post(f"{url}/v1/audio/speech", headers=AUTH, timeout=TIMEOUT,
                       json={"input": "Hello there.", "voice": "dora", "response_format": "pcm", "stream": stream})
        assert r.status_code == 200, r.text
        assert len(r.content) > 1000
    # the WebSocket serves it too, from the enrolled voice's own Synthesizer
    enrolled = app.state.ctx.state["enrollment"].voices["dora"].synth
    audio, frames = _ws_speak(url, "dora", "Hello there.")
    assert frames[-1] == {"type": "done"}, frames
    expected = enrolled.synthesize("Hello there.", speaker="dora").to_pcm16().astype(np.int32)
    assert len(audio) == len(expected) and np.abs(audio.astype(np.int32) - expected).max() <= 1
    _assert_same_voice_error(url, "nobody")
    r = httpx.post(f"{url}/clone", headers=AUTH, json={"text": "abc", "spk_id": "dora"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    # the base voice's own speakers are untouched
    base = httpx.post(f"{url}/v1/audio/speech", headers=AUTH, timeout=TIMEOUT,
                      json={"input": "abc", "voice": "alice", "response_format": "pcm", "stream": False})
    expected = tiny_synth.synthesize("abc", speaker="alice", sample_rate=24000).to_pcm16().tobytes()
    assert base.status_code == 200 and base.content == expected

    again = httpx.post(f"{url}/v1/voices", headers=AUTH, data={"name": "dora", "transcript": ["abc"]},
                       files=_files(1), timeout=TIMEOUT)
    assert again.status_code == 409 and again.json()["error"]["code"] == "name_taken"

    r = httpx.delete(f"{url}/v1/voices/alice", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_enrolled"
    r = httpx.delete(f"{url}/v1/voices/nobody", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 404
    r = httpx.delete(f"{url}/v1/voices/dora", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == {"id": "dora", "object": "voice", "deleted": True}
    assert not (voices / "dora").exists()
    listed = httpx.get(f"{url}/v1/audio/voices", headers=AUTH, timeout=TIMEOUT).json()["voices"]
    assert "dora" not in {v["id"] for v in listed}
    _assert_same_voice_error(url, "dora")


def test_without_transcripts_a_transcriber_is_needed(enrolling, monkeypatch, tmp_path):
    """No transcripts and no transcriber: 422 saying so. With one (the seam points at a fake),
    it runs in the job's process and its transcripts show in the job."""
    from ttsengine.server import enroll

    url, _, _ = enrolling
    monkeypatch.setattr(enroll, "TRANSCRIBER", "ttsengine.training.no_such_module:transcribe")
    r = httpx.post(f"{url}/v1/voices", headers=AUTH, data={"name": "erin"}, files=_files(2), timeout=TIMEOUT)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "transcripts_required" and "transcripts are needed" in r.text

    (tmp_path / "enroll_fake_transcriber.py").write_text(FAKE_TRANSCRIBER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(enroll, "TRANSCRIBER", "enroll_fake_transcriber:fake_transcribe")
    r = httpx.post(f"{url}/v1/voices", headers=AUTH, data={"name": "erin"}, files=_files(2), timeout=TIMEOUT)
    assert r.status_code == 202, r.text
    job = _wait(url, r.json()["id"])
    assert job["transcripts"] == ["text of 2 files"]
    assert job["state"] == "failed" and job["error"] == "the transcriber gave 1 transcripts for 2 files"


@pytest.mark.parametrize("case, expected", [
    ("no_name", (400, "invalid_value")),
    ("bad_name", (400, "invalid_value")),
    ("base_speaker", (409, "name_taken")),
    ("openai_name", (409, "name_taken")),
    ("no_files", (400, "invalid_value")),
    ("too_many_files", (413, "too_many_files")),
    ("file_too_large", (413, "file_too_large")),
    ("body_too_large", (413, "request_too_large")),
    ("not_audio", (400, "invalid_audio")),
    ("transcript_count", (400, "invalid_value")),
    ("transcripts_json_object_missing", (400, "invalid_value")),
    ("no_key", (401, "invalid_api_key")),
])
def test_enrollment_is_refused_before_any_job(enrolling, case, expected):
    url, app, _ = enrolling
    headers, data, files = dict(AUTH), {"name": "fred", "transcript": ["abc"]}, _files(1)
    if case == "no_name":
        data.pop("name")
    elif case == "bad_name":
        data["name"] = "../etc"
    elif case == "base_speaker":
        data["name"] = "bob"
    elif case == "openai_name":
        data["name"] = "Alloy"
    elif case == "no_files":
        files = [("other", ("x.txt", b"", "text/plain"))][:0]
        data["blank"] = "1"
    elif case == "too_many_files":
        files, data["transcript"] = _files(5), ["abc"] * 5
    elif case == "file_too_large":
        files = [("files", ("big.wav", b"\0" * 200_001, "audio/wav"))]
    elif case == "body_too_large":
        files = [("files", ("huge.wav", b"\0" * 1_700_000, "audio/wav"))]
    elif case == "not_audio":
        files = [("files", ("notes.wav", b"not a wave file" * 10, "audio/wav"))]
    elif case == "transcript_count":
        data["transcript"] = ["abc", "def"]
    elif case == "transcripts_json_object_missing":
        data = {"name": "fred", "transcripts": json.dumps({"other.wav": "abc"})}
    elif case == "no_key":
        headers = {}
    r = httpx.post(f"{url}/v1/voices", headers=headers, data=data, files=files or None, timeout=TIMEOUT)
    assert (r.status_code, r.json()["error"]["code"]) == expected, r.text
    enrollment = app.state.ctx.state["enrollment"]
    assert enrollment.busy is None and "fred" not in enrollment.voices


def test_transcripts_as_json_and_the_job_routes_need_the_key(enrolling):
    url, _, _ = enrolling
    for path, method in (("/v1/voices/jobs/x", "GET"), ("/v1/voices/x", "DELETE")):
        r = httpx.request(method, f"{url}{path}", timeout=TIMEOUT)
        assert r.status_code == 401, (path, r.text)
    r = httpx.get(f"{url}/v1/voices/jobs/enroll_nope", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found"
    from ttsengine.server.enroll import _transcripts

    class Form(dict):
        def getlist(self, key):
            value = self.get(key)
            return [] if value is None else value if isinstance(value, list) else [value]

    class Upload:
        def __init__(self, filename):
            self.filename = filename

    uploads = [Upload("a.wav"), Upload("b.wav")]
    assert _transcripts(Form(transcripts=json.dumps(["one", " two  words "])), uploads) == ["one", "two words"]
    assert _transcripts(Form(transcripts=json.dumps({"b.wav": "bee", "a.wav": "ay"})), uploads) == ["ay", "bee"]
    assert _transcripts(Form(transcript=["x", "y"]), uploads) == ["x", "y"]
    assert _transcripts(Form(), uploads) is None
    for bad in (Form(transcripts="[1, 2]"), Form(transcripts="nope"), Form(transcript=["x", "y"], transcripts="[]"),
                Form(transcript=["x", " "])):
        assert _transcripts(bad, uploads).status_code == 400


def test_enrollment_off_and_rate_limited(tiny_synth, tmp_path):
    from fastapi.testclient import TestClient

    from ttsengine.server import create_app

    with TestClient(create_app(ServerConfig(synthesizer=tiny_synth, rate=None))) as client:
        r = client.post("/v1/voices", data={"name": "x", "transcript": ["abc"]}, files=_files(1))
        assert r.status_code == 403 and "--voices-dir" in r.json()["error"]["message"]
        assert client.get("/v1/voices/jobs/x").status_code == 403
        assert client.delete("/v1/voices/alice").json()["error"]["code"] == "not_enrolled"
    config = ServerConfig(synthesizer=tiny_synth, rate="1/minute", voices_dir=str(tmp_path / "v"))
    with TestClient(create_app(config)) as client:
        assert client.post("/v1/voices", data={"name": "../x"}).status_code == 400
        r = client.post("/v1/voices", data={"name": "../x"})
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert client.get("/v1/voices/jobs/x").status_code == 404  # polling is not rate limited


def test_enrolled_voices_are_served_again_after_a_restart(tiny_synth, tmp_path):
    """A bundle in voices_dir with its enrollment.json is served at start-up; one whose name is
    a speaker of the served voice, or whose marker is broken, is skipped."""
    from fastapi.testclient import TestClient

    from ttsengine.server import create_app
    from ttsengine.voice_factory import create_random_voice

    voices = tmp_path / "voices"
    create_random_voice(voices / "zed", name="tiny-zed", acoustic_size="tiny", vocoder="v2",
                        speakers=("alice", "zed"), seed=3)
    (voices / "zed" / "enrollment.json").write_text(json.dumps({"name": "zed"}))
    (voices / "bob").mkdir()
    (voices / "bob" / "enrollment.json").write_text(json.dumps({"name": "bob"}))
    (voices / "broken").mkdir()
    (voices / "broken" / "enrollment.json").write_text("{")
    config = ServerConfig(synthesizer=tiny_synth, rate=None, voices_dir=str(voices))
    with TestClient(create_app(config)) as client:
        listed = {v["id"]: v for v in client.get("/v1/audio/voices").json()["voices"]}
        assert listed["zed"]["enrolled"] is True and "enrolled" not in listed["bob"]
        r = client.post("/v1/audio/speech", json={"input": "Hello.", "voice": "zed", "response_format": "pcm",
                                                  "stream": False})
        assert r.status_code == 200 and len(r.content) > 1000
        assert client.delete("/v1/voices/bob").status_code == 403
        assert client.delete("/v1/voices/zed").status_code == 200
    assert not (voices / "zed").exists() and (voices / "bob").exists()
