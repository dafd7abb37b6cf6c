"""Server configuration and the ``ttsengine serve`` command (no heavy imports here)."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
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
            A client is its API key when keys are configured, else its address.
        api_key: when set, requests need ``Authorization: Bearer <api_key>``.
        api_keys: more accepted keys (``--api-key-file``); each key has its own rate bucket.
        trusted_proxies: addresses or networks (``10.0.0.0/8``) whose ``X-Forwarded-For``
            names the client; from any other peer the header is ignored.
        cors_origins: origins allowed by CORS (``*`` for any); none by default.
        voice_aliases: OpenAI voice name -> speaker name or id (None: each OpenAI voice to
            one of the voice's speakers in turn; see :mod:`ttsengine.server.voices`).
        max_audio_seconds: most seconds of audio one request may ask for, estimated from
            its text before synthesis; beyond it: 400 (0: no cap).
        synthesizer: an already loaded Synthesizer to use instead of loading ``voice``.
        lexicon: a pronunciation lexicon file for the Synthesizer (see ``ttsengine.frontend.lexicon``).
        voices_dir: folder of the voices enrolled over HTTP (``POST /v1/voices``; see
            :mod:`ttsengine.server.enroll`); None: enrollment is off. Needs torch and
            python-multipart.
        enroll_max_files, enroll_max_file_bytes, enroll_max_total_bytes: limits of one
            enrollment: files, bytes of a file, bytes of the whole request body.
        enroll_steps: training steps of an enrollment (``ttsengine clone --steps``).
        enroll_device: where enrollment jobs train ("cpu" by default: the GPU is synthesis').
        enroll_options: more keyword arguments of ``clone_voice`` for every job (tests,
            experiments: ``min_seconds``, ``export``, ``batch_size`` ...).
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
    api_keys: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    voice_aliases: dict[str, Any] | None = None
    max_audio_seconds: float = 600.0
    synthesizer: Any = None
    lexicon: str | None = None
    voices_dir: str | None = None
    enroll_max_files: int = 50
    enroll_max_file_bytes: int = 50 * 1024 * 1024
    enroll_max_total_bytes: int = 200 * 1024 * 1024
    enroll_steps: int = 1200
    enroll_device: str = "cpu"
    enroll_options: dict[str, Any] | None = None
    #: parsed ``trusted_proxies`` (set in ``__post_init__``)
    proxy_networks: tuple[Any, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_batch, bool) or not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise InvalidInputError(f"max_batch must be an int >= 1, got {shown(self.max_batch)}")
        if isinstance(self.max_queue, bool) or not isinstance(self.max_queue, int) or self.max_queue < 1:
            raise InvalidInputError(f"max_queue must be an int >= 1, got {shown(self.max_queue)}")
        if isinstance(self.max_wait_ms, bool) or not isinstance(self.max_wait_ms, (int, float)) \
                or not 0 <= self.max_wait_ms <= 60_000:
            raise InvalidInputError(f"max_wait_ms must be within [0, 60000], got {shown(self.max_wait_ms)}")
        if isinstance(self.max_audio_seconds, bool) or not isinstance(self.max_audio_seconds, (int, float)) \
                or not 0 <= self.max_audio_seconds <= 86_400:
            raise InvalidInputError(f"max_audio_seconds must be within [0, 86400], got {shown(self.max_audio_seconds)}")
        for name in ("enroll_max_files", "enroll_max_file_bytes", "enroll_max_total_bytes", "enroll_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be an int >= 1, got {shown(value)}")
        if self.voices_dir is not None:
            self.voices_dir = os.fspath(self.voices_dir)
            require_enroll_deps()
        if self.api_key == "":
            self.api_key = None
        if self.rate == "":
            self.rate = None
        keys = ([self.api_key] if self.api_key else []) + [k for k in self.api_keys if k not in (self.api_key,)]
        if any(not isinstance(k, str) or not k.strip() or k != k.strip() for k in keys):
            raise InvalidInputError("API keys must be non-empty strings without surrounding spaces")
        self.api_keys = tuple(dict.fromkeys(keys))
        self.trusted_proxies = tuple(self.trusted_proxies)
        self.cors_origins = tuple(self.cors_origins)
        networks = []
        for proxy in self.trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(proxy, strict=False))
            except ValueError:
                raise InvalidInputError(f"trusted proxy {shown(proxy)} is not an IP address or network") from None
        self.proxy_networks = tuple(networks)

    @property
    def auth(self) -> bool:
        """Whether requests need an API key."""
        return bool(self.api_keys)


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


def require_enroll_deps() -> None:
    """Raises BackendUnavailableError naming what voice enrollment (``--voices-dir``) lacks."""
    needs = {"torch": 'torch (pip install "ttsengine[train]")', "python_multipart": "python-multipart",
             "soundfile": "soundfile"}
    missing = []
    for module, what in needs.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(what)
    if missing:
        raise BackendUnavailableError(f"voice enrollment (--voices-dir) needs {', '.join(missing)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..cli import float_argument, int_argument

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int_argument, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--voice", default="default", help="voice bundle directory or bundled voice name")
    parser.add_argument("--backend", default="auto", help="auto | torch | onnxruntime | tensorrt")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--precision", default="auto", help="auto | fp32 | fp16 | int8")
    parser.add_argument("--max-batch", type=int_argument, default=16, help="most requests per batch (default 16)")
    parser.add_argument("--max-wait-ms", type=float_argument, default=10.0,
                        help="longest wait for a batch to fill, in ms (default 10)")
    parser.add_argument("--max-queue", type=int_argument, default=256,
                        help="most requests queued or running; beyond: 503 (default 256)")
    parser.add_argument("--rate", default="60/minute",
                        help='per-client rate limit, e.g. "60/minute"; "" for none (default 60/minute)')
    parser.add_argument("--rate-limit", type=int_argument, default=None, metavar="N",
                        help="requests per minute per client (API key, else address); 0 = off (default 60)")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer KEY")
    parser.add_argument("--lexicon", metavar="FILE", default=None,
                        help="pronunciation lexicon: 'word pronunciation' per line, /IPA/ or a respelling (docs/timing-and-control.md)")
    parser.add_argument("--api-key-file", metavar="FILE", default=None,
                        help="accepted API keys, one per line ('#' comments); a rate-limit bucket per key")
    parser.add_argument("--trusted-proxy", metavar="ADDR", action="append", default=[],
                        help="address or network of a reverse proxy whose X-Forwarded-For is believed "
                             "(repeatable; by default the header is ignored)")
    parser.add_argument("--cors-origin", metavar="ORIGIN", action="append", default=[],
                        help="allow browser requests from ORIGIN (repeatable; '*' for any; none by default)")
    parser.add_argument("--voice-alias", metavar="NAME=SPEAKER", action="append", default=[],
                        help="map an OpenAI voice name to a speaker (repeatable; default: alloy, ash, ... "
                             "to the voice's speakers in turn)")
    parser.add_argument("--max-audio-seconds", type=float_argument, default=600.0,
                        help="most audio one request may ask for, estimated before synthesis; 0 = no cap "
                             "(default 600)")
    parser.add_argument("--voices-dir", metavar="DIR", default=None,
                        help="turn on voice enrollment (POST /v1/voices): cloned voices are written to and "
                             "served from DIR (also after a restart); off by default")
    parser.add_argument("--enroll-steps", type=int_argument, default=1200,
                        help="training steps of an enrollment (default 1200; ttsengine clone --steps)")
    parser.add_argument("--enroll-max-files", type=int_argument, default=50,
                        help="most audio files per enrollment (default 50)")
    parser.add_argument("--enroll-max-file-mb", type=float_argument, default=50.0,
                        help="largest audio file of an enrollment, in MiB (default 50)")
    parser.add_argument("--enroll-max-total-mb", type=float_argument, default=200.0,
                        help="largest enrollment request, in MiB (default 200)")


def read_api_keys(path: str) -> tuple[str, ...]:
    """The keys of an ``--api-key-file``: one per line; blank lines and ``#`` comments skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read --api-key-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    keys = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise InvalidInputError(f"--api-key-file {path} holds no key")
    return keys


def voice_aliases(items: list[str]) -> dict[str, Any] | None:
    """``NAME=SPEAKER`` items (``--voice-alias``) -> ServerConfig.voice_aliases (None for none)."""
    aliases: dict[str, Any] = {}
    for item in items:
        name, sep, speaker = item.partition("=")
        if not sep or not name.strip() or not speaker.strip():
            raise InvalidInputError(f"voice alias {shown(item)} is not NAME=SPEAKER")
        aliases[name.strip()] = speaker.strip()
    return aliases or None


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    rate = args.rate or None
    rate_limit = getattr(args, "rate_limit", None)
    if rate_limit is not None:
        if rate_limit < 0:
            raise InvalidInputError(f"--rate-limit must be >= 0, got {rate_limit}")
        rate = f"{rate_limit}/minute" if rate_limit else None
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
                        rate=rate, api_key=args.api_key,
                        api_keys=read_api_keys(args.api_key_file) if getattr(args, "api_key_file", None) else (),
                        trusted_proxies=tuple(getattr(args, "trusted_proxy", ())),
                        cors_origins=tuple(getattr(args, "cors_origin", ())),
                        voice_aliases=voice_aliases(getattr(args, "voice_alias", [])),
                        max_audio_seconds=getattr(args, "max_audio_seconds", 600.0),
                        lexicon=args.lexicon, voices_dir=getattr(args, "voices_dir", None),
                        enroll_steps=getattr(args, "enroll_steps", 1200),
                        enroll_max_files=getattr(args, "enroll_max_files", 50),
                        enroll_max_file_bytes=_mib(args, "enroll_max_file_mb", 50.0),
                        enroll_max_total_bytes=_mib(args, "enroll_max_total_mb", 200.0))


def _mib(args: argparse.Namespace, name: str, default: float) -> int:
    value = getattr(args, name, default)
    if not value > 0:
        raise InvalidInputError(f"--{name.replace('_', '-')} must be > 0, got {value}")
    return max(1, int(value * 1024 * 1024))


#: Seconds accepted requests get to finish after SIGTERM before the server stops anyway.
GRACEFUL_SHUTDOWN_S = 30


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; InvalidInputError (one line) if that fails
    (unknown host, address in use, no permission)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise InvalidInputError(f"--host {shown(host)}: cannot resolve ({getattr(exc, 'strerror', None) or exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def startup_line(config: ServerConfig, synth: Any, url: str) -> str:
    """The one line ``ttsengine serve`` prints when it is ready."""
    return (f"ttsengine serve: {url} (demo page {url}/, API docs {url}/docs) voice {synth.voice.name!r} on "
            f"{synth.backend}/{synth.device}/{synth.precision}, vocoder {synth.vocoder}; auth "
            f"{'on (' + str(len(config.api_keys)) + ' keys)' if config.auth else 'off'}, rate limit "
            f"{config.rate or 'off'}, CORS {', '.join(config.cors_origins) or 'off'}, enrollment "
            f"{'into ' + config.voices_dir if config.voices_dir else 'off'}")


def run(args: argparse.Namespace) -> int:
    """Runs the server until interrupted. Start-up failures (bad voice, busy port, bad
    host) are TTSEngineErrors: one line and exit status 2 from the CLI."""
    require_serve_deps()
    config = config_from_args(args)
    import uvicorn

    from ..synthesizer import Synthesizer
    from . import create_app

    if config.synthesizer is None:  # loaded before listening: a bad --voice is an error here
        config.synthesizer = Synthesizer(config.voice, device=config.device, backend=config.backend,
                                         precision=config.precision)
    from .voices import check_aliases

    check_aliases(config.synthesizer, config.voice_aliases)
    app = create_app(config)
    sock = bind_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{sock.getsockname()[1]}"
    if sys.stderr is not None:  # the CLI's own line, whatever the log level
        print(startup_line(config, config.synthesizer, url), file=sys.stderr, flush=True)
    # SIGTERM / Ctrl-C: uvicorn stops accepting, lets accepted requests finish (at most
    # GRACEFUL_SHUTDOWN_S), then the app's lifespan stops the batcher. X-Forwarded-For is
    # read by the app from --trusted-proxy peers only (uvicorn's own reading is off).
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", proxy_headers=False,
                                           timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
