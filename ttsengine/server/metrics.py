"""The server's Prometheus metrics (one registry per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """Counters and histograms of one app, in their own registry (``GET /metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("ttsengine_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.queue_depth = Gauge("ttsengine_queue_depth", "requests waiting or being synthesized", registry=r)
        self.batch_size = Histogram("ttsengine_batch_size", "requests per synthesis batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.synthesis_seconds = Histogram("ttsengine_synthesis_seconds", "seconds per synthesis batch",
                                           registry=r)
        self.audio_seconds = Counter("ttsengine_audio_seconds", "seconds of audio produced", registry=r)
        self.rejections = Counter("ttsengine_rejections", "requests rejected before synthesis",
                                  ["reason"], registry=r)
        self.time_to_first_byte = Histogram(
            "ttsengine_time_to_first_byte_seconds", "speech requests answered 200: arrival to first body byte",
            ["route"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.request_rtf = Histogram(
            "ttsengine_request_rtf", "batched speech requests: wall seconds (queue + synthesis) per audio second",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5), registry=r)
