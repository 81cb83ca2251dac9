"""OpenTelemetry spans of the engine: one helper to open them, one factory for the exporter.

The parts open spans with ``span(metrics.tracer, ...)``. By default the tracer comes from the
host's global provider (a no-op unless the host set one up), so the engine never overrides the
host's tracing; ``tracing_exporter`` in the config gives the engine a provider of its own.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar, cast

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem
from ordinis.engines.learning.observability.metrics import TRACER_NAME

ExporterKind = Literal["none", "console", "otlp"]

# Span attribute keys, the same on every span.
ATTR_MODEL = "learning.model_name"
ATTR_VERSION = "learning.model_version"
ATTR_JOB = "learning.job_id"
ATTR_EVENTS = "learning.event_count"
ATTR_INSERTED = "learning.inserted_count"
ATTR_TRIGGER = "learning.trigger_id"
ATTR_PACK = "learning.pack"
ATTR_STAGE_FROM = "learning.from_stage"
ATTR_STAGE_TO = "learning.to_stage"
ATTR_OUTCOME = "learning.outcome"
ATTR_ALERTS = "learning.alert_count"

SERVICE_NAME = "ordinis-learning"


def build_tracer_provider(
    kind: ExporterKind,
    otlp_endpoint: str | None = None,
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """A provider exporting to ``kind`` (None for "none"); ``exporter`` overrides it (tests).

    Console spans are written synchronously; OTLP spans in batches off the caller's thread.
    """
    if exporter is not None:
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider
    if kind == "none":
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if kind == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif kind == "otlp":
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(otlp_endpoint)))
    else:
        raise ConfigError(
            "config",
            [FieldProblem("tracing_exporter", kind, "must be one of 'none', 'console', 'otlp'")],
        )
    return provider


def tracer_of(provider: TracerProvider) -> Tracer:
    """The engine's tracer from its own provider."""
    return provider.get_tracer(TRACER_NAME)


def _otlp_exporter(endpoint: str | None) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            "config",
            [
                FieldProblem(
                    "tracing_exporter",
                    "otlp",
                    "needs the OTLP exporter: pip install 'ordinis-learning[otlp]' "
                    "(opentelemetry-exporter-otlp-proto-http), or use 'console' or 'none'",
                )
            ],
        ) from exc
    return OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()


@contextlib.contextmanager
def span(
    tracer: Tracer,
    name: str,
    *,
    model: str | None = None,
    version: str | None = None,
    job: str | None = None,
    events: int | None = None,
    parent: Context | None = None,
    **attributes: str | int | float | bool,
) -> Iterator[Span]:
    """Open ``name`` as the current span with the engine's standard attributes.

    An exception escaping the block marks the span as an error and is re-raised.
    """
    attrs: dict[str, str | int | float | bool] = {}
    if model is not None:
        attrs[ATTR_MODEL] = model
    if version is not None:
        attrs[ATTR_VERSION] = version
    if job is not None:
        attrs[ATTR_JOB] = job
    if events is not None:
        attrs[ATTR_EVENTS] = events
    for key, value in attributes.items():
        attrs[f"learning.{key}"] = value
    with tracer.start_as_current_span(
        name, context=parent, attributes=attrs, record_exception=True, set_status_on_exception=True
    ) as current:
        yield current


def mark_error(current: Span, message: str) -> None:
    """Mark ``current`` failed without an exception (a refused or failed step)."""
    current.set_status(Status(StatusCode.ERROR, message))


_F = TypeVar("_F", bound=Callable[..., Any])


def traced_check(name: str) -> Callable[[_F], _F]:
    """Decorate a synchronous method ``(self, model_name, ...)`` of a part holding ``metrics``:
    run it inside span ``name`` carrying the model and how many alerts it returned."""

    def wrap(fn: _F) -> _F:
        @functools.wraps(fn)
        def inner(self: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
            with span(self.metrics.tracer, name, model=str(model_name)) as sp:
                out = fn(self, model_name, *args, **kwargs)
                if isinstance(out, list):
                    sp.set_attribute(ATTR_ALERTS, len(out))
                return out

        return cast(_F, inner)

    return wrap


def rollout_step(
    tracer: Tracer, model: str, version: str, step: str, traffic: float | None = None
) -> contextlib.AbstractContextManager[Span]:
    """The span of one rollout step (shadow start, canary ramp, promotion, rollback)."""
    if traffic is None:
        return span(tracer, "learning.rollout.step", model=model, version=version,
                    rollout_step=step)
    return span(tracer, "learning.rollout.step", model=model, version=version,
                rollout_step=step, traffic=float(traffic))
