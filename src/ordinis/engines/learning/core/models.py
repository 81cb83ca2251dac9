"""Data passed between the engine's parts: events, jobs, model versions, alerts, results.

Every part exchanges these dataclasses, never loose dicts. Enum values are stable strings
because they are persisted in the event store and in MLflow tags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.gate_report import GateReport
from ordinis.engines.learning.core.ids import new_id


class EventType(StrEnum):
    """Kinds of event the trading engines emit towards the LearningEngine."""

    SIGNAL_GENERATED = "signal_generated"
    SIGNAL_ACCURACY = "signal_accuracy"
    ORDER_SUBMITTED = "order_submitted"
    ORDER_FILLED = "order_filled"
    ORDER_REJECTED = "order_rejected"
    REBALANCE_EXECUTED = "rebalance_executed"
    POSITION_OPENED = "position_opened"
    POSITION_CLOSED = "position_closed"
    RISK_BREACH = "risk_breach"
    DRAWDOWN_EVENT = "drawdown_event"
    PNL_SNAPSHOT = "pnl_snapshot"
    METRIC_RECORDED = "metric_recorded"
    MODEL_PREDICTION = "model_prediction"
    DRIFT_DETECTED = "drift_detected"
    TRADE_OUTCOME = "trade_outcome"
    EXECUTION_FAILURE = "execution_failure"
    REGIME_CHANGE = "regime_change"
    INSUFFICIENT_CAPITAL = "insufficient_capital"
    POSITION_MISMATCH = "position_mismatch"
    SIGNAL_BATCH = "signal_batch"
    TRADING_CYCLE = "trading_cycle"
    ERROR_RATE_SPIKE = "error_rate_spike"
    BROKER_SYNC_FAILURE = "broker_sync_failure"


# Values looked up on the hot path without constructing the enum.
EVENT_TYPE_VALUES: frozenset[str] = frozenset(e.value for e in EventType)


def utc_now() -> datetime:
    """The system time in UTC; only clocks and defaults call this."""
    return datetime.now(UTC)


@dataclass(slots=True)
class LearningEvent:
    """One thing that happened in a trading engine, as the LearningEngine stores it.

    ``event_id`` is time-ordered (UUIDv7) and is the idempotency key of the store.
    ``outcome`` is the supervised target (for example the realised return of a signal).
    """

    event_type: EventType
    source_engine: str
    symbol: str | None = None
    timestamp: datetime = field(default_factory=utc_now)
    payload: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    outcome: float | None = None
    event_id: str = field(default_factory=new_id)

    # Backwards-compatible alias used by some ordinis call sites.
    @property
    def data(self) -> dict[str, Any]:
        return self.payload


class TrainingStatus(StrEnum):
    """Lifecycle of a training job."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (TrainingStatus.COMPLETED, TrainingStatus.FAILED, TrainingStatus.CANCELLED)


@dataclass(slots=True)
class TrainingJob:
    """A request to train one model, and what became of it."""

    job_id: str
    model_name: str
    model_type: str
    config: dict[str, Any] = field(default_factory=dict)
    status: TrainingStatus = TrainingStatus.PENDING
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error_message: str | None = None
    artifacts_path: str | None = None
    progress: float = 0.0
    progress_message: str = ""
    attempts: int = 0
    model_version_id: str | None = None
    trigger_id: str | None = None
    resources: dict[str, float] = field(default_factory=dict)


class ModelStage(StrEnum):
    """Where a model version stands; kept as an MLflow alias plus a version tag."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    SHADOW = "shadow"
    CANARY = "canary"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class RolloutStrategy(StrEnum):
    """How a version reaches production traffic."""

    IMMEDIATE = "immediate"
    SHADOW = "shadow"
    CANARY = "canary"
    BLUE_GREEN = "blue_green"


@dataclass(slots=True)
class ModelVersion:
    """One registered version of a model; MLflow is its system of record."""

    model_name: str
    version: str
    stage: ModelStage = ModelStage.DEVELOPMENT
    version_id: str = ""
    created_at: datetime = field(default_factory=utc_now)
    metrics: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    artifact_path: str | None = None
    artifact_sha256: str | None = None
    training_job_id: str | None = None
    description: str = ""
    lineage: dict[str, str] = field(default_factory=dict)
    mlflow_version: str | None = None
    run_id: str | None = None
    evaluation_passed: bool | None = None

    def __post_init__(self) -> None:
        if not self.version_id:
            self.version_id = f"{self.model_name}:{self.version}"


@dataclass(slots=True)
class MetricEstimate:
    """A metric with its confidence interval (NaN bounds when no interval was computed)."""

    value: float
    lower: float = math.nan
    upper: float = math.nan
    p_value: float = math.nan


@dataclass(slots=True)
class EvaluationResult:
    """What an evaluation of one model version found, on one benchmark."""

    model_version_id: str
    benchmark_name: str
    passed: bool
    metrics: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    evaluated_at: datetime = field(default_factory=utc_now)
    details: dict[str, Any] = field(default_factory=dict)
    evaluation_id: str = field(default_factory=new_id)
    intervals: dict[str, MetricEstimate] = field(default_factory=dict)
    data_hash: str = ""
    gate_report: GateReport | None = None

    @property
    def gate_set(self) -> str | None:
        """The name of the gate set that gave the verdict (None before gating)."""
        return None if self.gate_report is None else self.gate_report.gate_set


class DriftType(StrEnum):
    DATA = "data"
    CONCEPT = "concept"
    PERFORMANCE = "performance"
    PREDICTION = "prediction"


class DriftSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(slots=True)
class DriftAlert:
    """A detected drift of one metric of one model."""

    model_name: str
    drift_type: DriftType
    severity: DriftSeverity
    metric: str
    current_value: float
    baseline_value: float
    threshold: float
    detected_at: datetime = field(default_factory=utc_now)
    details: dict[str, Any] = field(default_factory=dict)
    alert_id: str = field(default_factory=new_id)

    @property
    def drift_ratio(self) -> float:
        if self.baseline_value == 0:
            return math.inf if self.current_value != 0 else 0.0
        return abs(self.current_value - self.baseline_value) / abs(self.baseline_value)


class HealthLevel(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(slots=True)
class HealthStatus:
    """Answer of ``health_check``."""

    level: HealthLevel
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0

    @property
    def healthy(self) -> bool:
        return self.level is HealthLevel.HEALTHY


class FeedbackPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(slots=True)
class FeedbackRecord:
    """A piece of feedback a trading engine reported, as the collector persisted it."""

    feedback_type: str
    source_engine: str
    priority: FeedbackPriority = FeedbackPriority.NORMAL
    symbol: str | None = None
    timestamp: datetime = field(default_factory=utc_now)
    data: dict[str, Any] = field(default_factory=dict)
    outcome: float | None = None
    record_id: str = field(default_factory=new_id)
    event_id: str | None = None


@dataclass(slots=True)
class AuditRecord:
    """One append-only entry of the audit log, chained to the one before by hash."""

    sequence: int
    timestamp: datetime
    actor: str
    action: str
    target: str
    decision: str
    reason: str
    details: dict[str, Any]
    prev_hash: str
    record_hash: str


@dataclass(slots=True)
class StoredRecord:
    """A typed document kept in the event store (jobs, alerts, breaker state, ...).

    ``kind`` names the owner's record type, ``key`` is unique within the kind and
    ``tag`` is an indexed secondary key (model name, engine, symbol).
    """

    kind: str
    key: str
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    tag: str = ""
