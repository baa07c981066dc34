"""Prometheus metrics of the server (GET /metrics), each app with its own registry.

Requests are counted and timed by an ASGI middleware, per route, status class and the model version that answered
(the ``x-model-version`` response header; ``none`` when no model did). The scorer reports batch sizes and errors,
the router model loads and alias reloads.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ROUTES = ("/predict", "/invocations", "/health/live", "/health/ready", "/metadata", "/metrics", "/openapi.json")


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "serving_requests_total",
            "HTTP requests by route, status class and answering model version",
            ["route", "status", "model_version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "serving_request_seconds",
            "Time from request to response, by route and answering model version",
            ["route", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "serving_batch_rows",
            "Records per model call (concurrent requests share a call)",
            ["model_version"],
            buckets=ROWS_BUCKETS,
            registry=self.registry,
        )
        self.request_rows = Histogram(
            "serving_request_rows", "Records per request", ["route"], buckets=ROWS_BUCKETS, registry=self.registry
        )
        self.errors = Counter(
            "serving_errors_total",
            "Requests that failed, by route and kind (client: 4xx, server: 5xx, unavailable: 503)",
            ["route", "kind"],
            registry=self.registry,
        )
        self.model_load = Gauge(
            "serving_model_load_seconds",
            "Seconds the last load of each alias took",
            ["alias", "model_version"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "serving_alias_reloads_total", "Times an alias moved and was reloaded", ["alias"], registry=self.registry
        )
        self.loaded = Gauge(
            "serving_model_loaded",
            "1 for the version each alias serves",
            ["alias", "model_version"],
            registry=self.registry,
        )
        self.challenger_fraction = Gauge(
            "serving_challenger_fraction", "Share of request ids the challenger answers", registry=self.registry
        )
        self.shadow_rows = Counter(
            "serving_shadow_rows_total",
            "Records the challenger scored in shadow",
            ["model_version"],
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def on_load(self, alias: str, old: str | None, new: str | None, seconds: float) -> None:
        """The router swapped ``alias`` from version ``old`` to ``new``."""
        if old is not None:
            self.loaded.remove(alias, old)
            self.reloads.labels(alias).inc()
        if new is not None:
            self.loaded.labels(alias, new).set(1)
            self.model_load.labels(alias, new).set(seconds)


def route_of(path: str) -> str:
    """The route label: a known path, or ``other`` (unknown paths must not grow the label set)."""
    return path if path in ROUTES else "other"


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task or body copy): times every HTTP request and counts its outcome."""

    def __init__(self, app, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen = {"status": 500, "version": "none"}

        async def remember(message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-model-version":
                        seen["version"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            route, status = route_of(scope.get("path", "")), seen["status"]
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(route, f"{status // 100}xx", seen["version"]).inc()
            self.metrics.latency.labels(route, seen["version"]).observe(elapsed)
            if status == 503:
                self.metrics.errors.labels(route, "unavailable").inc()
            elif status >= 500:
                self.metrics.errors.labels(route, "server").inc()
            elif status >= 400:
                self.metrics.errors.labels(route, "client").inc()
