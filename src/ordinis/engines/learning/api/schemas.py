"""Request and response models of the HTTP API (pydantic), and converters from the library's
dataclasses. Non-finite floats become null (JSON has no NaN)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
Num = float | None


def num(x: Any) -> float | None:
    """A JSON-safe float: NaN and infinities become None."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def nums(d: dict[str, Any]) -> dict[str, float | None]:
    return {str(k): num(v) for k, v in d.items()}


def strs(d: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in d.items()}


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, the ``total`` and where the next page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = None


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """Slice ``items`` into a page dict (the caller's model validates it)."""
    chunk = items[offset : offset + limit]
    nxt = offset + limit if offset + limit < len(items) else None
    return {"items": chunk, "total": len(items), "limit": limit, "offset": offset,
            "next_offset": nxt}


class EventIn(BaseModel):
    """One event to ingest (the fields of LearningEvent)."""

    event_type: str = Field(description="an EventType value, e.g. signal_generated")
    source_engine: str
    symbol: str | None = None
    timestamp: datetime | None = Field(default=None, description="UTC; default: now")
    payload: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    outcome: float | None = None
    event_id: str | None = Field(default=None, description="idempotency key; default: new")


class EventOut(BaseModel):
    event_id: str
    event_type: str
    source_engine: str
    symbol: str | None
    timestamp: datetime
    payload: dict[str, Any]
    labels: dict[str, str]
    outcome: float | None


class IngestResult(BaseModel):
    """How many events were accepted and whether they are committed (durable) on reply."""

    accepted: int
    committed: bool
    buffered: bool
    event_ids: list[str] = Field(default_factory=list)


class EventStatsOut(BaseModel):
    total: int
    by_type: dict[str, int]
    by_source: dict[str, int]
    first_timestamp: datetime | None
    last_timestamp: datetime | None


class FeedbackIn(BaseModel):
    """Keyword arguments of the collector's ``record_<kind>`` call."""

    fields: dict[str, Any] = Field(default_factory=dict)


class FeedbackOut(BaseModel):
    record_id: str
    feedback_type: str
    source_engine: str
    symbol: str | None
    timestamp: datetime
    outcome: float | None
    priority: str


class JobIn(BaseModel):
    model_name: str = Field(min_length=1)
    model_type: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)


class JobOut(BaseModel):
    job_id: str
    model_name: str
    model_type: str
    status: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    progress: float
    progress_message: str
    metrics: dict[str, Num]
    error_message: str | None
    model_version_id: str | None
    attempts: int


class VersionOut(BaseModel):
    version_id: str
    model_name: str
    version: str
    stage: str
    created_at: datetime
    metrics: dict[str, Num]
    parameters: dict[str, str]
    lineage: dict[str, str]
    artifact_sha256: str | None
    training_job_id: str | None
    evaluation_passed: bool | None
    evaluation_label: str  # the latest evaluation's summary: gate set, required and advisory apart
    production: str  # what the production gates say (the verdict promotion reads)
    description: str


class ModelOut(BaseModel):
    name: str
    versions: int
    production: str | None


class StageChangeOut(BaseModel):
    version: str
    from_stage: str | None
    to_stage: str
    actor: str
    reason: str
    at: datetime
    action: str


class PromoteIn(BaseModel):
    stage: str = Field(description="development, staging, shadow, canary, production, archived")
    reason: str = ""


class PromotionRequestIn(BaseModel):
    version_id: str = Field(description="name:version")
    stage: str = "production"
    reason: str = ""


class DecisionIn(BaseModel):
    reason: str = ""


class RejectIn(BaseModel):
    reason: str = Field(min_length=1)


class PromotionRequestOut(BaseModel):
    request_id: str
    version_id: str
    target_stage: str
    requested_by: str
    reason: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


class PolicyVerdict(BaseModel):
    policy: str
    decision: str
    reason: str


class RollbackIn(BaseModel):
    reason: str = Field(min_length=1)


class RetrainIn(BaseModel):
    reason: str = Field(min_length=1, description="why (stored with the trigger, audited)")


class TriggerOut(BaseModel):
    """A retraining trigger and every step it went through (the closed loop's ledger)."""

    trigger_id: str
    model_name: str
    trigger_type: str
    status: str
    reason: str
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None
    safeguard: str | None
    refusal_reason: str | None
    data_validation: str | None
    job_id: str | None
    version_id: str | None
    gate_passed: bool | None
    gate_summary: str | None
    evaluation_id: str | None
    promoted_to: str | None
    rollout: str | None = Field(description="the production rollout the loop started, or why not")
    rollout_id: str | None
    error: str | None


class EvaluateIn(BaseModel):
    benchmarks: list[str] | None = None
    gate_set: str | None = None
    metrics: dict[str, float] | None = None
    thresholds: dict[str, float] | None = None


class EvaluationOut(BaseModel):
    evaluation_id: str
    model_version_id: str
    benchmark_name: str
    passed: bool
    gate_set: str | None
    metrics: dict[str, Num]
    thresholds: dict[str, Num]
    evaluated_at: datetime
    data_hash: str = ""
    gate_report: str | None = Field(default=None, description="the gate table, as text")
    opens_production: bool = Field(
        default=False, description="whether this gate set's verdict can open production"
    )
    verdict: str | None = Field(default=None, description="what the verdict means")
    sequence: int | None = Field(
        default=None, description="the version's evaluation number (1 = first; the MLflow step)"
    )


class CompareIn(BaseModel):
    version_a: str
    version_b: str
    benchmarks: list[str] | None = None


class CompareOut(BaseModel):
    """Challenger a against champion b: mean Sharpe difference, its interval and p-value."""

    version_a: str
    version_b: str
    sharpe_diff: Num
    lower: Num
    upper: Num
    p_value: Num
    a_better: bool


class AlertOut(BaseModel):
    alert_id: str
    model_name: str
    drift_type: str
    severity: str
    metric: str
    current_value: Num
    baseline_value: Num
    threshold: Num
    detected_at: datetime


class MetricDriftOut(BaseModel):
    """Where one metric stands against the baseline now, and its open drift episode."""

    metric: str
    value: Num
    baseline: Num
    ratio: Num
    threshold: Num
    severity: str | None = Field(description="null: within the threshold")
    episode_severity: str | None = Field(description="the open episode's severity, if any")
    episode_opened_at: datetime | None


class MetricsIn(BaseModel):
    metrics: dict[str, float]


class BreakerOut(BaseModel):
    engine: str
    state: str
    reason: str
    opened_at: datetime | None
    trips: int
    last_reset_by: str | None
    last_reset_reason: str | None


class ResetIn(BaseModel):
    reason: str = Field(min_length=1)


class AuditOut(BaseModel):
    sequence: int
    timestamp: datetime
    actor: str
    action: str
    target: str
    decision: str
    reason: str
    record_hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_sequence: int | None
    problem: str


class HealthOut(BaseModel):
    level: str
    message: str
    duration_ms: Num


class LiveOut(BaseModel):
    """The process answers; nothing about the engine's health (that is /health)."""

    alive: bool


class StatusOut(BaseModel):
    running: bool
    clock: datetime
    models: list[str]
    training_jobs: int
    drift_alerts: int
    buffered_events: int
    committed_events: int
    breakers: dict[str, str]
    store: str
    tracking_uri: str


class AnalysisOut(BaseModel):
    """The rollout's evidence so far: the verdict and the interval on the mean difference."""

    verdict: str
    periods: int
    mean_difference: Num
    lower: Num
    upper: Num
    margin: Num
    champion_mean: Num
    p_value: Num
    reason: str


class RolloutDecisionOut(BaseModel):
    at: datetime
    action: str
    phase: str
    step: int
    traffic: Num
    reason: str
    actor: str


class RolloutOut(BaseModel):
    """A model's current (or last) rollout: phase, step, traffic, evidence, every decision."""

    rollout_id: str
    model_name: str
    candidate: str
    champion: str | None
    strategy: str
    phase: str
    active: bool = Field(description="false once promoted, rolled back or aborted")
    step: int
    traffic: Num
    started_at: datetime
    phase_started_at: datetime
    ended_at: datetime | None
    evidence: AnalysisOut
    outcomes: int
    shadow_agreement: Num
    rollback_reason: str | None
    decisions: list[RolloutDecisionOut]


class RolloutStartIn(BaseModel):
    version_id: str = Field(description="name:version of the candidate")
    strategy: str | None = Field(
        default=None, description="shadow, canary, blue_green, immediate; default: pipeline"
    )
    reason: str = ""


class AbortIn(BaseModel):
    reason: str = Field(min_length=1, description="why (audited)")


class ABTestCreateIn(BaseModel):
    """A new A/B test; the library checks the values and names the field it refuses."""

    name: str = Field(description="what is compared")
    variants: list[str] = Field(default_factory=lambda: ["control", "treatment"],
                                description="2 to 10 distinct names, the control first")
    weights: list[float] | None = Field(
        default=None, description="traffic share per variant, summing to 1 (default: equal)")
    alpha: float = Field(default=0.05, description="type-I error of the anytime-valid test")
    min_samples: int = Field(default=100, description="results per variant before a decision")
    max_samples: int | None = Field(
        default=None, description="all variants' results together after which it stops "
                                  "with no difference (null: no limit)")
    design_samples: int = Field(default=1000,
                                description="the sample size the interval is tightest at")


class ABResultIn(BaseModel):
    variant: str
    value: float = Field(allow_inf_nan=False, description="the outcome, e.g. a trade's PnL")
    win: bool | None = Field(default=None, description="default: value > 0")


class ABResultsIn(BaseModel):
    results: list[ABResultIn] = Field(min_length=1, max_length=10_000)


class ABAssignmentOut(BaseModel):
    test_id: str
    key: str
    variant: str


class VariantOut(BaseModel):
    variant: str
    n: int
    mean: Num
    win_rate: Num


class ABFigures(BaseModel):
    """A treatment against the control: difference and lift with their anytime-valid
    intervals, and the always-valid p-values (of the mean and of the win rate)."""

    difference: Num
    difference_lower: Num
    difference_upper: Num
    lift: Num
    lift_lower: Num
    lift_upper: Num
    p_value: Num
    win_rate_p_value: Num


class ABComparisonOut(ABFigures):
    """One treatment against the control, at ``alpha`` (the test's split over treatments)."""

    variant: str
    alpha: float
    verdict: str = Field(description="better, worse or undecided")


class ABTestOut(ABFigures):
    """An A/B test with its results: lift with an anytime-valid interval and the decision.

    The figures at the top level are the leading treatment's (``leading``); ``comparisons``
    has every treatment's against the control.
    """

    test_id: str
    name: str
    variants: list[str]
    weights: list[float]
    created_at: datetime
    status: str
    stop_reason: str | None
    alpha: float
    min_samples: int
    stats: list[VariantOut]
    decision: str
    reason: str
    leading: str
    comparisons: list[ABComparisonOut]


class BacktestIn(BaseModel):
    """The host's backtest of a version: per-period (daily) strategy returns, oldest first."""

    returns: list[float] = Field(min_length=10, max_length=20_000)
    times: list[datetime] | None = Field(
        default=None, description="the period of each return (same length), if known")
    periods_per_year: float = Field(default=252.0, gt=0)


class BacktestOut(BaseModel):
    """The backtest parity compares a version's live evidence with, per rollout day."""

    version_id: str
    source: str = Field(description="host (given) or forward_holdout (the engine's own)")
    periods: int
    periods_per_year: float
    first: datetime | None
    last: datetime | None
    sharpe: Num = Field(description="annualised, of the per-period returns")
    description: str


class ParityIn(BaseModel):
    """A live run of a version (its staging run, a shadow the host ran): per-day returns."""

    returns: list[float] = Field(min_length=10, max_length=20_000)
    periods_per_year: float | None = Field(default=None, gt=0)


class ParityCheckOut(BaseModel):
    name: str
    value: Num
    verdict: str


class ParityOut(BaseModel):
    version_id: str
    parity_ratio: Num
    passed: bool
    recorded_at: datetime
    checks: list[ParityCheckOut]
    problems: list[str]
    source: str
