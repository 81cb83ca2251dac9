"""Rolling live performance of production models, from the outcomes the collectors record.

Running counts over a bounded deque make ``record_outcome`` O(1); ``metrics`` makes one
O(window) pass for the drawdown and exact (``fsum``) moments, so no rounding accumulates.
The strategy return of an outcome is ``sign(signal) * return`` (the position the model
called); without a signal, ``realised_return`` is the strategy's own return and no hit counts.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError


@dataclass(frozen=True, slots=True)
class LiveMetrics:
    """Rolling metrics of one model over the last ``n`` outcomes (NaN where undefined)."""

    model_name: str
    n: int
    accuracy: float  # share of calls whose sign matched the realised return (hit rate)
    win_rate: float  # share of outcomes with a positive PnL (or strategy return)
    sharpe: float  # annualised, of the strategy returns
    max_drawdown: float  # positive fraction of the compounded strategy equity
    consecutive_losses: int  # trailing losing streak within the window
    mean_return: float
    last_at: datetime | None

    @property
    def hit_rate(self) -> float:
        return self.accuracy

    def as_dict(self) -> dict[str, float]:
        """The metrics a baseline can hold, by name."""
        return {
            "accuracy": self.accuracy,
            "hit_rate": self.accuracy,
            "win_rate": self.win_rate,
            "sharpe": self.sharpe,
            "sharpe_ratio": self.sharpe,
            "max_drawdown": self.max_drawdown,
            "consecutive_losses": float(self.consecutive_losses),
            "mean_return": self.mean_return,
        }


class _Window:
    """Per-model deque of (strategy_return, hit or -1, win) with running sums."""

    __slots__ = ("hits", "last_at", "losses", "n_called", "returns", "wins")

    def __init__(self, window: int) -> None:
        self.returns: deque[tuple[float, int, int]] = deque(maxlen=window)
        self.hits = 0
        self.n_called = 0
        self.wins = 0
        self.losses = 0  # trailing losing streak (uncapped; capped to n when reported)
        self.last_at: datetime | None = None


class LivePerformanceTracker:
    """Rolling metrics per production model over the last ``window`` outcomes."""

    def __init__(self, clock: Clock, window: int = 100, periods_per_year: float = 252.0) -> None:
        if window < 2:
            raise ValidationError(
                "LivePerformanceTracker", [FieldProblem("window", window, "must be >= 2")]
            )
        self.clock = clock
        self.window = int(window)
        self.periods_per_year = float(periods_per_year)
        self._models: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def record_outcome(
        self,
        model_name: str,
        predicted_signal: float | None,
        realised_return: float,
        pnl: float | None = None,
        at: datetime | None = None,
    ) -> None:
        """Add one outcome: the model's call (sign matters), what the market did, the PnL."""
        problems: list[FieldProblem] = []
        if not model_name:
            problems.append(FieldProblem("model_name", model_name, "must be a non-empty name"))
        if not _is_finite(realised_return):
            problems.append(FieldProblem("realised_return", realised_return,
                                         "must be a finite number"))
        if predicted_signal is not None and not _is_finite(predicted_signal):
            problems.append(FieldProblem("predicted_signal", predicted_signal,
                                         "must be a finite number or None"))
        if pnl is not None and not _is_finite(pnl):
            problems.append(FieldProblem("pnl", pnl, "must be a finite number or None"))
        if problems:
            raise ValidationError("outcome", problems)
        r = float(realised_return)
        if predicted_signal is None:
            strat, hit = r, -1
        else:
            sign = (predicted_signal > 0) - (predicted_signal < 0)
            strat = sign * r
            hit = -1 if sign == 0 else int(sign * r > 0)
        win = int((pnl if pnl is not None else strat) > 0)
        when = at or self.clock.now()
        with self._lock:
            w = self._models.get(model_name)
            if w is None:
                w = self._models[model_name] = _Window(self.window)
            if len(w.returns) == w.returns.maxlen:
                _, old_hit, old_win = w.returns[0]
                if old_hit >= 0:
                    w.n_called -= 1
                    w.hits -= old_hit
                w.wins -= old_win
            w.returns.append((strat, hit, win))
            if hit >= 0:
                w.n_called += 1
                w.hits += hit
            w.wins += win
            w.losses = 0 if win else w.losses + 1
            w.last_at = when

    def models(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def reset(self, model_name: str) -> None:
        """Forget a model's outcomes (after a new version goes live)."""
        with self._lock:
            self._models.pop(model_name, None)

    def metrics(self, model_name: str) -> LiveMetrics:
        """Current rolling metrics; a model with no outcome gives n=0 and NaNs."""
        with self._lock:
            w = self._models.get(model_name)
            if w is None or not w.returns:
                nan = math.nan
                return LiveMetrics(model_name, 0, nan, nan, nan, nan, 0, nan, None)
            rets = [r for r, _, _ in w.returns]
            n = len(rets)
            hits, n_called, wins, losses, last = w.hits, w.n_called, w.wins, w.losses, w.last_at
        mean = math.fsum(rets) / n
        sharpe = math.nan
        if n >= 2:
            var = math.fsum((r - mean) ** 2 for r in rets) / (n - 1)
            sd = math.sqrt(var)
            if sd > 1e-12 * max(1.0, abs(mean)):
                sharpe = mean / sd * math.sqrt(self.periods_per_year)
        return LiveMetrics(
            model_name=model_name,
            n=n,
            accuracy=hits / n_called if n_called else math.nan,
            win_rate=wins / n,
            sharpe=sharpe,
            max_drawdown=max_drawdown(rets),
            consecutive_losses=min(losses, n),
            mean_return=mean,
            last_at=last,
        )


def max_drawdown(returns: list[float]) -> float:
    """Largest peak-to-trough fall of the compounded equity ``prod(1 + r)``, as a fraction."""
    equity = 1.0
    peak = 1.0
    worst = 0.0
    for r in returns:
        equity *= 1.0 + r
        if equity > peak:
            peak = equity
        elif peak > 0:
            dd = 1.0 - equity / peak
            if dd > worst:
                worst = dd
    return worst


def _is_finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
