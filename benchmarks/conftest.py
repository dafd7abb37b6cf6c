"""Fixtures of the pytest-benchmark suite (``pytest benchmarks/``; not part of CI's tests).

The suite calls the same code as ``ttsengine bench`` (``ttsengine.bench.runner`` and
``ttsengine.bench.peers``) on the committed text set. Environment knobs:

- ``TTSENGINE_BENCH_VOICE``: voice bundle or bundled name (default ``default``);
- ``TTSENGINE_BENCH_DEVICE``: ``cpu`` (default) or ``cuda``;
- ``TTSENGINE_BENCH_THREADS``: CPU threads per engine (default: the usable cores).
"""

from __future__ import annotations

import os

import pytest

from ttsengine.bench.environment import usable_cores
from ttsengine.bench.runner import ConfigSpec, create_engine
from ttsengine.bench.texts import load_texts
from ttsengine.errors import BackendUnavailableError

VOICE = os.environ.get("TTSENGINE_BENCH_VOICE", "default")
DEVICE = os.environ.get("TTSENGINE_BENCH_DEVICE", "cpu")
THREADS = int(os.environ.get("TTSENGINE_BENCH_THREADS") or usable_cores())


def backends() -> list[str]:
    from ttsengine import available_backends

    return sorted(available_backends(), key=lambda b: b != "torch")


@pytest.fixture(scope="session")
def texts():
    return load_texts()[1]["en"]


_engines: dict[str, object] = {}


@pytest.fixture(params=backends())
def engine(request):
    """Our engine on VOICE, per available backend (fp32); skipped with the backend's reason."""
    backend = request.param
    if backend not in _engines:
        spec = ConfigSpec(kind="ttsengine", backend=backend, device=DEVICE, precision="fp32", voice=VOICE)
        try:
            _engines[backend] = create_engine(spec, THREADS)
        except BackendUnavailableError as exc:
            _engines[backend] = exc
    if isinstance(_engines[backend], Exception):
        pytest.skip(f"{backend}: {_engines[backend]}")
    return _engines[backend]


@pytest.fixture(params=["piper", "hibari"])
def peer(request):
    from ttsengine.bench.peers import create_peer, peer_status

    status = peer_status(request.param)
    if not status.available:
        pytest.skip(status.reason)
    return create_peer(request.param, threads=THREADS)


@pytest.fixture
def record_rtf(benchmark):
    """record_rtf(audio_s): adds the real-time factor of the median round to the extra info."""

    def record(audio_s: float) -> None:
        median = benchmark.stats.stats.median
        benchmark.extra_info.update(audio_s=audio_s, rtf_median=median / audio_s, threads=THREADS, device=DEVICE)

    return record
