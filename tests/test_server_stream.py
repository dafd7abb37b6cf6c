"""Streamed speech (``stream_format`` "audio" and "sse") in every format: the encoder alone,
then a real uvicorn on a loopback port spoken to over HTTP (httpx, openai)."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time

import numpy as np
import pytest

for _module in ("fastapi", "uvicorn", "httpx", "av", "limits", "prometheus_client"):
    pytest.importorskip(_module)

import av  # noqa: E402
import httpx  # noqa: E402
import soundfile as sf  # noqa: E402

from ttsengine import Audio, AudioChunk  # noqa: E402
from ttsengine.errors import InvalidInputError  # noqa: E402
from ttsengine.server import ServerConfig  # noqa: E402
from ttsengine.server.background import serve_in_thread  # noqa: E402
from ttsengine.server.encode import FORMATS, MEDIA_TYPES, StreamEncoder  # noqa: E402

TIMEOUT = 30.0
RATE = 24000
TEXT = "The first sentence is here. A second one follows it."
#: format -> (codec frame, encoder delay) in samples at 24 kHz: a decoded file may be longer
#: than its audio by up to delay + frame (priming and padding), shorter by up to a frame.
SLACK = {"pcm": (0, 0), "wav": (0, 0), "flac": (0, 0), "opus": (480, 0), "aac": (1024, 1024), "mp3": (1152, 1105)}


def serve(config: ServerConfig):
    """The app on 127.0.0.1:<free port> in a thread; yields (base_url, app)."""
    return serve_in_thread(config, timeout=TIMEOUT)


def _samples(data: bytes, fmt: str) -> np.ndarray | int:
    """The int16 samples of ``data`` (pcm, wav, flac), else how many samples at 24 kHz it
    decodes to (PyAV)."""
    if fmt == "pcm":
        return np.frombuffer(data, dtype="<i2")
    if fmt == "wav":
        samples, rate = sf.read(io.BytesIO(data), dtype="int16")
        assert rate == RATE
        return samples
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(audio=0))
    if fmt == "flac":
        assert frames[0].sample_rate == RATE
        return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]).astype(np.int16)
    return round(sum(frame.samples for frame in frames) * RATE / frames[0].sample_rate)


def _assert_decodes_to(data: bytes, fmt: str, reference: Audio) -> None:
    """``data`` holds ``reference``: exactly (pcm, wav, flac) or to within SLACK."""
    decoded = _samples(data, fmt)
    if isinstance(decoded, np.ndarray):
        assert len(decoded) == len(reference.samples)
        assert np.abs(decoded.astype(np.int32) - reference.to_pcm16()).max() <= 2
    else:
        frame, delay = SLACK[fmt]
        assert -frame <= decoded - len(reference.samples) <= frame + delay, (decoded, len(reference.samples))


def _length_so_far(data: bytes, fmt: str) -> int:
    """Samples that the start of a stream decodes to (0 while it holds no audio yet)."""
    try:
        decoded = _samples(data, fmt)
    except (av.error.FFmpegError, sf.LibsndfileError, IndexError):
        return 0
    return len(decoded) if isinstance(decoded, np.ndarray) else decoded


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def _encode_in_chunks(fmt: str, samples: np.ndarray, size: int) -> list[bytes]:
    """What a StreamEncoder returns for each push of ``size`` samples, then for finish()."""
    encoder = StreamEncoder(fmt, RATE)
    out = [encoder.push(AudioChunk(samples[i:i + size], RATE, is_last=False)) for i in range(0, len(samples), size)]
    out.append(encoder.finish())
    encoder.close()
    return out


# -- the encoder alone ---------------------------------------------------------------------

def test_streamed_wav_has_exactly_one_header():
    samples = _wave(1.0)
    data = b"".join(_encode_in_chunks("wav", samples, 5000))
    assert data.count(b"RIFF") == 1 and data.count(b"WAVEfmt ") == 1
    assert struct.unpack("<I", data[4:8])[0] == struct.unpack("<I", data[40:44])[0] == 0xFFFFFFFF
    assert len(data) == 44 + 2 * len(samples)  # one header, then PCM, no trailer
    _assert_decodes_to(data, "wav", Audio(samples, RATE))


def test_streamed_flac_is_not_patched_after_its_close():
    """A muxer that may seek rewrites FLAC's STREAMINFO at the close, over bytes already
    sent: the stream's sink cannot seek, so the header is written once, padding-free."""
    samples = _wave(1.5)
    pieces = _encode_in_chunks("flac", samples, 7000)
    data = b"".join(pieces)
    assert data.count(b"fLaC") == 1 and pieces[0].startswith(b"fLaC")
    assert len(pieces[-1]) < 4000  # the close adds the last frames only
    _assert_decodes_to(data, "flac", Audio(samples, RATE))


def test_streamed_opus_keeps_its_last_pages():
    """Ogg writes its last pages when the muxer closes: they are read after the close."""
    samples = _wave(2.5)
    pieces = _encode_in_chunks("opus", samples, 12000)
    assert len(pieces[-1]) > 0
    _assert_decodes_to(b"".join(pieces), "opus", Audio(samples, RATE))
    assert _samples(b"".join(pieces[:-1]), "opus") < len(samples) - 0.1 * RATE  # the end is in the last read


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac"])
def test_encoders_hand_out_bytes_chunk_by_chunk(fmt):
    """Every chunk from the second on brings audio (Ogg pages of 200 ms, not 1 s)."""
    samples = _wave(1.5, seed=1)
    pieces = _encode_in_chunks(fmt, samples, int(0.3 * RATE))
    assert all(pieces[1:-1]), [len(p) for p in pieces]
    assert _length_so_far(b"".join(pieces[:2]), fmt) >= 0.2 * RATE  # after 0.6 s went in
    _assert_decodes_to(b"".join(pieces), fmt, Audio(samples, RATE))


# -- over HTTP -----------------------------------------------------------------------------

class _GatedSynth:
    """Wraps a Synthesizer: its streams hold their last chunk back until ``gate`` is set
    (``waiting`` says they got there), and set ``closed`` when they are closed."""

    def __init__(self, synth) -> None:
        self.synth = synth
        self.voice = synth.voice
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.closed = threading.Event()

    def synthesize(self, *args, **kwargs):
        return self.synth.synthesize(*args, **kwargs)

    def synthesize_prepared(self, *args, **kwargs):
        return self.synth.synthesize_prepared(*args, **kwargs)

    def prepare(self, *args, **kwargs):
        return self.synth.prepare(*args, **kwargs)

    def synthesize_stream(self, *args, **kwargs):
        self.closed.clear()
        self.waiting.clear()
        return self._gated(self.synth.synthesize_stream(*args, **kwargs))

    def _gated(self, chunks):
        try:
            for chunk in chunks:
                if chunk.is_last:
                    self.waiting.set()
                    if not self.gate.wait(2 * TIMEOUT):
                        raise TimeoutError("the gate stayed shut")
                yield chunk
        finally:
            chunks.close()
            self.closed.set()


@pytest.fixture(scope="module")
def server(tiny_synth):
    with serve(ServerConfig(synthesizer=tiny_synth, rate=None, max_wait_ms=5)) as running:
        yield running


@pytest.fixture(scope="module")
def gated(tiny_synth):
    """A server with one queue slot whose streams wait at their last chunk: (url, synth)."""
    synth = _GatedSynth(tiny_synth)
    with serve(ServerConfig(synthesizer=synth, rate=None, max_queue=1)) as (url, _):
        yield url, synth


@pytest.fixture(scope="module")
def reference(tiny_synth):
    return tiny_synth.synthesize(TEXT, speaker="bob", sample_rate=RATE)


def _queue_depth(url: str) -> int:
    return httpx.get(f"{url}/ready", timeout=TIMEOUT).json().get("queue_depth", -1)


def _wait_for_empty_queue(url: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while _queue_depth(url) != 0:
        assert time.monotonic() < deadline, "the stream's queue slot was not given back"
        time.sleep(0.05)


def _events(text: str) -> list[dict]:
    """The JSON of each ``data:`` event of an SSE body (events end with a blank line)."""
    assert text.endswith("\n\n")
    blocks = text[:-2].split("\n\n")
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks), blocks[:2]
    return [json.loads(block[len("data: "):]) for block in blocks]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_the_right_duration(server, reference, fmt, streamed):
    url, _ = server
    body = {"model": "tts-1", "input": TEXT, "voice": "bob", "response_format": fmt}
    if not streamed:  # streamed is the default (as OpenAI's); "stream": false buffers
        body["stream"] = False
    with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == MEDIA_TYPES[fmt]
        assert (response.headers.get("transfer-encoding") == "chunked") == streamed
        data = response.read()
    if fmt == "wav":
        assert data.count(b"RIFF") == 1
        assert (struct.unpack("<I", data[40:44])[0] == 0xFFFFFFFF) == streamed
    _assert_decodes_to(data, fmt, reference)


@pytest.mark.parametrize("body", [{"stream": False}, {"stream_format": "audio"}, {"stream_format": "sse"}],
                         ids=["whole", "streamed", "sse"])
def test_one_request_runs_the_front_end_once(server, tiny_synth, reference, monkeypatch, body):
    """The text is validated, segmented and checked against the cap once (``prepare``); the
    stream synthesizes those segments, not the text through the front end again."""
    url, _ = server
    calls: list[str] = []
    segments = tiny_synth.frontend.segments

    def counted(text, *args, **kwargs):
        calls.append(text)
        return segments(text, *args, **kwargs)

    monkeypatch.setattr(tiny_synth.frontend, "segments", counted)
    response = httpx.post(f"{url}/v1/audio/speech", timeout=TIMEOUT,
                          json={"input": TEXT, "voice": "bob", "response_format": "pcm", **body})
    assert response.status_code == 200, response.text
    assert calls == [TEXT]
    if body.get("stream_format") != "sse":
        assert len(_samples(response.content, "pcm")) == len(reference.samples)


def test_a_prepared_text_streams_as_its_text_does(tiny_synth):
    prepared = tiny_synth.prepare(TEXT, speaker="bob", speed=1.2, sample_rate=RATE)
    chunks = list(tiny_synth.synthesize_stream(prepared))
    again = list(tiny_synth.synthesize_stream(TEXT, speaker="bob", speed=1.2, sample_rate=RATE))
    assert [c.words for c in chunks] == [c.words for c in again] and chunks[-1].is_last
    np.testing.assert_allclose(np.concatenate([c.samples for c in chunks]),
                               np.concatenate([c.samples for c in again]), atol=1e-5)
    assert {c.sample_rate for c in chunks} == {RATE}
    with pytest.raises(InvalidInputError, match="prepare"):
        tiny_synth.synthesize_stream(prepared, speaker="alice")


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "aac", "flac"])
def test_first_bytes_leave_before_synthesis_ends(gated, tiny_synth, fmt):
    """The stream's last chunk is held back: audio must arrive before it is made."""
    url, synth = gated
    synth.gate.clear()
    reference = tiny_synth.synthesize(TEXT, speaker=0, sample_rate=RATE)
    body = {"input": TEXT, "voice": "alice", "response_format": fmt, "stream_format": "audio"}
    data = b""
    try:
        with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT) as response:
            assert response.status_code == 200
            pieces = response.iter_raw()
            while not synth.gate.is_set():
                data += next(pieces)
                if _length_so_far(data, fmt) >= 0.3 * RATE:
                    synth.gate.set()
            data += b"".join(pieces)
    finally:
        synth.gate.set()
    _assert_decodes_to(data, fmt, reference)
    _wait_for_empty_queue(url)


@pytest.mark.parametrize("fmt", FORMATS)
def test_sse_deltas_then_done(server, reference, tiny_synth, fmt):
    url, _ = server
    body = {"input": TEXT, "voice": "bob", "response_format": fmt, "stream_format": "sse"}
    response = httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    words = [w["text"] for e in events if e["type"] == "speech.audio.words" for w in e["words"]]  # (#24)
    assert words == [w.text for w in reference.words]
    *deltas, done = [e for e in events if e["type"] != "speech.audio.words"]
    assert len(deltas) > 1 and all(set(e) == {"type", "audio"} and e["type"] == "speech.audio.delta" for e in deltas)
    _assert_decodes_to(b"".join(base64.b64decode(e["audio"]) for e in deltas), fmt, reference)
    # usage: characters of input; mel frames of the audio
    voice = tiny_synth.voice
    frames = round(len(reference.samples) * voice.model_sample_rate / (RATE * voice.hop_length))
    assert done == {"type": "speech.audio.done",
                    "usage": {"input_tokens": len(TEXT), "output_tokens": frames, "total_tokens": len(TEXT) + frames}}


def test_openai_client_streams_audio_and_sse(server, reference):
    openai = pytest.importorskip("openai")
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="anything", timeout=TIMEOUT, max_retries=0)
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="bob", input=TEXT, response_format="mp3", stream_format="audio") as response:
        assert response.headers["content-type"] == "audio/mpeg"
        pieces = list(response.iter_bytes())
    _assert_decodes_to(b"".join(pieces), "mp3", reference)
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="bob", input=TEXT, response_format="pcm", stream_format="sse") as response:
        events = [json.loads(line[len("data: "):]) for line in response.iter_lines() if line]
    events = [e for e in events if e["type"] != "speech.audio.words"]  # word timings (#24)
    assert [e["type"] for e in events][-1] == "speech.audio.done"
    _assert_decodes_to(b"".join(base64.b64decode(e["audio"]) for e in events[:-1]), "pcm", reference)
    with pytest.raises(openai.BadRequestError, match="alice"):
        with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="nobody", input=TEXT, stream_format="sse"):
            pass


# -- errors, the queue ---------------------------------------------------------------------

@pytest.mark.parametrize("stream_format", ["audio", "sse"])
@pytest.mark.parametrize("body, param", [
    ({"input": "   "}, "input"),
    ({"input": TEXT, "voice": "nobody"}, "voice"),
    ({"input": TEXT, "response_format": "ogg"}, "response_format"),
    ({"input": TEXT, "speed": 9}, "speed"),
])
def test_errors_before_a_stream_are_openai_json(server, stream_format, body, param):
    url, _ = server
    response = httpx.post(f"{url}/v1/audio/speech", json={**body, "stream_format": stream_format}, timeout=TIMEOUT)
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert _queue_depth(url) == 0


def test_a_stream_holds_its_queue_slot_and_a_full_queue_is_503(gated):
    url, synth = gated
    synth.gate.clear()
    body = {"input": TEXT, "response_format": "opus", "stream_format": "audio"}
    try:
        with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT) as response:
            pieces = response.iter_raw()  # kept: a dropped iterator closes the connection
            assert response.status_code == 200
            first = next(pieces)
            assert httpx.get(f"{url}/ready", timeout=TIMEOUT).status_code == 503  # its slot is the only one
            for stream_format in ("sse", "audio"):
                busy = httpx.post(f"{url}/v1/audio/speech", json={**body, "stream_format": stream_format},
                                  timeout=TIMEOUT)
                assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
                assert busy.json()["error"]["code"] == "queue_full"
            synth.gate.set()
            assert _length_so_far(first + b"".join(pieces), "opus") > 0
    finally:
        synth.gate.set()
    _wait_for_empty_queue(url)


@pytest.mark.parametrize("stream_format", ["audio", "sse"])
def test_a_client_leaving_mid_stream_frees_its_slot_and_its_stream(gated, stream_format):
    """The client leaves while its stream waits for the last chunk: the slot comes back at
    once; the synthesizer's stream (and the encoder) are closed once that chunk is done."""
    url, synth = gated
    synth.gate.clear()
    body = {"input": TEXT, "response_format": "mp3", "stream_format": stream_format}
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
                pieces = response.iter_raw()
                assert response.status_code == 200 and next(pieces)
                assert synth.waiting.wait(TIMEOUT)
        _wait_for_empty_queue(url)
        assert not synth.closed.is_set()
    finally:
        synth.gate.set()
    assert synth.closed.wait(TIMEOUT)
    ok = httpx.post(f"{url}/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm", "stream_format": "sse"},
                    timeout=TIMEOUT)
    assert ok.status_code == 200 and _events(ok.text)[-1]["type"] == "speech.audio.done"


class _FailingSynth(_GatedSynth):
    """Its streams fail after the first chunk."""

    def _gated(self, chunks):
        yield next(chunks)
        raise RuntimeError("the vocoder fell over")


def test_a_failure_mid_stream_is_an_sse_error_event(tiny_synth):
    with serve(ServerConfig(synthesizer=_FailingSynth(tiny_synth), rate=None)) as (url, _):
        body = {"input": TEXT, "response_format": "pcm", "stream_format": "sse"}
        events = _events(httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT).text)
        events = [e for e in events if e["type"] != "speech.audio.words"]  # word timings (#24)
        assert events[0]["type"] == "speech.audio.delta" and events[-1]["type"] == "error"
        assert events[-1]["error"]["code"] == "synthesis_failed" and "vocoder" in events[-1]["error"]["message"]
        assert set(events[-1]["error"]) == {"message", "type", "param", "code"}
        # audio: the server cuts the connection, so the client sees an incomplete body, not a short file
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{url}/v1/audio/speech", json={**body, "stream_format": "audio"}, timeout=TIMEOUT)
        assert _queue_depth(url) == 0
