"""The metric taxonomy: the review's section-8 metrics with its names, types and labels."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.observability.exposition import MetricsServer, render_metrics
from ordinis.engines.learning.observability.metrics import LearningMetrics, RolloutStateValue
from ordinis.engines.learning.safety.state import BreakerState

# Section 8 of the architecture review: name -> (type, labels).
SECTION_8 = {
    "learning_events_total": ("counter", ("event_type", "source_engine", "status")),
    "learning_event_buffer_size": ("gauge", ("engine",)),
    "learning_event_processing_duration_seconds": ("histogram", ("event_type",)),
    "training_jobs_total": ("counter", ("model_name", "status")),
    "training_jobs_active": ("gauge", ("model_name",)),
    "training_job_duration_seconds": ("histogram", ("model_name", "job_type")),
    "training_gpu_utilization": ("gauge", ("device",)),
    "model_versions_total": ("gauge", ("model_name", "stage")),
    "model_promotions_total": (
        "counter", ("model_name", "from_stage", "to_stage", "rollout_strategy")
    ),
    "model_rollbacks_total": ("counter", ("model_name", "reason")),
    "model_drift_ratio": ("gauge", ("model_name", "metric_name")),
    "drift_alerts_total": ("counter", ("model_name", "severity", "drift_type")),
    "model_baseline_age_seconds": ("gauge", ("model_name",)),
    "circuit_breaker_state": ("gauge", ("engine",)),
    "circuit_breaker_trips_total": ("counter", ("engine", "error_type")),
    "circuit_breaker_open_duration_seconds": ("histogram", ("engine",)),
    # REC-5 and the review's alert rules
    "model_evaluation_duration_seconds": ("histogram", ("model_name",)),
    "training_job_start_time": ("gauge", ("model_name",)),
}


def _families(metrics: LearningMetrics) -> dict[str, tuple[str, tuple[str, ...]]]:
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for collector in set(metrics.registry._collector_to_names):
        describe = getattr(collector, "_labelnames", None)
        for family in collector.describe() if hasattr(collector, "describe") else []:
            name = family.name + ("_total" if family.type == "counter" else "")
            out[name] = (family.type, tuple(describe or ()))
    return out


def test_every_section_8_metric_with_its_type_and_labels() -> None:
    families = _families(LearningMetrics())
    for name, (kind, labels) in SECTION_8.items():
        assert name in families, name
        assert families[name] == (kind, labels), name


def test_breaker_gauge_values_are_the_reviews() -> None:
    assert BreakerState.CLOSED.gauge_value == 0
    assert BreakerState.OPEN.gauge_value == 1
    assert BreakerState.HALF_OPEN.gauge_value == 2
    # safety rank still orders open as the most restrictive
    assert BreakerState.OPEN.safety_rank > BreakerState.HALF_OPEN.safety_rank


def test_rollout_helpers_publish_state_and_traffic() -> None:
    m = LearningMetrics()
    m.set_rollout_state("alpha", RolloutStateValue.CANARY)
    m.set_canary_traffic("alpha", "v3", 0.25)
    assert m.sample("model_rollout_state", {"model_name": "alpha"}) == 2
    assert m.sample("model_canary_traffic_ratio", {"model_name": "alpha", "version": "v3"}) == 0.25


def test_two_engines_keep_separate_registries() -> None:
    a, b = LearningMetrics(), LearningMetrics(engine="second")
    a.training_jobs_active.labels("m").inc()
    assert b.sample("training_jobs_active", {"model_name": "m"}) == 0
    b.event_buffer_size_child.set(3)
    assert b.sample("learning_event_buffer_size", {"engine": "second"}) == 3


def test_server_serves_the_registry_and_releases_its_port() -> None:
    m = LearningMetrics()
    m.circuit_breaker_state.labels(engine="execution").set(1)
    server = MetricsServer(m.registry, "127.0.0.1", 0)
    port = server.start()
    try:
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            body = resp.read().decode()
            assert resp.headers["Content-Type"].startswith("text/plain")
        assert 'circuit_breaker_state{engine="execution"} 1.0' in body
        rendered = render_metrics(m.registry)  # what `ordinis-learning serve` returns
        assert rendered.content_type.startswith("text/plain")
        assert 'circuit_breaker_state{engine="execution"} 1.0' in rendered.body.decode()
        # a second server on the same port is refused with a message naming the field
        with pytest.raises(ConfigError, match="metrics_port"):
            MetricsServer(CollectorRegistry(), "127.0.0.1", port).start()
    finally:
        server.stop()
    again = MetricsServer(m.registry, "127.0.0.1", port)
    assert again.start() == port  # released
    again.stop()
