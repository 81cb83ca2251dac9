"""Observability: Prometheus metrics, OpenTelemetry spans, the /metrics endpoint.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "MetricsServer": "ordinis.engines.learning.observability.exposition",
    "RenderedMetrics": "ordinis.engines.learning.observability.exposition",
    "render_metrics": "ordinis.engines.learning.observability.exposition",
    "LearningMetrics": "ordinis.engines.learning.observability.metrics",
    "RolloutStateValue": "ordinis.engines.learning.observability.metrics",
    "EngineTelemetry": "ordinis.engines.learning.observability.telemetry",
    "build_tracer_provider": "ordinis.engines.learning.observability.tracing",
    "span": "ordinis.engines.learning.observability.tracing",
    "tracer_of": "ordinis.engines.learning.observability.tracing",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
