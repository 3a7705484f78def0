"""The daemon's Prometheus metrics and its /healthz and /metrics HTTP server (a thread)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from feedwatch.types import FetchOutcome

__all__ = ["HealthServer", "Metrics"]

log = logging.getLogger("feedwatch.daemon")


class Metrics:
    """Prometheus metrics of one worker, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "feedwatch_fetches", "Fetches by outcome", ["outcome"], registry=self.registry
        )
        self.new_items = Counter("feedwatch_new_items", "New items stored", registry=self.registry)
        self.duration = Histogram(
            "feedwatch_fetch_duration_seconds",
            "Fetch duration",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.ticks = Counter("feedwatch_ticks", "Scheduler ticks run", registry=self.registry)
        self.last_tick = Gauge(
            "feedwatch_last_tick_timestamp_seconds",
            "When the last tick ended",
            registry=self.registry,
        )
        self.failing = Gauge(
            "feedwatch_sources_failing", "Sources whose last fetch failed", registry=self.registry
        )

    def record(self, o: FetchOutcome) -> None:
        self.fetches.labels(o.outcome).inc()
        self.new_items.inc(o.new)
        self.duration.observe(o.duration)


class _Handler(BaseHTTPRequestHandler):
    metrics: Metrics
    health: Callable[[], tuple[bool, str]]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/metrics":
            self._send(200, generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            ok, words = type(self).health()
            self._send(200 if ok else 503, (words + "\n").encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HealthServer:
    """/healthz (`health()`: ok and words) and /metrics on (host, port), in a thread."""

    def __init__(
        self, address: tuple[str, int], metrics: Metrics, health: Callable[[], tuple[bool, str]]
    ) -> None:
        handler = type("Handler", (_Handler,), {"metrics": metrics, "health": staticmethod(health)})
        self._http = ThreadingHTTPServer(address, handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True, name="metrics").start()
        host, port = self._http.server_address[:2]
        log.info("health and metrics on http://%s:%s/healthz and /metrics", host, port)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
