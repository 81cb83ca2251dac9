"""EngineTelemetry: what the engine starts and stops for observability, from its config.

The ``/metrics`` endpoint (``metrics_port``), the engine's own tracer provider
(``tracing_exporter``) and the event-loop lag probe (``loop_lag_probe_seconds``). The engine
calls ``start`` on initialize and ``stop`` on shutdown; nothing else needs to know.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.observability.exposition import MetricsServer
from ordinis.engines.learning.observability.loop_lag import LoopLagProbe
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import build_tracer_provider, tracer_of


class EngineTelemetry:
    """Owns the metrics server, the tracer provider and the loop-lag probe of one engine."""

    def __init__(self, config: LearningEngineConfig, metrics: LearningMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.server: MetricsServer | None = None
        self.provider: TracerProvider | None = None
        self.probe: LoopLagProbe | None = None
        self._previous_tracer: Tracer | None = None

    @property
    def metrics_url(self) -> str | None:
        """``http://host:port/metrics`` while the endpoint serves, else None."""
        return self.server.url if self.server is not None and self.server.running else None

    async def start(self) -> None:
        """Start what the config asks for; a port in use raises ConfigError naming it."""
        cfg = self.config
        self.provider = build_tracer_provider(cfg.tracing_exporter, cfg.otlp_endpoint)
        if self.provider is not None:
            self._previous_tracer = self.metrics.tracer
            self.metrics.tracer = tracer_of(self.provider)
        if cfg.loop_lag_probe_seconds is not None:
            self.probe = LoopLagProbe(self.metrics.event_loop_lag, cfg.loop_lag_probe_seconds)
            self.probe.start()
        if cfg.metrics_port is not None:
            self.server = MetricsServer(self.metrics.registry, cfg.metrics_host, cfg.metrics_port)
            try:
                self.server.start()
            except BaseException:
                self.server = None
                await self.stop()
                raise

    async def stop(self) -> None:
        """Stop serving, stop probing, and export the spans still buffered."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.probe is not None:
            await self.probe.stop()
            self.probe = None
        if self.provider is not None:
            self.provider.shutdown()
            self.provider = None
            if self._previous_tracer is not None:
                self.metrics.tracer = self._previous_tracer
