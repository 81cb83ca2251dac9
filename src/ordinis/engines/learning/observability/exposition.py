"""Serve the engine's metrics to Prometheus: its own HTTP endpoint, or a render for a service.

``MetricsServer`` is prometheus_client's threaded HTTP server bound to one engine's registry
(started by the engine when ``metrics_port`` is set). ``render_metrics`` is what a web service
(``ordinis-learning serve``) returns on ``/metrics``. Training workers are separate processes
that never touch Prometheus: they report progress and results to the parent, which updates
the metrics, so no multiprocess directory is needed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.exposition import start_http_server

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem


@dataclass(frozen=True, slots=True)
class RenderedMetrics:
    """One scrape: the text exposition and its content type."""

    body: bytes
    content_type: str


def render_metrics(registry: CollectorRegistry) -> RenderedMetrics:
    """The Prometheus text exposition of ``registry`` (the body of ``GET /metrics``)."""
    return RenderedMetrics(generate_latest(registry), CONTENT_TYPE_LATEST)


class MetricsServer:
    """The engine's ``/metrics`` endpoint on ``host:port`` (port 0 picks a free port)."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0):
        self.registry = registry
        self.host = host
        self.requested_port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the one picked for port 0)."""
        if self._server is None:
            raise RuntimeError("MetricsServer is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> int:
        """Bind and serve in a daemon thread; returns the port. Idempotent."""
        if self._server is not None:
            return self.port
        try:
            server, thread = start_http_server(
                self.requested_port, addr=self.host, registry=self.registry
            )
        except OSError as exc:
            raise ConfigError(
                "config",
                [
                    FieldProblem(
                        "metrics_port",
                        self.requested_port,
                        f"cannot listen on {self.host}:{self.requested_port} ({exc}); choose a "
                        "free port, 0 for any, or leave metrics_port unset to serve no endpoint",
                    )
                ],
            ) from exc
        self._server, self._thread = server, thread
        return self.port

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
