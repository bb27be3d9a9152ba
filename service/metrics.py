"""Prometheus metrics: requests, errors and latency per endpoint, pipeline stages, index size."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsrag_requests_total",
            "HTTP requests",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "newsrag_errors_total",
            "HTTP responses with status >= 400",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsrag_request_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.stage = Histogram(
            "newsrag_stage_seconds",
            "pipeline stage latency",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.articles = Gauge(
            "newsrag_index_articles", "articles in the index", registry=self.registry
        )
        self.chunks = Gauge("newsrag_index_chunks", "chunks in the index", registry=self.registry)
        self.feedback = Counter(
            "newsrag_feedback_total", "answers rated", ["rating"], registry=self.registry
        )
        self.feedback_stored = Gauge(
            "newsrag_feedback_stored", "ratings kept, by rating", ["rating"], registry=self.registry
        )
        self.feed_added = Gauge(
            "newsrag_feed_items_added",
            "articles added from a feed",
            ["feed"],
            registry=self.registry,
        )
        self.feed_last_poll = Gauge(
            "newsrag_feed_last_poll_timestamp_seconds",
            "when a feed was last polled",
            ["feed"],
            registry=self.registry,
        )
        self.feed_status = Gauge(
            "newsrag_feed_last_status",
            "HTTP status of a feed's last poll",
            ["feed"],
            registry=self.registry,
        )
        self.feed_errors = Gauge(
            "newsrag_feed_last_poll_failed",
            "1 if a feed's last poll had errors",
            ["feed"],
            registry=self.registry,
        )
        self.query_passes = Gauge(
            "newsrag_query_embedding_passes",
            "embedder forward passes made for queries (batched across concurrent requests)",
            registry=self.registry,
        )
        self.queries_embedded = Gauge(
            "newsrag_queries_embedded", "queries embedded by the batcher", registry=self.registry
        )
        self.prefix_tokens = Gauge(
            "newsrag_prompt_tokens_reused",
            "prompt tokens served from the generator's prefix cache instead of recomputed",
            registry=self.registry,
        )

    def observe_feeds(self, feeds: list[dict[str, Any]]) -> None:
        """Per feed: articles added, when it was last polled, its last HTTP status, and
        whether the last poll had errors."""
        for f in feeds:
            label = f["url"]
            self.feed_added.labels(label).set(f["items_added"])
            self.feed_last_poll.labels(label).set(f["last_poll"] or 0)
            self.feed_status.labels(label).set(f["last_status"] or 0)
            self.feed_errors.labels(label).set(1 if f["last_error"] else 0)

    def observe_feedback(self, counts: dict[str, int]) -> None:
        for rating, n in counts.items():
            self.feedback_stored.labels(rating).set(n)

    def observe_stats(self, stats: dict[str, Any]) -> None:
        """Index size and the counters kept by the retriever and the generator."""
        self.articles.set(stats["articles"])
        self.chunks.set(stats["chunks"])
        self.query_passes.set(stats["query_passes"])
        self.queries_embedded.set(stats["queries_embedded"])
        self.prefix_tokens.set(stats["prompt_tokens_reused"])

    def observe_timings(self, timings: dict[str, Any]) -> None:
        for stage in ("retrieve", "generate", "first_token", "total"):
            if isinstance(timings.get(stage), int | float) and timings[stage] > 0:
                self.stage.labels(stage).observe(timings[stage] / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            m = self.metrics
            m.requests.labels(scope["method"], endpoint, str(status)).inc()
            if status >= 400:
                m.errors.labels(endpoint, str(status)).inc()
            m.latency.labels(endpoint).observe(time.perf_counter() - start)
