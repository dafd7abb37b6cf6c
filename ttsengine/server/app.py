"""The FastAPI app: OpenAI-compatible ``/v1/audio/speech``, ``/clone``, health, metrics.

The pieces live in their own modules: request models and the error shape in
:mod:`.protocol`, the auth / rate-limit gate in :mod:`.middleware`, the routes in
:mod:`.routes`. New routes go in a router of their own, listed in :data:`ROUTERS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._version import __version__
from .batcher import Batcher
from .config import ServerConfig
from .context import ServerContext
from .middleware import Gate
from .protocol import BUSY_TEXT, MAX_BODY_BYTES, error
from .enroll import Enrollment, enroll_router
from .routes import speech_router, status_router
from .voices import check_aliases
from .websocket import router as websocket_router

__all__ = ["create_app", "ROUTERS", "MAX_BODY_BYTES"]

logger = logging.getLogger("ttsengine")

#: Every router of the app, included in this order.
ROUTERS = (speech_router, status_router, enroll_router)


def create_app(config: ServerConfig) -> FastAPI:
    ctx = ServerContext(config)
    metrics, state = ctx.metrics, ctx.state

    def _on_batch(size: int, seconds: float) -> None:
        metrics.batch_size.observe(size)
        metrics.synthesis_seconds.observe(seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        synth = config.synthesizer
        if synth is None:
            from ..synthesizer import Synthesizer

            synth = await asyncio.to_thread(Synthesizer, config.voice, device=config.device,
                                            backend=config.backend, precision=config.precision,
                                            lexicon=config.lexicon)
        state["aliases"] = check_aliases(synth, config.voice_aliases)
        batcher = _batcher(synth)
        state["busy_wav"] = await asyncio.to_thread(_busy_reply, synth)
        state["stream_pool"] = ThreadPoolExecutor(thread_name_prefix="ttsengine-stream")
        state["synth"], state["batcher"] = synth, batcher
        enrollment = None
        if config.voices_dir:  # voices enrolled over HTTP, each with a Synthesizer and a batcher of its own
            enrollment = Enrollment(config, load=_load_enrolled, make_batcher=_batcher)
            await enrollment.start(synth)
            state["enrollment"] = enrollment
        try:
            yield
        finally:
            state["synth"] = None
            if enrollment is not None:
                state["enrollment"] = None
                await enrollment.stop()
            await batcher.stop()
            state["stream_pool"].shutdown(wait=False, cancel_futures=True)

    def _batcher(synth: Any) -> Batcher:
        batcher = Batcher(synth, max_batch=config.max_batch, max_wait_ms=config.max_wait_ms,
                          max_queue=config.max_queue, on_batch=_on_batch)
        batcher.start()
        return batcher

    def _load_enrolled(path: Any) -> Any:
        from ..synthesizer import Synthesizer

        return Synthesizer(path, device=config.device, backend=config.backend, precision=config.precision,
                           lexicon=config.lexicon)

    app = FastAPI(title="ttsengine", version=__version__, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.ttsengine = state
    app.state.metrics = metrics
    _add_error_handlers(app)
    app.add_middleware(Gate, ctx=ctx)
    if config.cors_origins:  # outermost: a preflight carries no API key
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"])
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(websocket_router(state, metrics))  # WS /v1/audio/speech/ws (keys: the Gate)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every error in OpenAI's shape."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
        param = ".".join(loc) or None
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query')) or 'body'}: {e.get('msg')}"
            for e in errors) or "invalid request"
        return error(400, message, param=param, code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error(exc.status_code, str(exc.detail), type_=type_, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        """A bug, not bad input: 500 in OpenAI's shape (Starlette re-raises it, uvicorn logs it)."""
        return error(500, f"internal error: {type(exc).__name__}", type_="server_error", code="internal_error")


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
