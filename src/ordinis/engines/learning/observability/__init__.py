"""Observability: Prometheus metrics, OpenTelemetry spans, the /metrics endpoint."""

from ordinis.engines.learning.observability.exposition import (
    MetricsServer,
    RenderedMetrics,
    render_metrics,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics, RolloutStateValue
from ordinis.engines.learning.observability.telemetry import EngineTelemetry
from ordinis.engines.learning.observability.tracing import (
    build_tracer_provider,
    span,
    tracer_of,
)

__all__ = [
    "EngineTelemetry",
    "LearningMetrics",
    "MetricsServer",
    "RenderedMetrics",
    "RolloutStateValue",
    "build_tracer_provider",
    "render_metrics",
    "span",
    "tracer_of",
]
