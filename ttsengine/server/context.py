"""What the routes and the middleware of one app share (``app.state.ctx``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from .config import ServerConfig
from .metrics import Metrics

__all__ = ["ServerContext", "get_context"]


@dataclass
class ServerContext:
    """One app's configuration, metrics and run-time state.

    ``state`` holds what the lifespan loads: ``synth``, ``batcher``, ``busy_wav`` (the
    WAV sent with a 429 on /clone), ``stream_pool`` (threads of streamed requests),
    ``aliases`` (OpenAI voice name -> speaker) and ``enrollment`` (the voices enrolled over
    HTTP and their jobs: :class:`~ttsengine.server.enroll.Enrollment`; None when off).
    """

    config: ServerConfig
    metrics: Metrics = field(default_factory=Metrics)
    state: dict[str, Any] = field(default_factory=lambda: {"synth": None, "batcher": None, "busy_wav": None,
                                                           "stream_pool": None, "aliases": {},
                                                           "enrollment": None})


def get_context(request: Request) -> ServerContext:
    """FastAPI dependency: the context of the app serving ``request``."""
    return request.app.state.ctx
