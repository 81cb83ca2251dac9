"""Performance baselines with bounds precomputed when set, so a drift check is O(1) per metric.

A metric is higher-is-better (a drop is drift), lower-is-better (a rise is drift) or unknown
(any change either way is drift). Severity: WARNING when the relative change in the harmful
direction is above ``threshold_pct``, CRITICAL when above twice it. Drawdown-like metrics are
compared by magnitude, so ``-0.2`` and ``0.2`` mean the same drawdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.core.models import DriftSeverity, StoredRecord

if TYPE_CHECKING:
    from ordinis.engines.learning.events.store import EventStore

BASELINE_KIND = "drift_baseline"

# Severity codes of the fast path (index into SEVERITY_BY_CODE).
NONE, WARNING, CRITICAL = 0, 1, 2
SEVERITY_BY_CODE: tuple[DriftSeverity | None, ...] = (
    None, DriftSeverity.WARNING, DriftSeverity.CRITICAL,
)


class MetricDirection(StrEnum):
    """Which way of change hurts."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    UNKNOWN = "unknown"


_HIGHER = {
    "accuracy", "hit_rate", "win_rate", "sharpe", "sharpe_ratio", "sortino", "sortino_ratio",
    "calmar", "calmar_ratio", "profit_factor", "precision", "recall", "f1", "auc", "roc_auc",
    "r2", "information_ratio", "total_return", "annual_return", "annualized_return",
    "mean_return", "ic", "rank_ic", "psr", "dsr", "expectancy", "avg_pnl", "total_pnl",
}
_LOWER = {
    "max_drawdown", "drawdown", "loss", "log_loss", "mse", "rmse", "mae", "mape",
    "error_rate", "consecutive_losses", "brier", "brier_score", "turnover", "var", "cvar",
    "latency", "slippage",
}


def metric_direction(metric: str) -> MetricDirection:
    """The direction of a metric by name (exact name, or a known suffix such as ``val_loss``)."""
    name = metric.lower()
    if name in _HIGHER:
        return MetricDirection.HIGHER_IS_BETTER
    if name in _LOWER or "drawdown" in name or name.endswith(("_loss", "_error")):
        return MetricDirection.LOWER_IS_BETTER
    for known in _HIGHER:
        if name.endswith("_" + known):
            return MetricDirection.HIGHER_IS_BETTER
    return MetricDirection.UNKNOWN


def uses_magnitude(metric: str) -> bool:
    """Drawdowns compare by absolute value (some tools store them negative, others positive)."""
    return "drawdown" in metric.lower()


@dataclass(frozen=True, slots=True)
class MetricBounds:
    """Precomputed limits of one metric: outside ``warn_*`` is WARNING, outside ``crit_*`` CRITICAL.

    Limits in the harmless direction are infinite, so ``severity_code`` is two comparisons.
    """

    metric: str
    baseline: float
    direction: MetricDirection
    magnitude: bool
    warn_low: float
    warn_high: float
    crit_low: float
    crit_high: float
    recover_low: float
    recover_high: float

    def severity_code(self, value: float) -> int:
        """0 none, 1 warning, 2 critical (NaN gives 0: an undefined metric is not drift)."""
        if self.magnitude:
            value = abs(value)
        if value < self.crit_low or value > self.crit_high:
            return CRITICAL
        if value < self.warn_low or value > self.warn_high:
            return WARNING
        return NONE

    def severity(self, value: float) -> DriftSeverity | None:
        return SEVERITY_BY_CODE[self.severity_code(value)]

    def recovered(self, value: float) -> bool:
        """True inside the recovery band (a fraction of the warning distance from the baseline)."""
        if self.magnitude:
            value = abs(value)
        return self.recover_low <= value <= self.recover_high

    def severity_codes(self, values: np.ndarray) -> np.ndarray:
        """Vectorised ``severity_code`` over an array of values (the batch fast path)."""
        v = np.abs(values) if self.magnitude else np.asarray(values, dtype=float)
        warn = (v < self.warn_low) | (v > self.warn_high)
        crit = (v < self.crit_low) | (v > self.crit_high)
        return warn.astype(np.int8) + crit.astype(np.int8)

    def ratio(self, value: float) -> float:
        """Relative change against the baseline (absolute; inf when the baseline is 0)."""
        base = abs(self.baseline)
        cur = abs(value) if self.magnitude else value
        if base == 0.0:
            return 0.0 if cur == self.baseline else math.inf
        return abs(cur - (base if self.magnitude else self.baseline)) / base


def compute_bounds(
    metric: str,
    baseline: float,
    threshold_pct: float,
    direction: MetricDirection | None = None,
    recovery_fraction: float = 0.5,
) -> MetricBounds:
    """Bounds of one metric for a relative threshold; the harmless side is unbounded."""
    direction = direction or metric_direction(metric)
    magnitude = uses_magnitude(metric)
    b = abs(baseline) if magnitude else baseline
    span = abs(b)
    warn, crit, rec = threshold_pct * span, 2.0 * threshold_pct * span, \
        recovery_fraction * threshold_pct * span
    inf = math.inf
    low_ok = direction is MetricDirection.HIGHER_IS_BETTER  # only drops hurt
    high_ok = direction is MetricDirection.LOWER_IS_BETTER  # only rises hurt
    return MetricBounds(
        metric=metric,
        baseline=baseline,
        direction=direction,
        magnitude=magnitude,
        warn_low=-inf if high_ok else b - warn,
        warn_high=inf if low_ok else b + warn,
        crit_low=-inf if high_ok else b - crit,
        crit_high=inf if low_ok else b + crit,
        recover_low=-inf if high_ok else b - rec,
        recover_high=inf if low_ok else b + rec,
    )


@dataclass(slots=True)
class MetricCheck:
    """Outcome of checking one metric against its baseline."""

    metric: str
    value: float
    baseline: float
    ratio: float
    severity: DriftSeverity | None
    recovered: bool
    threshold: float


@dataclass(slots=True)
class PerformanceBaseline:
    """The reference metrics of one model and their precomputed bounds."""

    model_name: str
    metrics: dict[str, float]
    threshold_pct: float
    set_at: datetime
    directions: dict[str, MetricDirection] = field(default_factory=dict)
    recovery_fraction: float = 0.5
    bounds: dict[str, MetricBounds] = field(init=False)

    def __post_init__(self) -> None:
        self.bounds = {
            m: compute_bounds(m, v, self.threshold_pct, self.directions.get(m),
                              self.recovery_fraction)
            for m, v in self.metrics.items()
        }

    @classmethod
    def create(
        cls,
        model_name: str,
        metrics: Mapping[str, float],
        threshold_pct: float,
        set_at: datetime,
        directions: Mapping[str, MetricDirection] | None = None,
        recovery_fraction: float = 0.5,
    ) -> PerformanceBaseline:
        """Validate at the edge (names, finite numbers) and build the bounds."""
        problems: list[FieldProblem] = []
        if not model_name:
            problems.append(FieldProblem("model_name", model_name, "must be a non-empty name"))
        if not metrics:
            problems.append(FieldProblem("metrics", dict(metrics), "give at least one metric"))
        clean: dict[str, float] = {}
        for name, value in metrics.items():
            if not isinstance(name, str) or not name:
                problems.append(FieldProblem("metrics", name, "metric names must be strings"))
                continue
            try:
                f = float(value)
            except (TypeError, ValueError):
                problems.append(FieldProblem(f"metrics.{name}", value, "must be a number"))
                continue
            if not math.isfinite(f):
                problems.append(
                    FieldProblem(f"metrics.{name}", value, "baseline must be finite (not NaN/inf)")
                )
                continue
            clean[name] = f
        if problems:
            raise ValidationError(f"baseline of model {model_name!r}", problems)
        return cls(model_name, clean, threshold_pct, set_at, dict(directions or {}),
                   recovery_fraction)

    def check(self, metric: str, value: float) -> MetricCheck | None:
        """Check one metric; None when the baseline has no such metric or the value is NaN."""
        b = self.bounds.get(metric)
        if b is None or value != value:
            return None
        return MetricCheck(
            metric=metric, value=value, baseline=b.baseline, ratio=b.ratio(value),
            severity=b.severity(value), recovered=b.recovered(value),
            threshold=self.threshold_pct,
        )

    def check_many(self, current: Mapping[str, float]) -> list[tuple[str, int]]:
        """Fast path: ``(metric, severity code)`` of every metric that has a baseline."""
        bounds = self.bounds
        out = []
        for name, value in current.items():
            b = bounds.get(name)
            if b is not None:
                out.append((name, b.severity_code(value)))
        return out

    # ------------------------------------------------------------------ persistence
    def to_record(self, now: datetime) -> StoredRecord:
        body: dict[str, Any] = {
            "model_name": self.model_name,
            "metrics": self.metrics,
            "threshold_pct": self.threshold_pct,
            "set_at": self.set_at.isoformat(),
            "directions": {k: v.value for k, v in self.directions.items()},
            "recovery_fraction": self.recovery_fraction,
        }
        return StoredRecord(
            kind=BASELINE_KIND, key=self.model_name, body=body, created_at=self.set_at,
            updated_at=now, tag=self.model_name,
        )

    @classmethod
    def from_record(
        cls,
        record: StoredRecord,
        threshold_pct: float | None = None,
        recovery_fraction: float | None = None,
    ) -> PerformanceBaseline:
        """Rebuild from a stored record; given settings override the stored ones (config wins)."""
        body = record.body
        return cls(
            model_name=str(body["model_name"]),
            metrics={str(k): float(v) for k, v in body["metrics"].items()},
            threshold_pct=float(threshold_pct if threshold_pct is not None
                                else body["threshold_pct"]),
            set_at=datetime.fromisoformat(body["set_at"]),
            directions={k: MetricDirection(v) for k, v in body.get("directions", {}).items()},
            recovery_fraction=float(recovery_fraction if recovery_fraction is not None
                                    else body.get("recovery_fraction", 0.5)),
        )


def no_baseline(model_name: str) -> NotFoundError:
    """The refusal of a read of a model without a baseline, naming the call that sets one."""
    return NotFoundError(
        f"no drift baseline for model {model_name!r}; set one first: `ordinis-learning drift "
        f"set-baseline {model_name} -m sharpe=...` (PUT /v1/drift/baselines/{model_name}, "
        "engine.set_baseline(model_name, metrics))")


def stored_baseline(store: EventStore, model_name: str) -> PerformanceBaseline | None:
    """The model's stored baseline as it was set (None when none was)."""
    rec = store.get_record(BASELINE_KIND, model_name)
    return None if rec is None else PerformanceBaseline.from_record(rec)


def stored_baselines(
    store: EventStore, threshold_pct: float | None = None, recovery_fraction: float | None = None
) -> dict[str, PerformanceBaseline]:
    """Every stored baseline by model name, registered in this registry or not; given
    settings override the stored ones (config wins), as ``from_record`` does."""
    found = (PerformanceBaseline.from_record(r, threshold_pct, recovery_fraction)
             for r in store.list_records(BASELINE_KIND))
    return {b.model_name: b for b in found}
