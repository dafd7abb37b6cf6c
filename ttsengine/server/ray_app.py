"""The ttsengine server on Ray Serve: the same FastAPI app, scaled out over replicas.

Each replica runs the app of :func:`ttsengine.server.create_app` (with its own cross-request
batcher, rate limiter and ``/metrics``) as a Ray Serve ingress deployment. Replicas scale
between ``min_replicas`` and ``max_replicas`` (autoscaling on ongoing requests) or stay at
``num_replicas``. Admission is Ray's: at most ``max_queue`` requests in a replica, at most
``max_queued_requests`` waiting in front of them, beyond that 503 + ``Retry-After``.

Speaker affinity uses Ray Serve's model multiplexing: a client that sends the speaker (the
``voice`` of ``/v1/audio/speech``, the ``spk_id`` of ``/clone``) also in the header
``serve_multiplexed_model_id`` has its requests routed to a replica that already holds that
speaker, while that replica is not saturated; new speakers go to the replica holding the
fewest. The body stays authoritative: the header is only a routing hint (an unknown
speaker in it is ignored there and reported by the app as usual). Every response carries
``x-ttsengine-replica`` (the replica's Ray id).

Run it::

    serve run ttsengine.server.ray_app:app                       # bundled voice, defaults
    serve run ttsengine.server.ray_app:build_app voice=/path/to/voice num_replicas=2
    serve run config.yaml                                        # see docs/serving.md

or from Python: ``serve.run(build_app({"voice": "...", "num_replicas": 2}))``.
Needs ``pip install "ttsengine[ray]"``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from dataclasses import dataclass, fields
from typing import Any, Mapping

from ..errors import BackendUnavailableError, InvalidInputError, shown
from .config import ServerConfig, read_api_keys, require_serve_deps, voice_aliases

__all__ = [
    "build_app", "deployment_options", "TTSServer", "RAY_HINT", "REPLICA_HEADER", "SPEAKER_HEADER",
    "MAX_SPEAKERS_PER_REPLICA",
]

logger = logging.getLogger("ttsengine")

RAY_HINT = 'pip install "ttsengine[ray]"'
#: Response header naming the replica that answered.
REPLICA_HEADER = "x-ttsengine-replica"
#: Request header Ray Serve routes on (its multiplexed model id): here, the speaker.
SPEAKER_HEADER = "serve_multiplexed_model_id"
#: Speakers a replica keeps "loaded" for routing (least recently used ones are dropped).
MAX_SPEAKERS_PER_REPLICA = 64
#: Routes whose requests carry a speaker.
SPEAKER_ROUTES = ("/v1/audio/speech", "/clone")
#: Ray admits at most ``max_queue`` requests into a replica (its ``max_ongoing_requests``),
#: so its router knows when a replica is full (and then routes a speaker elsewhere or
#: queues); the app's own queue limit sits this much higher, a safety net only.
CONTROL_HEADROOM = 8
#: Retry-After (s) of Ray's own 503 when its queue in front of the replicas is full.
RETRY_AFTER_S = 1

try:  # the deployment class needs Ray at import; the module still imports without it
    from ray import serve as _serve
except ImportError:  # pragma: no cover - exercised where ray is missing
    _serve = None


def require_ray_deps() -> None:
    """Raises BackendUnavailableError naming the ray extra if Ray Serve (or the server's
    own dependencies) is missing."""
    if _serve is None or importlib.util.find_spec("ray") is None:
        raise BackendUnavailableError(f"ttsengine.server.ray_app needs Ray Serve: {RAY_HINT}")
    require_serve_deps()


# -- options -------------------------------------------------------------------------------



@dataclass
class _Options:
    """What ``build_app(args)`` accepts (``serve run ... key=value`` gives strings)."""

    # the app (ServerConfig) and the replica's synthesizer
    voice: str = ServerConfig.voice  # the same defaults as `ttsengine serve`, except max_queue
    backend: str = ServerConfig.backend
    device: str = ServerConfig.device
    precision: str = ServerConfig.precision
    max_batch: int = ServerConfig.max_batch
    max_wait_ms: float = ServerConfig.max_wait_ms
    max_queue: int = 64  # per replica (ttsengine serve: 256); Ray routes around a full replica
    rate: str | None = ServerConfig.rate
    api_key: str | None = ServerConfig.api_key
    lexicon: str | None = ServerConfig.lexicon  # a pronunciation lexicon file every replica reads
    max_audio_seconds: float = ServerConfig.max_audio_seconds
    num_threads: int | None = None  # per replica; None: the replica's CPUs (at least 1)
    # as `ttsengine serve`'s --voice-alias, --api-key-file, --trusted-proxy, --cors-origin: a list
    # (YAML, Python) or one comma-separated string (serve run); voice_aliases also a mapping
    voice_aliases: Any = None  # NAME=SPEAKER items -> ServerConfig.voice_aliases
    api_key_file: str | None = None  # one key per line -> ServerConfig.api_keys (read on the driver)
    trusted_proxies: Any = ()
    cors_origins: Any = ()
    # the deployment
    num_replicas: int | None = None  # fixed count; None: autoscaling within [min, max]
    min_replicas: int = 1
    max_replicas: int = 4
    target_ongoing_requests: float | None = None  # None: max_batch
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_ongoing_requests: int | None = None  # None: max_queue
    max_queued_requests: int | None = None  # None: max(64, 2 * max_queue) (then Ray: 503); -1: unbounded


#: The options that are ServerConfig's (the rest configure the deployment; api_key_file
#: becomes ServerConfig.api_keys).
_SERVER_FIELDS = {f.name for f in fields(ServerConfig) if f.init} & {f.name for f in fields(_Options)}

_OPTIONAL = {"rate", "api_key", "lexicon", "num_threads", "num_replicas", "target_ongoing_requests",
             "max_ongoing_requests", "max_queued_requests", "voice_aliases", "api_key_file"}
_LISTS = {"voice_aliases", "trusted_proxies", "cors_origins"}
_INTS = {"max_batch", "max_queue", "num_threads", "num_replicas", "min_replicas", "max_replicas",
         "max_ongoing_requests", "max_queued_requests"}
_FLOATS = {"max_wait_ms", "target_ongoing_requests", "num_cpus", "num_gpus", "max_audio_seconds"}


def _items(name: str, value: Any) -> tuple[str, ...]:
    """A list option: a list / tuple of strings or one comma-separated string."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    raise InvalidInputError(f"{name} must be a list of strings or one comma-separated string, got {shown(value)}")


def _convert(name: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
        if name in _OPTIONAL:
            return None
        if name in _LISTS:
            return ()
        raise InvalidInputError(f"{name} needs a value")
    if name == "voice_aliases":
        if isinstance(value, Mapping):
            value = [f"{k}={v}" for k, v in value.items()]
        return voice_aliases(list(_items(name, value)))
    if name in _LISTS:
        return _items(name, value)
    if name in _INTS:
        if isinstance(value, bool):
            raise InvalidInputError(f"{name} must be an int, got {shown(value)}")
        try:  # a str past 4300 digits: ValueError
            number = int(value) if isinstance(value, (int, str)) else None
        except ValueError:
            number = None
        if number is None:
            raise InvalidInputError(f"{name} must be an int, got {shown(value)}")
        return number
    if name in _FLOATS:
        if isinstance(value, bool):
            raise InvalidInputError(f"{name} must be a number, got {shown(value)}")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int such as 10**5000
            raise InvalidInputError(f"{name} must be a number, got {shown(value)}") from None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {shown(value)}")
    if name in ("rate", "api_key") and value == "":
        return None
    return value


def _parse(args: Mapping[str, Any] | None) -> _Options:
    args = dict(args or {})
    known = {f.name for f in fields(_Options)}
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidInputError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    opts = _Options(**{name: _convert(name, value) for name, value in args.items()})
    if opts.num_threads is not None and opts.num_threads < 1:
        raise InvalidInputError(f"num_threads must be >= 1, got {opts.num_threads}")
    if opts.num_replicas is not None and opts.num_replicas < 1:
        raise InvalidInputError(f"num_replicas must be >= 1, got {opts.num_replicas}")
    if not 1 <= opts.min_replicas <= opts.max_replicas:
        raise InvalidInputError(f"need 1 <= min_replicas <= max_replicas, got {opts.min_replicas}, "
                                f"{opts.max_replicas}")
    if opts.max_ongoing_requests is not None and opts.max_ongoing_requests < 1:
        raise InvalidInputError(f"max_ongoing_requests must be >= 1, got {opts.max_ongoing_requests}")
    if opts.max_queued_requests is not None and opts.max_queued_requests < 1 and opts.max_queued_requests != -1:
        raise InvalidInputError(f"max_queued_requests must be >= 1 or -1 (unbounded), got {opts.max_queued_requests}")
    if opts.num_cpus < 0 or opts.num_gpus < 0:
        raise InvalidInputError("num_cpus and num_gpus must be >= 0")
    return opts


def _server_options(opts: _Options) -> dict[str, Any]:
    """The ServerConfig keyword arguments (checked here, on the driver, before deploying)."""
    options = {name: getattr(opts, name) for name in _SERVER_FIELDS}
    if opts.api_key_file is not None:
        options["api_keys"] = read_api_keys(opts.api_key_file)
    ServerConfig(**options)  # raises InvalidInputError on a bad value
    if opts.rate is not None:
        require_serve_deps()
        from limits import parse_many

        try:
            parse_many(opts.rate)
        except ValueError:
            raise InvalidInputError(f'rate {opts.rate!r} is not a rate such as "60/minute"') from None
    return options


def deployment_options(opts: _Options) -> dict[str, Any]:
    """The ``Deployment.options(...)`` of ``opts``: replicas or autoscaling, resources, queues."""
    max_ongoing = opts.max_ongoing_requests or opts.max_queue
    max_queued = max(64, 2 * opts.max_queue) if opts.max_queued_requests is None else opts.max_queued_requests
    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": opts.num_cpus, "num_gpus": opts.num_gpus},
        "max_ongoing_requests": max_ongoing,
        "max_queued_requests": max_queued,
    }
    if _supports_backpressure_config():  # Ray 2.60 has it: its own 503 then also says when to retry
        options["backpressure_config"] = {"status_code": 503, "retry_after_s": RETRY_AFTER_S}
    if opts.num_replicas is not None:
        options["num_replicas"] = opts.num_replicas
    else:
        target = opts.target_ongoing_requests or float(opts.max_batch)
        options["autoscaling_config"] = {
            "min_replicas": opts.min_replicas,
            "initial_replicas": opts.min_replicas,
            "max_replicas": opts.max_replicas,
            "target_ongoing_requests": min(target, float(max_ongoing)),
            "upscale_delay_s": 5.0,
            "downscale_delay_s": 60.0,
        }
    return options


def _supports_backpressure_config() -> bool:
    import inspect

    return _serve is not None and "backpressure_config" in inspect.signature(_serve.deployment).parameters


# -- the replica -----------------------------------------------------------------------------

@dataclass
class Speaker:
    """What a replica "loads" for a multiplexed speaker id: its resolved id. (The voice holds
    every speaker already; per-speaker state such as a cloned speaker's embedding belongs here.)"""

    name: str
    speaker_id: int


class _ReplicaMiddleware:
    """Pure ASGI: registers the request's speaker with Ray's multiplexing (so the router
    learns this replica has it) and adds ``x-ttsengine-replica`` to every response."""

    def __init__(self, app: Any, server: Any) -> None:
        self.app = app
        self.server = server
        self.header = (REPLICA_HEADER.encode(), server.replica_id.encode())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "POST" and scope.get("path") in SPEAKER_ROUTES:
            await self.server.use_speaker(_serve.get_multiplexed_model_id())
        header = self.header

        async def send_with_replica(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_replica)


if _serve is not None:

    @_serve.deployment(name="ttsengine")
    @_serve.ingress()
    class TTSServer:
        """One replica: a Synthesizer, the FastAPI app around it, speaker multiplexing."""

        async def __init__(self, server_options: dict[str, Any], num_threads: int | None = None) -> None:
            from ..synthesizer import Synthesizer

            context = _serve.get_replica_context()
            self.replica_id = str(context.replica_id.unique_id)
            self.server_options = dict(server_options)
            if num_threads is None:
                import ray

                cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
                num_threads = max(1, int(cpus))
            options = self.server_options
            self.synth = await asyncio.to_thread(
                Synthesizer, options["voice"], device=options["device"], backend=options["backend"],
                precision=options["precision"], num_threads=num_threads)
            self._fastapi = None
            logger.info("replica %s: voice %r on %s/%s, %d thread(s)", self.replica_id, self.synth.voice.name,
                        self.synth.backend, self.synth.device, num_threads)

        def __serve_build_asgi_app__(self) -> Any:
            from . import create_app

            app = create_app(ServerConfig(**self.server_options, synthesizer=self.synth))
            app.add_middleware(_ReplicaMiddleware, server=self)
            self._fastapi = app
            return app

        @_serve.multiplexed(max_num_models_per_replica=MAX_SPEAKERS_PER_REPLICA)
        async def load_speaker(self, model_id: str) -> Speaker:
            return Speaker(model_id, self.synth.voice.speaker_id(model_id))

        async def use_speaker(self, model_id: str | None) -> Speaker | None:
            """Loads ``model_id`` (marks it held by this replica) if it names a speaker of the
            voice; anything else is left to the app's own validation of the body."""
            if not model_id:
                return None
            try:
                self.synth.voice.speaker_id(model_id)
            except InvalidInputError:
                return None
            return await self.load_speaker(model_id)

        async def check_health(self) -> None:
            """Ray's periodic health check: the app must be up with its voice loaded."""
            if self._fastapi is None or self._fastapi.state.ttsengine.get("synth") is None:
                raise RuntimeError("the ttsengine app is not running")

else:  # pragma: no cover
    TTSServer = None  # type: ignore[assignment]


def build_app(args: Mapping[str, Any] | None = None) -> Any:
    """The Ray Serve application (``serve run ttsengine.server.ray_app:build_app k=v ...``).

    ``args``: the app's options (``voice``, ``backend``, ``device``, ``precision``,
    ``max_batch``, ``max_wait_ms``, ``max_queue``, ``rate``, ``api_key``, ``api_key_file``,
    ``voice_aliases`` (``NAME=SPEAKER`` items or a mapping), ``trusted_proxies``,
    ``cors_origins``, ``lexicon``, ``max_audio_seconds``; list options take a list or one
    comma-separated string), ``num_threads`` per replica, and the deployment's:
    ``num_replicas`` (fixed) or ``min_replicas`` / ``max_replicas`` /
    ``target_ongoing_requests`` (autoscaling, the default: 1..4 replicas,
    target ``max_batch`` ongoing requests each), ``num_cpus`` (default 1), ``num_gpus``
    (default 0; GPU replicas need it), ``max_ongoing_requests`` (default ``max_queue``: Ray
    admits that many requests into a replica, the app's own limit is set 8 higher),
    ``max_queued_requests`` (requests Ray holds while every replica is full; default
    ``max(64, 2 * max_queue)``; beyond it Ray answers 503 with ``Retry-After``).
    """
    require_ray_deps()
    opts = _parse(args)
    server_options = _server_options(opts)
    options = deployment_options(opts)
    server_options["max_queue"] = options["max_ongoing_requests"] + CONTROL_HEADROOM
    return TTSServer.options(**options).bind(server_options, opts.num_threads)


def __getattr__(name: str) -> Any:
    # ``serve run ttsengine.server.ray_app:app``: the bundled voice with default options,
    # built on first access (importing this module deploys nothing).
    if name == "app":
        return build_app({})
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
