"""``ttsengine serve``: an OpenAI-compatible speech server with cross-request batching.

``create_app(ServerConfig(...))`` returns a FastAPI app; ``ttsengine serve`` runs it with
uvicorn. This package is light to import: FastAPI, uvicorn, prometheus-client, limits and
PyAV are imported only when an app is created or the server runs (a missing one raises
:class:`~ttsengine.errors.BackendUnavailableError` naming ``pip install "ttsengine[serve]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import DEFAULT_PORT, SERVE_HINT, ServerConfig, add_arguments, require_serve_deps, run

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServerConfig", "create_app", "add_arguments", "run", "DEFAULT_PORT", "SERVE_HINT"]


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI app for ``config`` (the voice loads when the app starts)."""
    require_serve_deps()
    from .app import create_app as _create

    return _create(config or ServerConfig())
