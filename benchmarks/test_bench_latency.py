"""Time to first audio (streaming), batched throughput and concurrent latency (``pytest benchmarks/``)."""

from __future__ import annotations

import pytest

from ttsengine.bench.runner import measure_concurrency


def _first_audio(engine, text: str) -> int:
    stream = engine.stream(text)
    try:
        return next(samples for samples in stream if samples > 0)
    finally:
        stream.close()  # stop the rest of the work


def test_time_to_first_audio(benchmark, engine, texts):
    benchmark.pedantic(_first_audio, args=(engine, texts.medium), rounds=5, iterations=1, warmup_rounds=1)


def test_peer_time_to_first_audio(benchmark, peer, texts):
    benchmark.pedantic(_first_audio, args=(peer, texts.medium), rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("size", [1, 8, 32])
def test_batch_throughput(benchmark, engine, texts, size):
    batch = texts.batch_texts(size)
    engine.batch([texts.short] * size)  # warm-up at this batch size
    audio_s = benchmark.pedantic(engine.batch, args=(batch,), rounds=2 if size >= 32 else 3, iterations=1)
    benchmark.extra_info.update(batch=size, audio_s=audio_s,
                                throughput_median=audio_s / benchmark.stats.stats.median)


@pytest.mark.parametrize("workers", [4])
def test_concurrent_latency(benchmark, engine, texts, workers):
    engine.synthesize(texts.medium)
    result = benchmark.pedantic(measure_concurrency, args=(engine, texts.medium, workers, 2), rounds=1, iterations=1)
    benchmark.extra_info.update({f"latency_{k}_s": v for k, v in result["latency_s"].items()})
    benchmark.extra_info.update(achieved_rtf=result["achieved_rtf"], workers=workers)
