"""Server configuration and the ``ttsengine serve`` command (no heavy imports here)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
from dataclasses import dataclass
from typing import Any

from ..errors import BackendUnavailableError, InvalidInputError, shown

__all__ = ["ServerConfig", "add_arguments", "run", "require_serve_deps", "DEFAULT_PORT", "SERVE_HINT"]

logger = logging.getLogger("ttsengine")

DEFAULT_PORT = 7000
SERVE_HINT = 'pip install "ttsengine[serve]"'
#: import name -> distribution, for everything the server imports beyond ttsengine's core.
SERVE_MODULES = {"fastapi": "fastapi", "uvicorn": "uvicorn", "prometheus_client": "prometheus-client",
                 "limits": "limits", "av": "av"}


@dataclass
class ServerConfig:
    """Options of one server app.

    Args:
        voice, backend, device, precision: passed to :class:`~ttsengine.Synthesizer`.
        max_batch: most requests synthesized in one ``synthesize_batch`` call.
        max_wait_ms: longest a request waits for others to join its batch.
        max_queue: most requests waiting or running; beyond it: 503 + ``Retry-After``.
        rate: per-client limit in the ``limits`` notation ("60/minute"; "" or None: none).
        api_key: when set, requests need ``Authorization: Bearer <api_key>``.
        synthesizer: an already loaded Synthesizer to use instead of loading ``voice``.
        lexicon: a pronunciation lexicon file for the Synthesizer (see ``ttsengine.frontend.lexicon``).
    """

    voice: str = "default"
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    max_batch: int = 16
    max_wait_ms: float = 10.0
    max_queue: int = 256
    rate: str | None = "60/minute"
    api_key: str | None = None
    synthesizer: Any = None
    lexicon: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_batch, bool) or not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise InvalidInputError(f"max_batch must be an int >= 1, got {shown(self.max_batch)}")
        if isinstance(self.max_queue, bool) or not isinstance(self.max_queue, int) or self.max_queue < 1:
            raise InvalidInputError(f"max_queue must be an int >= 1, got {shown(self.max_queue)}")
        if isinstance(self.max_wait_ms, bool) or not isinstance(self.max_wait_ms, (int, float)) \
                or not 0 <= self.max_wait_ms <= 60_000:
            raise InvalidInputError(f"max_wait_ms must be within [0, 60000], got {shown(self.max_wait_ms)}")
        if self.api_key == "":
            self.api_key = None
        if self.rate == "":
            self.rate = None


def require_serve_deps() -> None:
    """Raises BackendUnavailableError naming the serve extra if a server dependency is missing."""
    missing = []
    for module, dist in SERVE_MODULES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(dist)
    if missing:
        raise BackendUnavailableError(f"'ttsengine serve' needs {', '.join(missing)}: {SERVE_HINT}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..cli import float_argument, int_argument

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int_argument, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--voice", default="default", help="voice bundle directory or bundled voice name")
    parser.add_argument("--backend", default="auto", help="auto | torch | onnxruntime | tensorrt")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--precision", default="auto", help="auto | fp32 | fp16")
    parser.add_argument("--max-batch", type=int_argument, default=16, help="most requests per batch (default 16)")
    parser.add_argument("--max-wait-ms", type=float_argument, default=10.0,
                        help="longest wait for a batch to fill, in ms (default 10)")
    parser.add_argument("--max-queue", type=int_argument, default=256,
                        help="most requests queued or running; beyond: 503 (default 256)")
    parser.add_argument("--rate", default="60/minute",
                        help='per-client rate limit, e.g. "60/minute"; "" for none (default 60/minute)')
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer KEY")
    parser.add_argument("--lexicon", metavar="FILE", default=None,
                        help="pronunciation lexicon: 'word pronunciation' per line, /IPA/ or a respelling (docs/timing-and-control.md)")


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    rate = args.rate or None
    if rate is not None:
        require_serve_deps()
        from limits import parse_many

        try:
            parse_many(rate)
        except ValueError:
            raise InvalidInputError(f'--rate {rate!r} is not a rate such as "60/minute"') from None
    if args.lexicon is not None and not os.path.isfile(args.lexicon):  # fail now, not at startup
        raise InvalidInputError(f"--lexicon {args.lexicon!r} is not a readable file")
    if not 0 <= args.port <= 65535:
        raise InvalidInputError(f"--port must be within [0, 65535], got {args.port}")
    return ServerConfig(voice=args.voice, backend=args.backend, device=args.device, precision=args.precision,
                        max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                        rate=rate, api_key=args.api_key, lexicon=args.lexicon)


#: Seconds accepted requests get to finish after SIGTERM before the server stops anyway.
GRACEFUL_SHUTDOWN_S = 30


def run(args: argparse.Namespace) -> int:
    """Runs the server until interrupted."""
    require_serve_deps()
    config = config_from_args(args)
    import uvicorn

    from . import create_app

    app = create_app(config)
    logger.info("serving voice %r on http://%s:%d", config.voice, args.host, args.port)
    # SIGTERM / Ctrl-C: uvicorn stops accepting, lets accepted requests finish (at most
    # GRACEFUL_SHUTDOWN_S), then the app's lifespan stops the batcher.
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    return 0
