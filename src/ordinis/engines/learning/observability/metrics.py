"""The engine's Prometheus metrics, one registry per engine so several engines can coexist.

Every part records through an instance of ``LearningMetrics`` handed to it by the engine;
nothing keeps ad-hoc stats dicts as its only window.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
_JOB_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)


class LearningMetrics:
    """All metrics of one LearningEngine, registered in ``self.registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        # events
        self.events_total = Counter(
            "learning_events_total",
            "Events seen by the engine",
            ["event_type", "source_engine", "status"],
            registry=r,
        )
        self.event_buffer_size = Gauge(
            "learning_event_buffer_size", "Events waiting in the buffer", registry=r
        )
        self.event_processing_duration = Histogram(
            "learning_event_processing_duration_seconds",
            "Time to commit one batch of events",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.event_flush_lag = Gauge(
            "learning_event_flush_lag_seconds", "Age of the oldest buffered event", registry=r
        )
        self.event_buffer_waits_total = Counter(
            "learning_event_buffer_waits_total",
            "Producers that had to wait for buffer space",
            registry=r,
        )
        self.event_store_errors_total = Counter(
            "learning_event_store_errors_total",
            "Failed store writes (retried)",
            ["operation"],
            registry=r,
        )
        self.events_purged_total = Counter(
            "learning_events_purged_total", "Events removed by retention", registry=r
        )
        # safety
        self.circuit_breaker_state = Gauge(
            "circuit_breaker_state", "0 closed, 1 half-open, 2 open", ["engine"], registry=r
        )
        self.circuit_breaker_trips_total = Counter(
            "circuit_breaker_trips_total", "Breaker trips", ["engine", "error_type"], registry=r
        )
        self.feedback_records_total = Counter(
            "learning_feedback_records_total",
            "Feedback records persisted",
            ["feedback_type", "priority"],
            registry=r,
        )
        # training and registry
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
            "Training job wall time",
            ["model_name", "job_type"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.training_job_progress = Gauge(
            "training_job_progress", "Fraction done of a running job", ["job_id"], registry=r
        )
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
        # rollout
        self.model_rollout_state = Gauge(
            "model_rollout_state",
            "Rollout phase: 0 none, 1 shadow, 2 awaiting approval, 3 canary, 4 blue-green, "
            "5 production, -1 rolled back, -2 aborted",
            ["model_name"],
            registry=r,
        )
        self.model_canary_traffic_ratio = Gauge(
            "model_canary_traffic_ratio",
            "Share of live traffic served by a version during a rollout",
            ["model_name", "version"],
            registry=r,
        )
        self.shadow_agreement_ratio = Gauge(
            "shadow_agreement_ratio",
            "Share of shadow predictions with the served signal's direction",
            ["model_name", "version"],
            registry=r,
        )
        self.governance_decisions_total = Counter(
            "governance_decisions_total", "Preflight decisions", ["action", "decision"], registry=r
        )
        self.audit_records_total = Counter(
            "audit_records_total", "Audit records written", ["action"], registry=r
        )
        # evaluation
        self.evaluations_total = Counter(
            "model_evaluations_total", "Evaluations run", ["model_name", "passed"], registry=r
        )
        self.gate_results_total = Counter(
            "evaluation_gate_results_total", "Gate verdicts", ["gate", "verdict"], registry=r
        )
        self.evaluation_duration = Histogram(
            "model_evaluation_duration_seconds",
            "Evaluation wall time",
            ["model_name"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        # drift and the loop
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
        self.retrain_triggers_total = Counter(
            "retrain_triggers_total",
            "Retraining triggers",
            ["model_name", "trigger_type", "outcome"],
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of one sample (0.0 when it was never set); for reports and tests."""
        value = self.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else float(value)
