"""The server in a background thread on a free loopback port (tests, notebooks, embedding)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from .config import ServerConfig

__all__ = ["serve_in_thread"]


@contextlib.contextmanager
def serve_in_thread(config: ServerConfig, *, host: str = "127.0.0.1",
                    timeout: float = 30.0) -> Iterator[tuple[str, Any]]:
    """Runs ``create_app(config)`` under uvicorn in a thread; yields ``(base_url, app)``.

    The port is a free one bound before uvicorn starts (no race). On exit the server shuts
    down (accepted requests finish) within ``timeout`` seconds, else ``RuntimeError``.
    """
    import uvicorn

    from . import create_app

    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (see the log)")
            time.sleep(0.02)
        yield f"http://{host}:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the server did not stop within {timeout} s")
