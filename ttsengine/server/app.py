"""The FastAPI app: OpenAI-compatible ``/v1/audio/speech``, ``/clone``, health, metrics."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Annotated, Any, Callable, Literal, Optional, Union

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._version import __version__
from ..errors import InvalidInputError, TTSEngineError
from .batcher import Batcher, QueueFull
from .captioned import router as captioned_router
from .captioned import words_json
from .config import ServerConfig
from .encode import MEDIA_TYPES, StreamEncoder, encode
from .websocket import router as websocket_router

__all__ = ["create_app"]

logger = logging.getLogger("ttsengine")

#: OpenAI's speech endpoint returns 24 kHz audio (``pcm`` is defined as 24 kHz).
OPENAI_RATE = 24000
BUSY_TEXT = "Please try again later."
RETRY_AFTER_QUEUE_S = 1
#: Largest request body read (4096 characters of input, each escaped as \\uXXXX, fit 8 times).
MAX_BODY_BYTES = 64 * 1024
LIMITED_PATHS = ("/v1/audio/speech", "/clone", "/v1/audio/speech/captioned")
PROTECTED_PREFIXES = ("/v1/", "/clone")


def _not_bool(value: Any) -> Any:
    """JSON true / false are not numbers (pydantic would read them as 1 / 0)."""
    if isinstance(value, bool):
        raise ValueError("must not be a boolean (true / false)")
    return value


#: A number (or a speaker id) field that refuses true / false.
NoBool = BeforeValidator(_not_bool)


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: Optional[str] = None
    input: str = Field(min_length=1, max_length=4096)
    voice: Annotated[Optional[Union[str, int]], NoBool] = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, NoBool] = Field(default=1.0, ge=0.25, le=4.0)
    instructions: Optional[str] = None
    stream_format: Literal["audio", "sse"] = "audio"


class CloneRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=500)
    spk_id: Annotated[Union[int, str], NoBool] = 0


def _error(status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
           code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("ttsengine_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.queue_depth = Gauge("ttsengine_queue_depth", "requests waiting or being synthesized", registry=r)
        self.batch_size = Histogram("ttsengine_batch_size", "requests per synthesis batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.synthesis_seconds = Histogram("ttsengine_synthesis_seconds", "seconds per synthesis batch",
                                           registry=r)
        self.audio_seconds = Counter("ttsengine_audio_seconds", "seconds of audio produced", registry=r)
        self.rejections = Counter("ttsengine_rejections", "requests rejected before synthesis",
                                  ["reason"], registry=r)
        self.time_to_first_byte = Histogram(
            "ttsengine_time_to_first_byte_seconds", "speech requests answered 200: arrival to first body byte",
            ["route"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.request_rtf = Histogram(
            "ttsengine_request_rtf", "batched speech requests: wall seconds (queue + synthesis) per audio second",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5), registry=r)


def _client_id(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return "key:" + hashlib.sha256(auth[7:].strip().encode()).hexdigest()[:32]
    host = request.client.host if request.client else "unknown"
    return "ip:" + host


def create_app(config: ServerConfig) -> FastAPI:
    metrics = _Metrics()
    limiter = MovingWindowRateLimiter(MemoryStorage()) if config.rate else None
    rate_items = parse_many(config.rate) if config.rate else []
    state: dict[str, Any] = {"synth": None, "batcher": None, "busy_wav": None, "stream_pool": None}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        synth = config.synthesizer
        if synth is None:
            from ..synthesizer import Synthesizer

            synth = await asyncio.to_thread(Synthesizer, config.voice, device=config.device,
                                            backend=config.backend, precision=config.precision,
                                            lexicon=config.lexicon)
        batcher = Batcher(synth, max_batch=config.max_batch, max_wait_ms=config.max_wait_ms,
                          max_queue=config.max_queue, on_batch=_on_batch)
        batcher.start()
        state["busy_wav"] = await asyncio.to_thread(_busy_reply, synth)
        state["stream_pool"] = ThreadPoolExecutor(thread_name_prefix="ttsengine-stream")
        state["synth"], state["batcher"] = synth, batcher
        try:
            yield
        finally:
            state["synth"] = None
            await batcher.stop()
            state["stream_pool"].shutdown(wait=False, cancel_futures=True)

    def _on_batch(size: int, seconds: float) -> None:
        metrics.batch_size.observe(size)
        metrics.synthesis_seconds.observe(seconds)

    app = FastAPI(title="ttsengine", version=__version__, lifespan=lifespan)
    app.state.ttsengine = state
    app.state.metrics = metrics

    # -- errors in OpenAI's shape ------------------------------------------------------
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
        param = ".".join(loc) or None
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query')) or 'body'}: {e.get('msg')}"
            for e in errors) or "invalid request"
        return _error(400, message, param=param, code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return _error(exc.status_code, str(exc.detail), type_=type_, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        """A bug, not bad input: 500 in OpenAI's shape (Starlette re-raises it, uvicorn logs it)."""
        return _error(500, f"internal error: {type(exc).__name__}", type_="server_error", code="internal_error")

    # -- auth, rate limit, request metrics -----------------------------------------------
    class Gate:
        """Auth and rate limit before the app, request metrics after it. A pure ASGI
        middleware (not ``@app.middleware``, whose wrapper ends a streamed body cleanly even
        when the stream fails): a failure in the middle of a response reaches the server,
        which cuts the connection, so the client sees an incomplete body, not a short file."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await self.inner(scope, receive, send)
                return
            path = scope["path"]
            response = await _check(Request(scope, receive), path)
            if response is None:
                response = _too_large(scope)
                receive = _limited(receive)
            if response is not None:
                metrics.requests.labels(path, str(response.status_code)).inc()
                await response(scope, receive, send)
                return
            status, started, first_byte = 500, time.perf_counter(), path in LIMITED_PATHS

            async def send_status(message: dict) -> None:
                nonlocal status, first_byte
                if message["type"] == "http.response.start":
                    status = message["status"]
                elif first_byte and status == 200 and message.get("body"):
                    metrics.time_to_first_byte.labels(path).observe(time.perf_counter() - started)
                    first_byte = False
                await send(message)

            try:
                await self.inner(scope, receive, send_status)
            finally:
                route = scope.get("route")
                route_path = getattr(route, "path", None) or ("unmatched" if status == 404 else path)
                metrics.requests.labels(route_path, str(status)).inc()

    app.add_middleware(Gate)
    app.include_router(captioned_router(state, metrics))  # POST /v1/audio/speech/captioned
    app.include_router(websocket_router(state, lambda: config.api_key, metrics))  # WS /v1/audio/speech/ws

    def _too_large(scope: dict) -> Response | None:
        """413 for a declared body over MAX_BODY_BYTES (an undeclared one is cut while read)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
                metrics.rejections.labels("too_large").inc()
                return _error(413, f"the request body is over {MAX_BODY_BYTES} bytes",
                              code="request_too_large")
        return None

    def _limited(receive: Any) -> Any:
        """``receive`` that raises 413 once a (chunked) body passes MAX_BODY_BYTES."""
        seen = 0

        async def receive_limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY_BYTES:
                    metrics.rejections.labels("too_large").inc()
                    # fastapi's HTTPException: its body reader re-raises that one (others become a 400)
                    raise HTTPException(413, f"the request body is over {MAX_BODY_BYTES} bytes")
            return message

        return receive_limited

    async def _check(request: Request, path: str) -> Response | None:
        if config.api_key is not None and path.startswith(PROTECTED_PREFIXES):
            auth = request.headers.get("authorization", "")
            if auth[:7].lower() != "bearer " or auth[7:].strip() != config.api_key:
                metrics.rejections.labels("auth").inc()
                return _error(401, "Incorrect or missing API key: send Authorization: Bearer <key>.",
                              code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        if limiter is not None and path in LIMITED_PATHS and request.method == "POST":
            client = _client_id(request)
            for item in rate_items:
                if not limiter.hit(item, client):
                    reset = limiter.get_window_stats(item, client).reset_time
                    retry = str(max(1, math.ceil(reset - time.time())))
                    metrics.rejections.labels("rate_limit").inc()
                    headers = {"Retry-After": retry}
                    if path == "/clone" and state["busy_wav"] is not None:
                        return Response(state["busy_wav"], status_code=429, media_type="audio/wav",
                                        headers=headers)
                    return _error(429, f"Rate limit reached ({config.rate} per client); retry in {retry} s.",
                                  type_="rate_limit_error", code="rate_limit_exceeded", headers=headers)
        return None

    # -- synthesis ---------------------------------------------------------------------
    def _speaker(voice: Any, param: str) -> int | JSONResponse:
        synth = state["synth"]
        try:
            return synth.voice.speaker_id(voice)
        except InvalidInputError as exc:
            return _error(400, str(exc), param=param, code="invalid_voice")

    async def _synthesize(text: str, speaker: int, speed: float, sample_rate: int | None, param: str):
        batcher: Batcher = state["batcher"]
        if batcher is None:
            return _error(503, "the voice is not loaded yet", type_="server_error", code="not_ready",
                          headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
        try:
            metrics.queue_depth.set(batcher.depth + 1)
            started = time.perf_counter()
            audio = await batcher.submit(text, speaker=speaker, speed=speed, sample_rate=sample_rate)
            metrics.request_rtf.observe((time.perf_counter() - started) / max(audio.duration, 1e-3))
            return audio
        except QueueFull:
            metrics.rejections.labels("queue_full").inc()
            return _error(503, f"the server is busy ({batcher.max_queue} requests queued); retry later",
                          type_="server_error", code="queue_full",
                          headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
        except InvalidInputError as exc:
            return _error(400, str(exc), param=param, code="invalid_value")
        except TTSEngineError as exc:
            logger.exception("synthesis failed")
            return _error(500, f"synthesis failed: {exc}", type_="server_error", code="synthesis_failed")
        finally:
            metrics.queue_depth.set(batcher.depth)

    @app.post("/v1/audio/speech")
    async def speech(body: SpeechRequest):
        if body.instructions:
            logger.info("/v1/audio/speech: 'instructions' is not supported and was ignored")
        speaker = _speaker(body.voice, "voice")
        if isinstance(speaker, JSONResponse):
            return speaker
        if "stream_format" in body.model_fields_set:  # else the whole file, from a batch
            return await _stream(body, speaker)
        audio = await _synthesize(body.input, speaker, body.speed, OPENAI_RATE, "input")
        if isinstance(audio, Response):
            return audio
        metrics.audio_seconds.inc(audio.duration)
        data, media_type = await asyncio.to_thread(encode, audio, body.response_format)
        return Response(data, media_type=media_type)

    async def _stream(body: SpeechRequest, speaker: int) -> Response:
        """Chunks from ``synthesize_stream`` encoded in ``response_format`` as they are made
        (outside the batches; the request holds a queue slot until it ends or its client
        leaves). ``stream_format="audio"``: the bytes of one file. ``"sse"``: those bytes
        base64'd in ``speech.audio.delta`` events, then ``speech.audio.done`` whose usage
        counts input_tokens = characters of ``input``, output_tokens = mel frames (of
        hop_length / model_sample_rate seconds) of the audio sent; a failure midway ends
        it with an ``error`` event holding OpenAI's error object."""
        batcher: Batcher = state["batcher"]
        if batcher is None or not batcher.try_reserve():
            metrics.rejections.labels("queue_full").inc()
            return _error(503, "the server is busy; retry later", type_="server_error", code="queue_full",
                          headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
        metrics.queue_depth.set(batcher.depth)
        synth, pool = state["synth"], state["stream_pool"]
        try:
            chunks = await asyncio.to_thread(synth.synthesize_stream, body.input, speaker=speaker,
                                             speed=body.speed, sample_rate=OPENAI_RATE)
        except BaseException as exc:
            batcher.release()
            metrics.queue_depth.set(batcher.depth)
            if isinstance(exc, InvalidInputError):
                return _error(400, str(exc), param="input", code="invalid_value")
            raise
        encoder = StreamEncoder(body.response_format, OPENAI_RATE)
        sse = body.stream_format == "sse"
        samples, ended = 0, False
        job: Future | None = None

        def step() -> tuple[bytes, bool, tuple]:
            """On a stream thread: the next chunk's bytes, whether the stream ended, its words."""
            nonlocal samples
            chunk = next(chunks, None)
            if chunk is None:
                return encoder.finish(), True, ()
            samples += len(chunk.samples)
            metrics.audio_seconds.inc(chunk.duration)
            return encoder.push(chunk), False, chunk.words

        def cleanup(_: object = None) -> None:
            chunks.close()
            encoder.close()

        def end() -> None:
            """Gives the queue slot back; frees the stream after its step in flight, if any
            (at once if none), never beside it. Once, however the response ended."""
            nonlocal ended
            if ended:
                return
            ended = True
            batcher.release()
            metrics.queue_depth.set(batcher.depth)
            if job is None:
                cleanup()
            else:
                job.add_done_callback(cleanup)

        async def pieces() -> AsyncIterator[bytes]:
            nonlocal job
            try:
                done = False
                while not done:
                    job = pool.submit(step)
                    data, done, words = await asyncio.wrap_future(job)
                    if words and sse:  # before the audio they are spoken in
                        yield _sse({"type": "speech.audio.words", "words": words_json(words)})
                    if data and sse:
                        yield _sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})
                    elif data:
                        yield data
                if sse:
                    voice = synth.voice
                    frames = round(samples * voice.model_sample_rate / (OPENAI_RATE * voice.hop_length))
                    usage = {"input_tokens": len(body.input), "output_tokens": frames,
                             "total_tokens": len(body.input) + frames}
                    yield _sse({"type": "speech.audio.done", "usage": usage})
            except Exception as exc:
                if not sse:
                    raise  # the body ends early; uvicorn logs it
                logger.exception("streamed synthesis failed")
                yield _sse({"type": "error", "error": {"message": f"synthesis failed: {exc}", "type": "server_error",
                                                       "param": None, "code": "synthesis_failed"}})
            finally:
                end()

        if sse:
            return _StreamResponse(pieces(), end, media_type="text/event-stream",
                                   headers={"Cache-Control": "no-cache"})
        return _StreamResponse(pieces(), end, media_type=MEDIA_TYPES[body.response_format])

    @app.post("/clone")
    async def clone(body: CloneRequest, sample_rate: Optional[int] = Query(default=None)):
        speaker = _speaker(body.spk_id, "spk_id")
        if isinstance(speaker, JSONResponse):
            return speaker
        synth = state["synth"]
        if sample_rate is not None:
            try:  # validated here, not in the batch, so a bad rate is a 400 of its own
                synth._options(speaker, 1.0, sample_rate)
            except InvalidInputError as exc:
                return _error(400, str(exc), param="sample_rate", code="invalid_value")
        audio = await _synthesize(body.text, speaker, 1.0, sample_rate, "text")
        if isinstance(audio, Response):
            return audio
        metrics.audio_seconds.inc(audio.duration)
        data = await asyncio.to_thread(audio.to_bytes, "wav")
        return Response(data, media_type="audio/wav")

    # -- status ------------------------------------------------------------------------
    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/ready")
    async def ready():
        batcher = state["batcher"]
        if state["synth"] is None or batcher is None:
            return _error(503, "the voice is not loaded", type_="server_error", code="not_ready")
        if batcher.depth >= batcher.max_queue:
            return _error(503, "the queue is full", type_="server_error", code="queue_full",
                          headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
        return {"status": "ready", "queue_depth": batcher.depth, "max_queue": batcher.max_queue}

    @app.get("/metrics")
    async def metrics_route():
        batcher = state["batcher"]
        if batcher is not None:
            metrics.queue_depth.set(batcher.depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models():
        synth = state["synth"]
        names = ["ttsengine"] + ([synth.voice.name] if synth is not None else [])
        return {"object": "list",
                "data": [{"id": name, "object": "model", "created": 0, "owned_by": "ttsengine"} for name in names]}

    @app.get("/v1/audio/voices")
    async def voices():
        synth = state["synth"]
        if synth is None:
            return _error(503, "the voice is not loaded", type_="server_error", code="not_ready")
        default = synth.voice.speaker_id(None)
        return {"object": "list", "model": synth.voice.name, "sample_rate": synth.voice.sample_rate,
                "voices": [{"id": name, "name": name, "speaker_id": sid, "default": sid == default}
                           for name, sid in synth.voice.speakers.items()]}

    # -- demo page ---------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def demo_page():
        """Type, pick a speaker, speed and format, hear it (PCM streamed via Web Audio)."""
        from importlib.resources import files

        return Response(files(__package__).joinpath("static/demo.html").read_bytes(),
                        media_type="text/html; charset=utf-8")

    return app


class _StreamResponse(StreamingResponse):
    """Calls ``on_end`` however the response ends, also when its client left before the
    body started (the body's own ``finally`` never runs then)."""

    def __init__(self, content: AsyncIterator[bytes], on_end: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.on_end = on_end

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_end()


def _sse(event: dict[str, Any]) -> bytes:
    """One server-sent event: a ``data:`` line of JSON and a blank line."""
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def _busy_reply(synth: Any) -> bytes:
    """The WAV sent with a 429 on /clone: "Please try again later." (silence if the voice
    cannot say it)."""
    from ..audio import Audio

    try:
        audio = synth.synthesize(BUSY_TEXT)
    except Exception:  # noqa: BLE001 - a voice whose front end cannot read English
        logger.warning("cannot synthesize the busy reply; using silence", exc_info=True)
        audio = Audio(np.zeros(synth.voice.sample_rate // 2, dtype=np.float32), synth.voice.sample_rate)
    return audio.to_bytes("wav")
