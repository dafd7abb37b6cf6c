"""The routes: speech (``/v1/audio/speech``, ``/clone``) and status (health, metrics, models,
voices, demo page). Each router is included by :func:`ttsengine.server.app.create_app`."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any, Callable, Optional

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..errors import InvalidInputError, TTSEngineError
from .batcher import Batcher, QueueFull
from .context import ServerContext, get_context
from .encode import MEDIA_TYPES, StreamEncoder, encode
from .voices import OPENAI_MODELS, Target, resolve_target
from .protocol import (OPENAI_RATE, RETRY_AFTER_QUEUE_S, CloneRequest, JSONRoute, SpeechRequest, error, sse,
                       words_json)

__all__ = ["speech_router", "status_router"]

logger = logging.getLogger("ttsengine")

speech_router = APIRouter(route_class=JSONRoute)
status_router = APIRouter()
Context = Depends(get_context)


# -- synthesis ---------------------------------------------------------------------------
def _speaker(ctx: ServerContext, voice: Any, param: str) -> Target | JSONResponse:
    """Who speaks a request's voice (:func:`~ttsengine.server.voices.resolve_target`); a 400
    ``invalid_voice`` if no one does."""
    try:
        return resolve_target(ctx.state, voice)
    except InvalidInputError as exc:
        return error(400, str(exc), param=param, code="invalid_voice")


async def _prepare(ctx: ServerContext, target: Target, text: str, speed: float, sample_rate: int | None,
                   param: str) -> Any:
    """``text`` through the voice's front end on a thread of its own (``Synthesizer.prepare``:
    validated, segmented, its audio estimated, before any synthesis); a 400 if the voice
    cannot speak it or it would give more than ``max_audio_seconds``."""
    cap = ctx.config.max_audio_seconds
    try:
        prepared = await asyncio.to_thread(target.synth.prepare, text, speaker=target.speaker, speed=speed,
                                           sample_rate=sample_rate)
    except InvalidInputError as exc:
        return error(400, str(exc), param=param, code="invalid_value")
    if cap and prepared.seconds > cap:
        ctx.metrics.rejections.labels("too_long").inc()
        return error(400, f"{param} would give about {prepared.seconds:.0f} s of audio; this server's limit per "
                          f"request is {cap:g} s: split the text", param=param, code="audio_too_long")
    return prepared


async def _synthesize(ctx: ServerContext, batcher: Batcher | None, prepared: Any, param: str):
    metrics = ctx.metrics
    if batcher is None:
        return error(503, "the voice is not loaded yet", type_="server_error", code="not_ready",
                     headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
    try:
        metrics.queue_depth.set(batcher.depth + 1)
        started = time.perf_counter()
        audio = await batcher.submit(prepared)
        metrics.request_rtf.observe((time.perf_counter() - started) / max(audio.duration, 1e-3))
        return audio
    except QueueFull:
        metrics.rejections.labels("queue_full").inc()
        return error(503, f"the server is busy ({batcher.max_queue} requests queued); retry later",
                     type_="server_error", code="queue_full", headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
    except InvalidInputError as exc:
        return error(400, str(exc), param=param, code="invalid_value")
    except TTSEngineError as exc:
        logger.exception("synthesis failed")
        return error(500, f"synthesis failed: {exc}", type_="server_error", code="synthesis_failed")
    finally:
        metrics.queue_depth.set(batcher.depth)


@speech_router.post("/v1/audio/speech")
async def speech(body: SpeechRequest, ctx: ServerContext = Context):
    if body.instructions:
        logger.info("/v1/audio/speech: 'instructions' is not supported and was ignored")
    # streamed as it is made, as OpenAI does; "stream": false: the whole file, from a batch
    audio = await _speech_audio(ctx, body, streamed=body.stream or body.stream_format == "sse")
    if isinstance(audio, Response):
        return audio
    data, media_type = await asyncio.to_thread(encode, audio, body.response_format)
    return Response(data, media_type=media_type)


async def _speech_audio(ctx: ServerContext, body: SpeechRequest, streamed: bool = False) -> Any:
    """The Audio of a speech request from a batch (or, ``streamed``, the streaming
    response); an error response for a bad voice, text over the cap or a failure."""
    target = _speaker(ctx, body.voice, "voice")
    if isinstance(target, JSONResponse):
        return target
    prepared = await _prepare(ctx, target, body.input, body.speed, OPENAI_RATE, "input")
    if isinstance(prepared, JSONResponse):
        return prepared
    if streamed:
        return await _stream(ctx, body, target, prepared)
    audio = await _synthesize(ctx, target.batcher, prepared, "input")
    if not isinstance(audio, Response):
        ctx.metrics.audio_seconds.inc(audio.duration)
    return audio


@speech_router.post("/v1/audio/speech/captioned")
async def captioned_speech(body: SpeechRequest, ctx: ServerContext = Context):
    """The audio (base64, from a batch) and its word timings: ``{"audio", "format",
    "sample_rate", "words": [{"text", "start", "end"}]}``, times in seconds from its start."""
    audio = await _speech_audio(ctx, body)
    if isinstance(audio, Response):
        return audio
    data, _ = await asyncio.to_thread(encode, audio, body.response_format)
    return {"audio": base64.b64encode(data).decode(), "format": body.response_format,
            "sample_rate": audio.sample_rate, "words": words_json(audio.words)}


async def _stream(ctx: ServerContext, body: SpeechRequest, target: Target, prepared: Any) -> Response:
    """Chunks from ``synthesize_stream`` of ``prepared`` (the request's text through the
    front end once, by :func:`_prepare`, which validated it) encoded in ``response_format``
    as they are made (outside the batches; the request holds a queue slot until it ends or
    its client leaves). ``stream_format="audio"``: the bytes of one file. ``"sse"``: those bytes
    base64'd in ``speech.audio.delta`` events, then ``speech.audio.done`` whose usage
    counts input_tokens = characters of ``input``, output_tokens = mel frames (of
    hop_length / model_sample_rate seconds) of the audio sent; a failure midway ends
    it with an ``error`` event holding OpenAI's error object."""
    metrics = ctx.metrics
    batcher = target.batcher
    if batcher is None or not batcher.try_reserve():
        metrics.rejections.labels("queue_full").inc()
        return error(503, "the server is busy; retry later", type_="server_error", code="queue_full",
                     headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
    metrics.queue_depth.set(batcher.depth)
    synth, pool = target.synth, ctx.state["stream_pool"]
    try:
        chunks = synth.synthesize_stream(prepared)  # a generator: its work starts on the stream threads
    except BaseException as exc:
        batcher.release()
        metrics.queue_depth.set(batcher.depth)
        if isinstance(exc, InvalidInputError):
            return error(400, str(exc), param="input", code="invalid_value")
        raise
    encoder = StreamEncoder(body.response_format, OPENAI_RATE)
    is_sse = body.stream_format == "sse"
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
                if words and is_sse:  # before the audio they are spoken in
                    yield sse({"type": "speech.audio.words", "words": words_json(words)})
                if data and is_sse:
                    yield sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})
                elif data:
                    yield data
            if is_sse:
                voice = synth.voice
                frames = round(samples * voice.model_sample_rate / (OPENAI_RATE * voice.hop_length))
                usage = {"input_tokens": len(body.input), "output_tokens": frames,
                         "total_tokens": len(body.input) + frames}
                yield sse({"type": "speech.audio.done", "usage": usage})
        except Exception as exc:
            if not is_sse:
                raise  # the body ends early; uvicorn logs it
            logger.exception("streamed synthesis failed")
            yield sse({"type": "error", "error": {"message": f"synthesis failed: {exc}", "type": "server_error",
                                                  "param": None, "code": "synthesis_failed"}})
        finally:
            end()

    if is_sse:
        return _StreamResponse(pieces(), end, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return _StreamResponse(pieces(), end, media_type=MEDIA_TYPES[body.response_format])


@speech_router.post("/clone")
async def clone(body: CloneRequest, sample_rate: Optional[int] = Query(default=None),
                ctx: ServerContext = Context):
    target = _speaker(ctx, body.spk_id, "spk_id")
    if isinstance(target, JSONResponse):
        return target
    if sample_rate is not None:
        try:  # validated here, not in the batch, so a bad rate is a 400 of its own
            target.synth._options(target.speaker, 1.0, sample_rate)
        except InvalidInputError as exc:
            return error(400, str(exc), param="sample_rate", code="invalid_value")
    prepared = await _prepare(ctx, target, body.text, 1.0, sample_rate, "text")
    if isinstance(prepared, JSONResponse):
        return prepared
    audio = await _synthesize(ctx, target.batcher, prepared, "text")
    if isinstance(audio, Response):
        return audio
    ctx.metrics.audio_seconds.inc(audio.duration)
    data = await asyncio.to_thread(audio.to_bytes, "wav")
    return Response(data, media_type="audio/wav")


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


# -- status ------------------------------------------------------------------------------
@status_router.get("/health")
async def health():
    return {"status": "ok"}


@status_router.get("/ready")
async def ready(ctx: ServerContext = Context):
    batcher = ctx.state["batcher"]
    if ctx.state["synth"] is None or batcher is None:
        return error(503, "the voice is not loaded", type_="server_error", code="not_ready")
    if batcher.depth >= batcher.max_queue:
        return error(503, "the queue is full", type_="server_error", code="queue_full",
                     headers={"Retry-After": str(RETRY_AFTER_QUEUE_S)})
    return {"status": "ready", "queue_depth": batcher.depth, "max_queue": batcher.max_queue}


@status_router.get("/metrics")
async def metrics_route(ctx: ServerContext = Context):
    batcher = ctx.state["batcher"]
    if batcher is not None:
        ctx.metrics.queue_depth.set(batcher.depth)
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@status_router.get("/v1/models")
async def models(ctx: ServerContext = Context):
    synth = ctx.state["synth"]
    names = ["ttsengine"] + ([synth.voice.name] if synth is not None else []) + list(OPENAI_MODELS)
    return {"object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "ttsengine"} for name in names]}


@status_router.get("/v1/audio/voices")
async def voices(ctx: ServerContext = Context):
    synth = ctx.state["synth"]
    if synth is None:
        return error(503, "the voice is not loaded", type_="server_error", code="not_ready")
    default = synth.voice.speaker_id(None)

    def known(speaker: Any) -> dict[str, Any]:
        """voice.json's ``speaker_info`` of a speaker: ``languages`` (first native), ``gender``, ``license``."""
        info = synth.voice.speaker_info(speaker)
        return {key: info[key] for key in ("languages", "gender", "license") if key in info}

    own = [{"id": name, "name": name, "speaker_id": sid, "default": sid == default, **known(name)}
           for name, sid in synth.voice.speakers.items()]
    aliases = []
    for name, target in ctx.state["aliases"].items():
        sid = synth.voice.speaker_id(target)
        aliases.append({"id": name, "name": name, "speaker_id": sid, "default": False, "alias_of": target,
                        **known(target)})
    # voices enrolled over HTTP: each a voice of its own (no id in this voice; use the name)
    enrollment = ctx.state.get("enrollment")
    enrolled = [{"id": name, "name": name, "speaker_id": None, "default": False, "enrolled": True}
                for name in (enrollment.voices if enrollment is not None else {})]
    return {"object": "list", "model": synth.voice.name, "sample_rate": synth.voice.sample_rate,
            "voices": own + enrolled + aliases}


@status_router.get("/", include_in_schema=False)
async def demo_page():
    """Type, pick a speaker, speed and format, hear it (PCM streamed via Web Audio)."""
    from importlib.resources import files

    return Response(files(__package__).joinpath("static/demo.html").read_bytes(),
                    media_type="text/html; charset=utf-8")
