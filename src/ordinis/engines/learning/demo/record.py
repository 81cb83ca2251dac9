"""DemoRecord: everything the demo's report shows, as typed dataclasses (no loose dicts).

The replay fills it through the engine's public API (stage history, evaluations, drift alerts,
retraining triggers, audit records, rollout state) plus the books it kept itself; the HTML
report reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np


class MarkKind(StrEnum):
    """What happened at a point of the timeline."""

    DRIFT = "drift alert"
    RETRAIN = "retrain"
    REFUSED = "retrain refused"
    STAGED = "staged"  # a candidate put in STAGING (not a promotion: the summary counts those)
    PROMOTION = "promotion"  # to PRODUCTION
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class BookSeries:
    """One book's daily returns (net of costs and slippage), aligned with ``DemoRecord.days``."""

    name: str
    returns: np.ndarray
    description: str = ""
    periods_per_year: float = 252.0

    @property
    def equity(self) -> np.ndarray:
        """Growth of 1 invested on the first day."""
        return np.cumprod(1.0 + np.nan_to_num(self.returns))

    @property
    def annual_return(self) -> float:
        """Compound annual growth over the record (``periods_per_year`` bars a year)."""
        n = len(self.returns)
        if n == 0:
            return 0.0
        return float(self.equity[-1] ** (self.periods_per_year / n) - 1.0)

    @property
    def max_drawdown(self) -> float:
        """The deepest fall from a peak, as a positive fraction."""
        eq = self.equity
        if len(eq) == 0:
            return 0.0
        peak = np.maximum.accumulate(eq)
        return float(np.max(1.0 - eq / peak))


@dataclass(frozen=True, slots=True)
class EquityBand:
    """A bootstrap band of one book's equity: quantiles of resampled paths, day by day."""

    book: str
    lower: np.ndarray
    upper: np.ndarray
    level: float
    resamples: int


@dataclass(frozen=True, slots=True)
class TimelineMark:
    """A drift alert, retrain, promotion or rollback at a time of the simulated clock."""

    at: datetime
    kind: MarkKind
    label: str


@dataclass(frozen=True, slots=True)
class StageSpan:
    """One version in one stage from ``start`` to ``end`` (None: still there at the end)."""

    version_id: str
    stage: str
    start: datetime
    end: datetime | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TrafficStep:
    """From ``at``, the candidate ``version_id`` served this fraction of the traffic."""

    at: datetime
    version_id: str
    traffic: float
    phase: str


@dataclass(frozen=True, slots=True)
class GateLine:
    """One gate of one evaluation: metric, value, threshold, required or advisory, verdict."""

    name: str
    metric: str
    value: float
    comparison: str
    threshold: float
    required: bool
    verdict: str


@dataclass(frozen=True, slots=True)
class GateReportView:
    """One evaluation's gate report as the report shows it."""

    version_id: str
    gate_set: str
    evaluated_at: datetime
    passed: bool
    summary: str
    gates: tuple[GateLine, ...]


@dataclass(frozen=True, slots=True)
class BreakerTrip:
    """A stretch a circuit breaker held open: from its trip until it closed again, if it did.

    ``trips`` counts its openings in the stretch: the first, then one per failed half-open
    probe, as the breaker's own ``trips`` counter and ``circuit_breaker_trips_total`` count.
    """

    breaker: str
    opened_at: datetime
    reason: str
    closed_at: datetime | None
    trips: int = 1


@dataclass(frozen=True, slots=True)
class PairedVerdict:
    """Did the closed loop beat the static model? A paired test of their daily returns."""

    statistic: str  # what is compared, e.g. "mean return difference per bar, annualised"
    alternative: str  # the sidedness, spelled out
    alpha: float
    estimate: float
    lower: float  # the (1 - alpha) one-sided bound or two-sided interval, see ``interval``
    upper: float
    interval: str  # how the interval was made
    p_value: float
    resamples: int
    days: int

    @property
    def beat(self) -> bool:
        """True when the test rejects "the closed loop is no better" at ``alpha``."""
        return self.p_value < self.alpha

    def sentence(self, loop: str, static: str) -> str:
        """The verdict in plain words."""
        diff = f"{self.estimate:+.2%} a year [{self.lower:+.2%}, {self.upper:+.2%}]"
        if self.beat:
            return (
                f"Yes: the {loop} beat the {static} by {diff}; p = {self.p_value:.3f} < "
                f"alpha = {self.alpha} ({self.alternative})."
            )
        return (
            f"No: the {loop} did not beat the {static}. Difference {diff}; p = "
            f"{self.p_value:.3f} >= alpha = {self.alpha} ({self.alternative})."
        )


@dataclass(slots=True)
class PhaseTimes:
    """Wall-clock seconds of each phase of the run (benchmarks/demo.py prints them).

    ``ingest`` is the bar loop itself (signals, predictions, events, trades, breakers, drift
    checks) without the training, evaluation and rollout calls it waited on.
    """

    load: float = 0.0
    ingest: float = 0.0
    train: float = 0.0
    evaluate: float = 0.0
    rollout: float = 0.0
    report: float = 0.0
    total: float = 0.0


@dataclass(slots=True)
class DemoRecord:
    """What one demo run did, for the report, the console summary and the tests."""

    title: str
    data: str
    model_name: str
    symbols: list[str]
    days: list[datetime] = field(default_factory=list)
    books: list[BookSeries] = field(default_factory=list)
    bands: list[EquityBand] = field(default_factory=list)
    marks: list[TimelineMark] = field(default_factory=list)
    stages: list[StageSpan] = field(default_factory=list)
    traffic: list[TrafficStep] = field(default_factory=list)
    gate_reports: list[GateReportView] = field(default_factory=list)
    trips: list[BreakerTrip] = field(default_factory=list)
    verdict: PairedVerdict | None = None
    production_reached: bool = False
    notes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # what waits on other parts of the engine
    events_recorded: int = 0
    trades: int = 0
    retrains: int = 0
    promotions: int = 0
    rollbacks: int = 0
    blocked_days: int = 0
    audit_ok: bool = False
    books_identical: bool = False  # the loop and the first model's book, on the tested days
    audit_records: int = 0
    times: PhaseTimes = field(default_factory=PhaseTimes)

    @property
    def breaker_trips(self) -> int:
        """Every trip of every stretch, as the breakers count them."""
        return sum(t.trips for t in self.trips)

    def book(self, name: str) -> BookSeries:
        """The book of this name (KeyError naming the known ones otherwise)."""
        for b in self.books:
            if b.name == name:
                return b
        raise KeyError(f"no book {name!r}; books: {[b.name for b in self.books]}")
