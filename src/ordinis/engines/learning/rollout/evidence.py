"""Live evidence of a rollout: pending predictions, their delayed outcomes, per-period PnL.

Every request of a model under rollout is predicted by both versions (one served, the other in
shadow), so each realised return gives a paired PnL: each version's position (its own
position policy, as in its backtest; the signal clipped to [-1, 1] by default) times the
return. Outcomes are grouped by the period of
their prediction; a period closes once the clock is ``settle_seconds`` past its end, and then
counts as one observation of the sequential test (periods, not requests, are independent
enough: requests of one day share that day's market).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ordinis.engines.learning.rollout.sequential import (
    Analysis,
    PairedSequentialTest,
    SequentialSettings,
)

_MAX_PENDING = 200_000


def position(signal: float) -> float:
    """The strategy's position for a signal: clipped to [-1, 1] (the backtest's rule)."""
    return -1.0 if signal < -1.0 else (1.0 if signal > 1.0 else signal)


@dataclass(slots=True)
class PendingPrediction:
    """A prediction waiting for its realised return; ``values`` maps version id to signal."""

    model_name: str
    rollout_id: str
    key: str
    period: int
    served: str
    values: dict[str, float] = field(default_factory=dict)


class PredictionLedger:
    """Predictions awaiting outcomes, oldest dropped beyond a bound (and counted)."""

    def __init__(self, max_pending: int = _MAX_PENDING) -> None:
        self._pending: dict[str, PendingPrediction] = {}
        self.max_pending = max_pending
        self.dropped = 0

    def add(self, prediction_id: str, pending: PendingPrediction) -> None:
        self._pending[prediction_id] = pending
        if len(self._pending) > self.max_pending:
            del self._pending[next(iter(self._pending))]  # the oldest (insertion order)
            self.dropped += 1

    def get(self, prediction_id: str) -> PendingPrediction | None:
        return self._pending.get(prediction_id)

    def pop(self, prediction_id: str) -> PendingPrediction | None:
        return self._pending.pop(prediction_id, None)

    def __len__(self) -> int:
        return len(self._pending)


class EvidenceBook:
    """Per-period PnL of candidate and champion of one rollout, and the test on closed periods."""

    def __init__(self, settings: SequentialSettings) -> None:
        self.test = PairedSequentialTest(settings)
        self.open: dict[int, list[float]] = {}
        self.closed_through = -1
        self.late = 0
        self.outcomes = 0
        self.candidate_periods: list[float] = []
        self.champion_periods: list[float] = []

    def add(self, period: int, candidate_pnl: float, champion_pnl: float) -> bool:
        """Add one paired outcome; False (and counted) when its period already closed."""
        if not (math.isfinite(candidate_pnl) and math.isfinite(champion_pnl)):
            return False
        if period <= self.closed_through:
            self.late += 1
            return False
        acc = self.open.setdefault(period, [0.0, 0.0, 0.0])
        acc[0] += candidate_pnl
        acc[1] += champion_pnl
        acc[2] += 1.0
        self.outcomes += 1
        return True

    def add_period(self, candidate_pnl: float, champion_pnl: float) -> None:
        """A whole period at once (the benchmark's path; the same test)."""
        self.test.add_period(candidate_pnl, champion_pnl)
        self.candidate_periods.append(candidate_pnl)
        self.champion_periods.append(champion_pnl)

    def close_through(self, last_closed_period: int) -> int:
        """Fold every open period up to ``last_closed_period`` into the test; returns how many."""
        due = sorted(p for p in self.open if p <= last_closed_period)
        for p in due:
            c, h, n = self.open.pop(p)
            self.add_period(c / n, h / n)
        self.closed_through = max(self.closed_through, last_closed_period)
        return len(due)

    def analyse(self) -> Analysis:
        return self.test.analyse()

    @property
    def periods(self) -> int:
        return self.test.diff.n

    def to_dict(self) -> dict[str, Any]:
        return {"test": self.test.to_dict(), "open": {str(k): v for k, v in self.open.items()},
                "closed_through": self.closed_through, "late": self.late,
                "outcomes": self.outcomes, "candidate_periods": self.candidate_periods[-2000:],
                "champion_periods": self.champion_periods[-2000:]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], settings: SequentialSettings) -> EvidenceBook:
        book = cls(settings)
        if not d:
            return book
        book.test = PairedSequentialTest.from_dict(d["test"], settings)
        book.open = {int(k): [float(x) for x in v] for k, v in d.get("open", {}).items()}
        book.closed_through = int(d.get("closed_through", -1))
        book.late = int(d.get("late", 0))
        book.outcomes = int(d.get("outcomes", 0))
        book.candidate_periods = [float(x) for x in d.get("candidate_periods", [])]
        book.champion_periods = [float(x) for x in d.get("champion_periods", [])]
        return book
