"""Prometheus metrics of one app instance (its own registry, so several apps can live in a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics

disable_created_metrics()  # the *_created series double the output and no dashboard reads them

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("clickbait_requests", "HTTP requests", ["route", "status"], registry=r)
        self.latency = Histogram(
            "clickbait_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.headlines = Counter("clickbait_headlines_scored", "headlines scored (cached or not)", registry=r)
        self.batch_size = Histogram(
            "clickbait_model_batch_size", "headlines per model call", buckets=BATCH_BUCKETS, registry=r
        )
        self.model_calls = Counter("clickbait_model_calls", "calls into the model", registry=r)
        self.queue_depth = Gauge("clickbait_queue_depth", "headlines waiting for the model", registry=r)
        self.cache_hits = Counter("clickbait_cache_hits", "score cache hits", registry=r)
        self.cache_misses = Counter("clickbait_cache_misses", "score cache misses", registry=r)
        self.model = Info("clickbait_model", "the model being served", registry=r)
