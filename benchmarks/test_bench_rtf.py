"""Real-time factor of ``synthesize`` per backend and text, and of the peers (``pytest benchmarks/``)."""

from __future__ import annotations

import pytest

from ttsengine.bench.texts import TEXT_KINDS


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_synthesize(benchmark, record_rtf, engine, texts, kind):
    text = texts.text(kind)
    audio_s = engine.synthesize(text)  # warm-up, and the audio length
    benchmark.pedantic(engine.synthesize, args=(text,), rounds=5, iterations=1, warmup_rounds=1)
    record_rtf(audio_s)


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_peer_synthesize(benchmark, record_rtf, peer, texts, kind):
    text = texts.text(kind)
    audio_s = peer.synthesize(text)
    benchmark.pedantic(peer.synthesize, args=(text,), rounds=5, iterations=1, warmup_rounds=1)
    record_rtf(audio_s)
