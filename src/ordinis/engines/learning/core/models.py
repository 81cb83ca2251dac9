"""Data passed between the engine's parts: events, jobs, model versions, alerts, results.

Every part exchanges these dataclasses, never loose dicts. Enum values are stable strings
because they are persisted in the event store and in MLflow tags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    evaluation_passed: bool | None = None  # the latest evaluation, whatever its gate set
    evaluation_label: str = ""  # that evaluation's summary (required and advisory apart)
    production_verdict: ProductionVerdict | None = None  # latest production-gate-set verdict

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


@dataclass(frozen=True, slots=True)
class PackCoverage:
    """What one pack contributed: rows, rows after the clock, rows in the training window."""

    name: str
    version: str
    rows: int
    rows_after_now: int = 0
    rows_in_training_window: int = 0
    rows_used: int = 0
    skipped: str = ""  # why the pack was skipped ("" when it was used)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "rows": self.rows,
            "rows_after_now": self.rows_after_now,
            "rows_in_training_window": self.rows_in_training_window,
            "rows_used": self.rows_used, "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackCoverage:
        return cls(
            str(data["name"]), str(data.get("version", "")), int(data.get("rows", 0)),
            int(data.get("rows_after_now", 0)), int(data.get("rows_in_training_window", 0)),
            int(data.get("rows_used", 0)), str(data.get("skipped", "")),
        )


@dataclass(frozen=True, slots=True)
class EvaluationScope:
    """The point in time and the out-of-sample rule an evaluation was computed under.

    ``as_of`` is the engine clock's now: no row after it was used. ``excluded_start`` /
    ``excluded_end`` is the version's training window widened by the trainer's purge and
    embargo (None when the version carries no window): no row inside it was used.
    """

    as_of: datetime
    excluded_start: datetime | None = None
    excluded_end: datetime | None = None
    packs: tuple[PackCoverage, ...] = ()

    @property
    def used(self) -> list[PackCoverage]:
        return [p for p in self.packs if not p.skipped]

    @property
    def skipped(self) -> list[PackCoverage]:
        return [p for p in self.packs if p.skipped]

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "excluded_start": self.excluded_start.isoformat() if self.excluded_start else None,
            "excluded_end": self.excluded_end.isoformat() if self.excluded_end else None,
            "packs": [p.to_dict() for p in self.packs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationScope:
        def when(v: Any) -> datetime | None:
            return datetime.fromisoformat(str(v)) if v else None

        as_of = when(data.get("as_of"))
        return cls(
            as_of if as_of is not None else utc_now(),
            when(data.get("excluded_start")), when(data.get("excluded_end")),
            tuple(PackCoverage.from_dict(p) for p in data.get("packs", [])),
        )


@dataclass(frozen=True, slots=True)
class ProductionVerdict:
    """The stored verdict of one evaluation, as promotion reads it.

    It names the gate set and its hash, whether that set is the production set of the
    version's model type (only then can it open production), the trials counted, the packs
    (name@version), the clock time, and the required gates still waiting for live evidence.
    """

    evaluation_id: str
    gate_set: str
    gate_set_hash: str
    opens_production: bool
    passed: bool
    trials: int
    packs: tuple[str, ...]
    as_of: datetime
    waiting_for: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    parity_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluation_id": self.evaluation_id, "gate_set": self.gate_set,
            "gate_set_hash": self.gate_set_hash, "opens_production": self.opens_production,
            "passed": self.passed, "trials": self.trials, "packs": list(self.packs),
            "as_of": self.as_of.isoformat(), "waiting_for": list(self.waiting_for),
            "blocked_by": list(self.blocked_by), "parity_ratio": self.parity_ratio,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductionVerdict:
        ratio = data.get("parity_ratio")
        return cls(
            str(data["evaluation_id"]), str(data["gate_set"]), str(data["gate_set_hash"]),
            bool(data["opens_production"]), bool(data["passed"]), int(data["trials"]),
            tuple(str(p) for p in data.get("packs", [])),
            datetime.fromisoformat(str(data["as_of"])),
            tuple(str(p) for p in data.get("waiting_for", [])),
            tuple(str(p) for p in data.get("blocked_by", [])),
            None if ratio is None else float(ratio),
        )

    def label(self) -> str:
        """What the verdict means, in a few words."""
        if self.passed:
            return f"{self.gate_set}: passed"
        if self.blocked_by:
            return f"{self.gate_set}: blocked by {', '.join(self.blocked_by)}"
        if self.waiting_for:
            return f"{self.gate_set}: waiting for live evidence ({', '.join(self.waiting_for)})"
        return f"{self.gate_set}: not passed"


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
    scope: EvaluationScope | None = None
    verdict: ProductionVerdict | None = None

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


@dataclass(frozen=True, slots=True)
class MetricDrift:
    """Where one reported metric stands against its model's baseline right now, and the open
    drift episode of that metric, if any (while it is open, checks raise no new alert)."""

    metric: str
    value: float
    baseline: float
    ratio: float  # relative change against the baseline
    threshold: float  # the warning threshold of that ratio
    severity: DriftSeverity | None  # None: within the threshold
    episode_severity: DriftSeverity | None = None
    episode_opened_at: datetime | None = None

    @property
    def drifted(self) -> bool:
        return self.severity is not None


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

    def describe(self) -> str:
        """What drifted, never "vs baseline nan": a detector without a baseline value says so."""
        head = f"{self.severity.value} {self.drift_type.value} drift on {self.metric}: "
        if math.isfinite(self.baseline_value):
            return head + f"{self.current_value:.4g} vs baseline {self.baseline_value:.4g}"
        return head + f"{self.current_value:.4g} (a change in the stream; no baseline value)"

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
