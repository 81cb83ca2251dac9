"""Retraining triggers and the rules that raise them (drift alerts, degradation, losses, schedules).

A ``RetrainingTrigger`` is the unit the closed loop persists and reports on: why a retrain was
asked for, what the safeguards decided, and what became of the candidate. The rules are small
stateful objects (River's style: feed observations, read what fired), evaluated on the Clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from croniter import croniter

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.pipeline_spec import (
    ConsecutiveLossRuleConfig,
    DegradationRuleConfig,
    DriftAlertRuleConfig,
    ScheduleRuleConfig,
    TriggerRulesConfig,
)


class TriggerType(StrEnum):
    """Why a retrain was asked for."""

    DRIFT = "drift"
    PERFORMANCE_DEGRADATION = "performance_degradation"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    ALERT_COUNT = "alert_count"
    SCHEDULED = "scheduled"
    MANUAL = "manual"


class TriggerStatus(StrEnum):
    """Where a trigger stands in the chain; every change is persisted."""

    PENDING = "pending"          # raised, not yet decided
    APPROVED = "approved"        # passed the policy safeguards
    REFUSED = "refused"          # a safeguard (or data validation) said no; see refusal_reason
    TRAINING = "training"        # a training job runs
    EVALUATING = "evaluating"    # the candidate is being evaluated and gated
    COMPLETED = "completed"      # passed the gates, not promoted (auto_promote off)
    FAILED = "failed"            # training or evaluation failed; see error
    GATED_OUT = "gated_out"      # the candidate failed the gates; see gate_summary
    PROMOTED = "promoted"        # promoted to the staging stage

    @property
    def is_terminal(self) -> bool:
        return self not in _OPEN_STATUSES

    @property
    def started_training(self) -> bool:
        """True once a training job was started (counts towards cooldown and the daily cap)."""
        return self in _TRAINED_STATUSES


_OPEN_STATUSES = frozenset(
    {
        TriggerStatus.PENDING,
        TriggerStatus.APPROVED,
        TriggerStatus.TRAINING,
        TriggerStatus.EVALUATING,
    }
)
_TRAINED_STATUSES = frozenset(
    {
        TriggerStatus.TRAINING,
        TriggerStatus.EVALUATING,
        TriggerStatus.COMPLETED,
        TriggerStatus.FAILED,
        TriggerStatus.GATED_OUT,
        TriggerStatus.PROMOTED,
    }
)


TRIGGER_RECORD_KIND = "retrain_trigger"
_TIME_FIELDS = ("created_at", "decided_at", "training_started_at", "finished_at", "updated_at")


@dataclass(slots=True)
class RetrainingTrigger:
    """One request to retrain a model, its decision and its outcome (kind ``retrain_trigger``)."""

    model_name: str
    trigger_type: TriggerType
    reason: str
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    source_alert_ids: list[str] = field(default_factory=list)
    status: TriggerStatus = TriggerStatus.PENDING
    trigger_id: str = field(default_factory=new_id)
    safeguard: str | None = None
    refusal_reason: str | None = None
    job_id: str | None = None
    version_id: str | None = None
    training_metrics: dict[str, float] = field(default_factory=dict)
    gate_passed: bool | None = None
    gate_summary: str | None = None
    gate_metrics: dict[str, float] = field(default_factory=dict)
    evaluation_id: str | None = None
    promoted_to: str | None = None
    data_validation: str | None = None
    error: str | None = None
    decided_at: datetime | None = None
    training_started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def create(
        cls,
        model_name: str,
        trigger_type: TriggerType,
        reason: str,
        clock: Clock,
        details: Mapping[str, Any] | None = None,
        source_alert_ids: Iterable[str] = (),
    ) -> RetrainingTrigger:
        """A new PENDING trigger stamped with the clock's time."""
        return cls(
            model_name=model_name,
            trigger_type=trigger_type,
            reason=reason,
            created_at=clock.now(),
            details=dict(details or {}),
            source_alert_ids=list(source_alert_ids),
        )

    @classmethod
    def manual(cls, model_name: str, reason: str, clock: Clock) -> RetrainingTrigger:
        """A retrain an operator asked for."""
        return cls.create(model_name, TriggerType.MANUAL, reason or "manual request", clock)

    def to_body(self) -> dict[str, Any]:
        """JSON-ready form for the event store."""
        body = asdict(self)
        body["trigger_type"] = self.trigger_type.value
        body["status"] = self.status.value
        for name in _TIME_FIELDS:
            value = getattr(self, name)
            body[name] = value.isoformat() if value is not None else None
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RetrainingTrigger:
        """Inverse of ``to_body``; unknown keys (from a newer version) are ignored."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in body.items() if k in known}
        values["trigger_type"] = TriggerType(values["trigger_type"])
        values["status"] = TriggerStatus(values.get("status", TriggerStatus.PENDING.value))
        for name in _TIME_FIELDS:
            raw = values.get(name)
            values[name] = _parse_time(raw) if raw is not None else None
        return cls(**values)

    def one_line(self) -> str:
        """Short human form for logs and reports."""
        text = f"{self.trigger_type.value} trigger for {self.model_name}: {self.status.value}"
        if self.refusal_reason:
            text += f" ({self.refusal_reason})"
        elif self.error:
            text += f" ({self.error})"
        elif self.version_id:
            text += f" (version {self.version_id})"
        return text


def _parse_time(raw: str | datetime) -> datetime:
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------- rules
_SEVERITY_RANK = {DriftSeverity.INFO: 0, DriftSeverity.WARNING: 1, DriftSeverity.CRITICAL: 2}


def drift_alert_to_trigger(alert: DriftAlert, clock: Clock | None = None) -> RetrainingTrigger:
    """The DRIFT trigger for one drift alert (stamped at the alert's detection time by default)."""
    reason = f"{alert.describe()} (threshold {alert.threshold:.4g})"
    return RetrainingTrigger(
        model_name=alert.model_name,
        trigger_type=TriggerType.DRIFT,
        reason=reason,
        created_at=clock.now() if clock is not None else alert.detected_at,
        details={
            "metric": alert.metric,
            "drift_type": alert.drift_type.value,
            "severity": alert.severity.value,
            "current_value": alert.current_value,
            "baseline_value": alert.baseline_value,
            "threshold": alert.threshold,
        },
        source_alert_ids=[alert.alert_id],
    )


class DriftAlertRule:
    """A drift alert of ``min_severity`` or worse triggers at once; weaker ones trigger when
    more than ``max_alerts`` of them arrive for a model within ``window_seconds``."""

    def __init__(self, config: DriftAlertRuleConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._recent: dict[str, deque[tuple[datetime, str]]] = {}

    def windows(self) -> dict[str, list[tuple[datetime, str]]]:
        """The alerts counted towards each model's next trigger (time, alert id)."""
        return {m: list(w) for m, w in self._recent.items() if w}

    def restore(self, windows: Mapping[str, Iterable[tuple[datetime, str]]]) -> None:
        """Take up counting where a stopped engine left off (models counted here win)."""
        for model, entries in windows.items():
            if not self._recent.get(model):
                self._recent[model] = deque(entries)

    def update(self, alert: DriftAlert) -> RetrainingTrigger | None:
        """Feed one alert; return the trigger it raises, if any."""
        if not self.config.enabled:
            return None
        now = self.clock.now()
        window = self._recent.setdefault(alert.model_name, deque())
        window.append((now, alert.alert_id))
        cutoff = now - timedelta(seconds=self.config.window_seconds)
        while window and window[0][0] <= cutoff:
            window.popleft()
        min_rank = _SEVERITY_RANK[DriftSeverity(self.config.min_severity)]
        if _SEVERITY_RANK[alert.severity] >= min_rank:
            window.clear()
            return drift_alert_to_trigger(alert, self.clock)
        if len(window) > self.config.max_alerts:
            ids = [alert_id for _, alert_id in window]
            window.clear()
            hours = self.config.window_seconds / 3600.0
            return RetrainingTrigger.create(
                alert.model_name,
                TriggerType.ALERT_COUNT,
                f"{len(ids)} drift alerts within {hours:g} h "
                f"(more than max_alerts={self.config.max_alerts}); last on {alert.metric}",
                self.clock,
                details={"alert_count": len(ids), "window_seconds": self.config.window_seconds},
                source_alert_ids=ids,
            )
        return None


class DegradationRule:
    """A live metric worse than its baseline by more than ``degradation_pct`` percent triggers."""

    def __init__(
        self,
        config: DegradationRuleConfig,
        clock: Clock,
        baseline_of: Callable[[str], Mapping[str, float]] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.baseline_of = baseline_of
        self._baselines: dict[str, dict[str, float]] = {}

    def set_baseline(self, model_name: str, metrics: Mapping[str, float]) -> None:
        """The metrics the model showed when it was promoted (what live results are compared
        to). A rule given ``baseline_of`` reads that source (the engine's stored baselines)
        and refuses a second, unread copy here."""
        if self.baseline_of is not None:
            raise ValueError(
                f"baseline of {model_name!r}: this rule reads the drift monitor's stored "
                "baselines; set it with engine.set_baseline(model_name, metrics)")
        self._baselines[model_name] = {k: float(v) for k, v in metrics.items()}

    def baseline(self, model_name: str) -> dict[str, float]:
        if self.baseline_of is not None:
            return dict(self.baseline_of(model_name))
        return dict(self._baselines.get(model_name, {}))

    @staticmethod
    def degradation(baseline: float, live: float, higher_is_better: bool) -> float:
        """Fraction by which ``live`` is worse than ``baseline`` (negative when better)."""
        worse = (baseline - live) if higher_is_better else (live - baseline)
        scale = abs(baseline)
        if scale == 0.0:
            return float("inf") if worse > 0 else 0.0
        return worse / scale

    def update(
        self,
        model_name: str,
        live_metrics: Mapping[str, float],
        baseline: Mapping[str, float] | None = None,
    ) -> RetrainingTrigger | None:
        """Compare live metrics with the baseline; return a trigger naming the worst metric."""
        if not self.config.enabled:
            return None
        base = dict(baseline) if baseline is not None else self.baseline(model_name)
        limit = self.config.degradation_pct / 100.0
        worst: tuple[float, str, float, float] | None = None
        for metric, direction in self.config.metrics.items():
            if metric not in base or metric not in live_metrics:
                continue
            b, v = float(base[metric]), float(live_metrics[metric])
            d = self.degradation(b, v, direction == "higher_is_better")
            if d > limit and (worst is None or d > worst[0]):
                worst = (d, metric, b, v)
        if worst is None:
            return None
        d, metric, b, v = worst
        return RetrainingTrigger.create(
            model_name,
            TriggerType.PERFORMANCE_DEGRADATION,
            f"live {metric} {v:.4g} is {d:.1%} worse than baseline {b:.4g} "
            f"(limit {self.config.degradation_pct:g}%)",
            self.clock,
            details={
                "metric": metric,
                "live": v,
                "baseline": b,
                "degradation": d,
                "degradation_pct_limit": self.config.degradation_pct,
            },
        )


class ConsecutiveLossRule:
    """``count`` losing trades in a row trigger; a winning trade resets the streak."""

    def __init__(self, config: ConsecutiveLossRuleConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._streak: dict[str, int] = {}

    def streak(self, model_name: str) -> int:
        return self._streak.get(model_name, 0)

    def streaks(self) -> dict[str, int]:
        """Each model's current losing streak (models without one left out)."""
        return {m: n for m, n in self._streak.items() if n}

    def restore(self, streaks: Mapping[str, int]) -> None:
        """Take up counting where a stopped engine left off (models counted here win)."""
        for model, n in streaks.items():
            if not self._streak.get(model):
                self._streak[model] = int(n)

    def update(self, model_name: str, pnl: float) -> RetrainingTrigger | None:
        """Feed one closed trade's P&L; a loss is ``pnl < 0``, a flat trade leaves the streak."""
        if not self.config.enabled:
            return None
        if pnl > 0:
            self._streak[model_name] = 0
            return None
        if pnl == 0:
            return None
        streak = self._streak.get(model_name, 0) + 1
        if streak < self.config.count:
            self._streak[model_name] = streak
            return None
        self._streak[model_name] = 0
        return RetrainingTrigger.create(
            model_name,
            TriggerType.CONSECUTIVE_LOSSES,
            f"{streak} consecutive losing trades (limit {self.config.count})",
            self.clock,
            details={"consecutive_losses": streak, "limit": self.config.count},
        )


class ScheduleRule:
    """Weekly, monthly or cron-scheduled retraining of the watched models, on the Clock.

    A model is due when the schedule's next time after its last run has passed; a long jump of
    the clock fires once, not once per missed slot.
    """

    def __init__(self, config: ScheduleRuleConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._last: dict[str, datetime] = {}
        for model_name in config.models:
            self.watch(model_name)

    def watch(self, model_name: str, last_run: datetime | None = None) -> None:
        """Schedule ``model_name``; its first run is the first slot after ``last_run`` (or now)."""
        if last_run is not None:
            self._last[model_name] = max(last_run, self._last.get(model_name, last_run))
        else:
            self._last.setdefault(model_name, self.clock.now())

    @property
    def models(self) -> list[str]:
        return sorted(self._last)

    def next_run(self, model_name: str) -> datetime | None:
        """When the model is due next (None when it is not scheduled)."""
        if model_name not in self._last:
            return None
        nxt: datetime = croniter(self.config.expression, self._last[model_name]).get_next(datetime)
        return nxt if nxt.tzinfo is not None else nxt.replace(tzinfo=UTC)

    def due(self) -> list[RetrainingTrigger]:
        """Triggers for every watched model whose slot has passed; marks them as run."""
        if not self.config.enabled:
            return []
        now = self.clock.now()
        out: list[RetrainingTrigger] = []
        for model_name in self.models:
            slot = self.next_run(model_name)
            if slot is None or slot > now:
                continue
            self._last[model_name] = now
            out.append(
                RetrainingTrigger.create(
                    model_name,
                    TriggerType.SCHEDULED,
                    f"{self.config.every} schedule ({self.config.expression}) due at "
                    f"{slot.isoformat()}",
                    self.clock,
                    details={"schedule": self.config.expression, "slot": slot.isoformat()},
                )
            )
        return out


class TriggerEvaluator:
    """All trigger rules of a pipeline behind one object: feed observations, get triggers."""

    def __init__(
        self,
        rules: TriggerRulesConfig,
        clock: Clock,
        baseline_of: Callable[[str], Mapping[str, float]] | None = None,
    ) -> None:
        self.clock = clock
        self.drift = DriftAlertRule(rules.drift_alerts, clock)
        self.degradation = DegradationRule(rules.degradation, clock, baseline_of)
        self.losses = ConsecutiveLossRule(rules.consecutive_losses, clock)
        self.schedule = ScheduleRule(rules.schedule, clock)

    def on_drift_alert(self, alert: DriftAlert) -> RetrainingTrigger | None:
        return self.drift.update(alert)

    def on_live_metrics(
        self,
        model_name: str,
        live_metrics: Mapping[str, float],
        baseline: Mapping[str, float] | None = None,
    ) -> RetrainingTrigger | None:
        return self.degradation.update(model_name, live_metrics, baseline)

    def on_trade_outcome(self, model_name: str, pnl: float) -> RetrainingTrigger | None:
        return self.losses.update(model_name, pnl)

    def on_tick(self) -> list[RetrainingTrigger]:
        return self.schedule.due()


def stored_trigger(store: EventStore, trigger_id: str) -> RetrainingTrigger | None:
    """A stored trigger by id (None when unknown)."""
    rec = store.get_record(TRIGGER_RECORD_KIND, trigger_id)
    return None if rec is None else RetrainingTrigger.from_body(rec.body)


def stored_triggers(
    store: EventStore,
    model_name: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[RetrainingTrigger]:
    """Stored triggers created in ``[start, end)``, oldest first."""
    recs = store.list_records(TRIGGER_RECORD_KIND, tag=model_name, start=start, end=end)
    return [RetrainingTrigger.from_body(r.body) for r in recs]
