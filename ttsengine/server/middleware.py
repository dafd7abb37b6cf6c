"""The gate in front of every route: body size, auth, rate limit, request metrics."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .context import ServerContext
from .protocol import LIMITED_PATHS, MAX_BODY_BYTES, PROTECTED_PREFIXES, error

__all__ = ["Gate"]


def _client_id(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return "key:" + hashlib.sha256(auth[7:].strip().encode()).hexdigest()[:32]
    host = request.client.host if request.client else "unknown"
    return "ip:" + host


class Gate:
    """Auth and rate limit before the app, request metrics after it. A pure ASGI
    middleware (not ``@app.middleware``, whose wrapper ends a streamed body cleanly even
    when the stream fails): a failure in the middle of a response reaches the server,
    which cuts the connection, so the client sees an incomplete body, not a short file."""

    def __init__(self, inner: Any, ctx: ServerContext) -> None:
        self.inner = inner
        self.ctx = ctx
        rate = ctx.config.rate
        self.limiter = MovingWindowRateLimiter(MemoryStorage()) if rate else None
        self.rate_items = parse_many(rate) if rate else []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        metrics = self.ctx.metrics
        path = scope["path"]
        response = await self._check(Request(scope, receive), path)
        if response is None:
            response = self._too_large(scope)
            receive = self._limited(receive)
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

    def _too_large(self, scope: dict) -> Response | None:
        """413 for a declared body over MAX_BODY_BYTES (an undeclared one is cut while read)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
                self.ctx.metrics.rejections.labels("too_large").inc()
                return error(413, f"the request body is over {MAX_BODY_BYTES} bytes", code="request_too_large")
        return None

    def _limited(self, receive: Any) -> Any:
        """``receive`` that raises 413 once a (chunked) body passes MAX_BODY_BYTES."""
        seen = 0
        metrics = self.ctx.metrics

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

    async def _check(self, request: Request, path: str) -> Response | None:
        config, metrics, state = self.ctx.config, self.ctx.metrics, self.ctx.state
        if config.api_key is not None and path.startswith(PROTECTED_PREFIXES):
            auth = request.headers.get("authorization", "")
            if auth[:7].lower() != "bearer " or auth[7:].strip() != config.api_key:
                metrics.rejections.labels("auth").inc()
                return error(401, "Incorrect or missing API key: send Authorization: Bearer <key>.",
                             code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        if self.limiter is not None and path in LIMITED_PATHS and request.method == "POST":
            client = _client_id(request)
            for item in self.rate_items:
                if not self.limiter.hit(item, client):
                    reset = self.limiter.get_window_stats(item, client).reset_time
                    retry = str(max(1, math.ceil(reset - time.time())))
                    metrics.rejections.labels("rate_limit").inc()
                    headers = {"Retry-After": retry}
                    if path == "/clone" and state["busy_wav"] is not None:
                        return Response(state["busy_wav"], status_code=429, media_type="audio/wav",
                                        headers=headers)
                    return error(429, f"Rate limit reached ({config.rate} per client); retry in {retry} s.",
                                 type_="rate_limit_error", code="rate_limit_exceeded", headers=headers)
        return None
