"""The engine's Prometheus metrics: the review's section-8 taxonomy plus what an operator needs.

One registry per engine so several engines coexist in one host. Every part records through the
``LearningMetrics`` the engine hands it, once, where the thing happens (docs/observability.md
lists each metric and its call site). Nothing here is on the record hot path: the event
pipeline tallies per batch and publishes off the hot path.
"""

from __future__ import annotations

from enum import IntEnum

from opentelemetry import trace
from opentelemetry.trace import Tracer
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

_LATENCY_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
_JOB_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)
_OPEN_BUCKETS = (1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)
_LAG_BUCKETS = (1e-4, 1e-3, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)

TRACER_NAME = "ordinis.engines.learning"


class RolloutStateValue(IntEnum):
    """Values of ``model_rollout_state``: where a model's rollout stands."""

    IDLE = 0  # no rollout in progress; production serves everything
    SHADOW = 1  # candidate scored beside production, no traffic
    CANARY = 2  # candidate serves ``model_canary_traffic_ratio`` of the traffic
    BLUE_GREEN = 3  # switch-over in progress
    PROMOTED = 4  # candidate became production
    ROLLED_BACK = 5  # candidate withdrawn after harm


class LearningMetrics:
    """All metrics of one LearningEngine, registered in ``self.registry``.

    ``engine`` labels engine-level gauges (``learning_event_buffer_size{engine}``); ``tracer``
    is the OpenTelemetry tracer the parts open spans with (the host's global provider unless the
    engine configures its own, see ``observability.tracing``).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        engine: str = "learning",
        process_metrics: bool = True,
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.engine = engine
        self.tracer: Tracer = trace.get_tracer(TRACER_NAME)
        r = self.registry
        if process_metrics and registry is None:
            ProcessCollector(registry=r)  # process_cpu_seconds_total, resident memory, fds
        # ---------------------------------------------------------------- events (section 8)
        self.events_total = Counter(
            "learning_events_total",
            "Events seen by the engine, by outcome (status: stored, rejected, disabled, "
            "refused_full)",
            ["event_type", "source_engine", "status"],
            registry=r,
        )
        self.event_buffer_size = Gauge(
            "learning_event_buffer_size",
            "Events waiting for the store (buffer plus the batch being committed)",
            ["engine"],
            registry=r,
        )
        self.event_buffer_size_child = self.event_buffer_size.labels(engine)
        self.event_processing_duration = Histogram(
            "learning_event_processing_duration_seconds",
            "Commit time of a batch, observed once per event type the batch carries",
            ["event_type"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # events (operator)
        self.event_flush_lag = Gauge(
            "learning_event_flush_lag_seconds",
            "Clock age of the oldest event not yet committed",
            registry=r,
        )
        self.event_buffer_waits_total = Counter(
            "learning_event_buffer_waits_total",
            "Producers that had to wait for buffer space",
            registry=r,
        )
        self.event_store_errors_total = Counter(
            "learning_event_store_errors_total",
            "Failed store operations (writes are kept and retried)",
            ["operation"],
            registry=r,
        )
        self.events_purged_total = Counter(
            "learning_events_purged_total", "Events removed by retention", registry=r
        )
        self.event_loop_lag = Histogram(
            "learning_event_loop_lag_seconds",
            "How late the host's event loop ran the engine's probe callback",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        # ---------------------------------------------------------------- safety (section 8)
        self.circuit_breaker_state = Gauge(
            "circuit_breaker_state", "0 closed, 1 open, 2 half-open", ["engine"], registry=r
        )
        self.circuit_breaker_trips_total = Counter(
            "circuit_breaker_trips_total", "Breaker trips", ["engine", "error_type"], registry=r
        )
        self.circuit_breaker_open_duration = Histogram(
            "circuit_breaker_open_duration_seconds",
            "Clock time a breaker stayed open, observed when it leaves the open state",
            ["engine"],
            buckets=_OPEN_BUCKETS,
            registry=r,
        )
        self.feedback_records_total = Counter(
            "learning_feedback_records_total",
            "Feedback records persisted",
            ["feedback_type", "priority"],
            registry=r,
        )
        # ---------------------------------------------------------------- training (section 8)
        self.training_jobs_total = Counter(
            "training_jobs_total",
            "Training jobs by final status",
            ["model_name", "status"],
            registry=r,
        )
        self.training_jobs_active = Gauge(
            "training_jobs_active", "Training jobs running now", ["model_name"], registry=r
        )
        self.training_job_duration = Histogram(
            "training_job_duration_seconds",
            "Training job clock time, start of the first attempt to the end",
            ["model_name", "job_type"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.training_gpu_utilization = Gauge(
            "training_gpu_utilization",
            "Share (0-1) of the GPU device held by running training jobs (allocation; no "
            "series on hosts without GPUs)",
            ["device"],
            registry=r,
        )
        self.training_job_start_time = Gauge(
            "training_job_start_time",
            "Unix time the oldest running job of the model started (absent when none runs)",
            ["model_name"],
            registry=r,
        )
        # training (operator)
        self.training_jobs_queued = Gauge(
            "training_jobs_queued",
            "Training jobs waiting for a slot or resources",
            ["model_name"],
            registry=r,
        )
        self.training_job_progress = Gauge(
            "training_job_progress", "Fraction done of a running job", ["job_id"], registry=r
        )
        # ---------------------------------------------------------------- registry (section 8)
        self.model_versions_total = Gauge(
            "model_versions_total", "Model versions by stage", ["model_name", "stage"], registry=r
        )
        self.model_promotions_total = Counter(
            "model_promotions_total",
            "Stage changes",
            ["model_name", "from_stage", "to_stage", "rollout_strategy"],
            registry=r,
        )
        self.model_rollbacks_total = Counter(
            "model_rollbacks_total", "Rollbacks", ["model_name", "reason"], registry=r
        )
        self.governance_decisions_total = Counter(
            "governance_decisions_total", "Preflight decisions", ["action", "decision"], registry=r
        )
        self.audit_records_total = Counter(
            "audit_records_total", "Audit records written", ["action"], registry=r
        )
        # ---------------------------------------------------------------- rollout (operator)
        self.model_rollout_state = Gauge(
            "model_rollout_state",
            "Rollout state: 0 idle, 1 shadow, 2 canary, 3 blue-green, 4 promoted, 5 rolled back",
            ["model_name"],
            registry=r,
        )
        self.model_canary_traffic_ratio = Gauge(
            "model_canary_traffic_ratio",
            "Share (0-1) of the model's traffic routed to the candidate version",
            ["model_name", "version"],
            registry=r,
        )
        self.shadow_agreement_ratio = Gauge(
            "shadow_agreement_ratio",
            "Share (0-1) of shadow predictions agreeing with production's",
            ["model_name", "version"],
            registry=r,
        )
        # ---------------------------------------------------------------- evaluation
        self.evaluations_total = Counter(
            "model_evaluations_total",
            "Evaluations finished, by final verdict",
            ["model_name", "passed"],
            registry=r,
        )
        self.gate_results_total = Counter(
            "evaluation_gate_results_total", "Gate verdicts", ["gate", "verdict"], registry=r
        )
        self.evaluation_duration = Histogram(
            "model_evaluation_duration_seconds",
            "Time to evaluate a model on its benchmark packs",
            ["model_name"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        # ---------------------------------------------------------------- drift (section 8)
        self.model_drift_ratio = Gauge(
            "model_drift_ratio",
            "Relative change of a metric against its baseline",
            ["model_name", "metric_name"],
            registry=r,
        )
        self.drift_alerts_total = Counter(
            "drift_alerts_total",
            "Drift alerts raised",
            ["model_name", "severity", "drift_type"],
            registry=r,
        )
        self.model_baseline_age_seconds = Gauge(
            "model_baseline_age_seconds",
            "Age of the model's drift baseline",
            ["model_name"],
            registry=r,
        )
        # drift (operator)
        self.drift_episodes_total = Counter(
            "drift_episodes_total",
            "Drift episodes opened (a run of drift between two quiet periods)",
            ["model_name", "drift_type"],
            registry=r,
        )
        # ---------------------------------------------------------------- the closed loop
        self.retrain_triggers_total = Counter(
            "retrain_triggers_total",
            "Retraining triggers by final outcome",
            ["model_name", "trigger_type", "outcome"],
            registry=r,
        )
        self.retrain_refusals_total = Counter(
            "retrain_refusals_total",
            "Retraining triggers refused, by the safeguard that refused them",
            ["model_name", "safeguard"],
            registry=r,
        )

    # ------------------------------------------------------------------ helpers for the parts
    def set_rollout_state(self, model_name: str, state: RolloutStateValue) -> None:
        """Publish where the model's rollout stands (the rollout controller calls this)."""
        self.model_rollout_state.labels(model_name=model_name).set(int(state))

    def set_canary_traffic(self, model_name: str, version: str, ratio: float) -> None:
        """Publish the candidate's share of traffic (0 removes nothing: the series stays)."""
        self.model_canary_traffic_ratio.labels(model_name=model_name, version=version).set(ratio)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def names(self) -> frozenset[str]:
        """Every sample name this registry can expose (counters with and without ``_total``)."""
        out: set[str] = set()
        for family in self.registry.collect():
            out.add(family.name)
            for sample in family.samples:
                out.add(sample.name)
            if family.type == "counter":
                out.add(family.name + "_total")
            if family.type == "histogram":
                out.update(family.name + s for s in ("_bucket", "_count", "_sum"))
        return frozenset(out)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of one sample (0.0 when it was never set); for reports and tests."""
        value = self.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else float(value)
