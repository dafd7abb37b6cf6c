"""The gate in front of every route: body size, auth, rate limit, request metrics.

It knows two kinds of ASGI connection, ``http`` and ``websocket``, and checks both (API
key, rate limit); ``lifespan`` passes through; any other kind is refused (fails closed).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import time
from typing import Any

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection
from fastapi.responses import Response
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .context import ServerContext
from .protocol import ENROLL_FORM_SLACK, ENROLL_PATH, LIMITED_PATHS, MAX_BODY_BYTES, PROTECTED_PREFIXES, error

__all__ = ["Gate", "client_address"]

logger = logging.getLogger("ttsengine")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _bearer(request: HTTPConnection) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>``, or for a WebSocket (whose
    browser API sets no headers) also ``?api_key=<key>``."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    if request.scope.get("type") == "websocket":
        return request.query_params.get("api_key", "").strip() or None
    return None


def _in(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope: dict, networks: tuple[Any, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy."""
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    if not networks or not _in(address, networks):
        return address
    forwarded = [value.decode("latin-1") for name, value in scope.get("headers", ())
                 if name == b"x-forwarded-for"]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(hop, networks):
            return hop
    return address


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
        #: digest -> bucket name of each accepted key (compared in constant time)
        self.keys = [(_digest(key), f"key{index}") for index, key in enumerate(ctx.config.api_keys)]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self.inner(scope, receive, send)
            return
        if kind == "websocket":
            await self._websocket(scope, receive, send)
            return
        if kind != "http":  # an ASGI scope this gate does not know: refused, never passed on
            logger.warning("refused an ASGI connection of unknown type %r", kind)
            return
        metrics = self.ctx.metrics
        path = scope["path"]
        response = await self._check(Request(scope, receive), path)
        if response is None:
            limit = self._body_limit(scope)
            response = self._too_large(scope, limit)
            receive = self._limited(receive, limit)
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

    def _body_limit(self, scope: dict) -> int:
        """MAX_BODY_BYTES; for an enrollment upload (POST /v1/voices on a server that enrolls)
        ``enroll_max_total_bytes`` + ENROLL_FORM_SLACK."""
        config = self.ctx.config
        if scope["path"] == ENROLL_PATH and scope.get("method") == "POST" and config.voices_dir:
            return config.enroll_max_total_bytes + ENROLL_FORM_SLACK
        return MAX_BODY_BYTES

    def _too_large(self, scope: dict, limit: int) -> Response | None:
        """413 for a declared body over ``limit`` (an undeclared one is cut while read)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                self.ctx.metrics.rejections.labels("too_large").inc()
                return error(413, f"the request body is over {limit} bytes", code="request_too_large")
        return None

    def _limited(self, receive: Any, limit: int) -> Any:
        """``receive`` that raises 413 once a (chunked) body passes ``limit``."""
        seen = 0
        metrics = self.ctx.metrics

        async def receive_limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    metrics.rejections.labels("too_large").inc()
                    # fastapi's HTTPException: its body reader re-raises that one (others become a 400)
                    raise HTTPException(413, f"the request body is over {limit} bytes")
            return message

        return receive_limited

    async def _websocket(self, scope: dict, receive: Any, send: Any) -> None:
        """A WebSocket handshake is checked like a POST: API key, then rate limit; a refused
        one is closed before it is accepted (the client sees HTTP 403)."""
        request = HTTPConnection(scope)
        path = scope.get("path", "")
        bucket = self._key_bucket(request)
        refused = self.keys and bucket is None
        if refused:
            self.ctx.metrics.rejections.labels("auth").inc()
        elif self._limited_retry(bucket or "ip:" + client_address(scope, self.ctx.config.proxy_networks)):
            refused = True
        self.ctx.metrics.requests.labels(path, "403" if refused else "101").inc()
        if refused:
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.inner(scope, receive, send)

    def _key_bucket(self, request: HTTPConnection) -> str | None:
        """The bucket of the request's API key if it is an accepted one, else None. Every
        configured key is compared, in constant time, whatever matches."""
        key = _bearer(request)
        if key is None:
            return None
        digest, found = _digest(key), None
        for known, bucket in self.keys:
            if hmac.compare_digest(digest, known):
                found = bucket
        return found

    def _limited_retry(self, client: str) -> str | None:
        """Counts a request of ``client``; the Retry-After seconds if it is over the limit."""
        if self.limiter is None:
            return None
        for item in self.rate_items:
            if not self.limiter.hit(item, client):
                reset = self.limiter.get_window_stats(item, client).reset_time
                self.ctx.metrics.rejections.labels("rate_limit").inc()
                return str(max(1, math.ceil(reset - time.time())))
        return None

    async def _check(self, request: Request, path: str) -> Response | None:
        config, metrics, state = self.ctx.config, self.ctx.metrics, self.ctx.state
        bucket = self._key_bucket(request) if self.keys else None
        if self.keys and path.startswith(PROTECTED_PREFIXES) and bucket is None:
            metrics.rejections.labels("auth").inc()
            return error(401, "Incorrect or missing API key: send Authorization: Bearer <key>.",
                         code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        if self.limiter is not None and path in LIMITED_PATHS and request.method == "POST":
            # a bucket per accepted key; without keys, per client address (a header the
            # client chooses never picks its bucket)
            client = bucket or "ip:" + client_address(request.scope, config.proxy_networks)
            retry = self._limited_retry(client)
            if retry is not None:
                headers = {"Retry-After": retry}
                if path == "/clone" and state["busy_wav"] is not None:
                    return Response(state["busy_wav"], status_code=429, media_type="audio/wav", headers=headers)
                return error(429, f"Rate limit reached ({config.rate} per client); retry in {retry} s.",
                             type_="rate_limit_error", code="rate_limit_exceeded", headers=headers)
        return None
