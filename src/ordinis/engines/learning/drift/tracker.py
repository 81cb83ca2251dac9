"""Rolling live performance of production models, per period on the book.

A trade outcome's return is the position's return (``PositionPolicy.trade_return``, already
signed by the position; never multiplied by the signal again). Trades closing at the same clock
time form one period of the book; the book's period return is the version's
``PositionPolicy.book_return`` of them, and Sharpe is annualised per period with the policy's
``periods_per_year`` (``core.strategy.annualised_sharpe``, the backtest's definition), so live
and backtest numbers of the same trades are equal. The window holds the last ``window`` periods.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.strategy import PositionPolicy, annualised_sharpe


@dataclass(frozen=True, slots=True)
class LiveMetrics:
    """Rolling metrics of one model over the last ``n`` periods of its book (NaN if undefined)."""

    model_name: str
    n: int
    accuracy: float  # share of called trades whose position made money (hit rate)
    win_rate: float  # share of periods with a positive PnL (or book return)
    sharpe: float  # annualised per period, of the book returns
    max_drawdown: float  # positive fraction of the compounded book equity
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


@dataclass(slots=True)
class _Period:
    """The trades of one clock time: their returns, hits and the book's size."""

    at: datetime
    trades: list[float] = field(default_factory=list)
    hits: int = 0
    called: int = 0
    pnl: float = 0.0
    has_pnl: bool = False


class _Window:
    """Per-model deque of periods and the policy that turns their trades into a book return."""

    __slots__ = ("periods", "policy")

    def __init__(self, window: int, policy: PositionPolicy) -> None:
        self.periods: deque[_Period] = deque(maxlen=window)
        self.policy = policy


class LivePerformanceTracker:
    """Rolling per-period book metrics per production model over the last ``window`` periods."""

    def __init__(
        self,
        clock: Clock,
        window: int = 100,
        periods_per_year: float = 252.0,
        policy: PositionPolicy | None = None,
    ) -> None:
        if window < 2:
            raise ValidationError(
                "LivePerformanceTracker", [FieldProblem("window", window, "must be >= 2")]
            )
        self.clock = clock
        self.window = int(window)
        self.default_policy = policy or PositionPolicy(periods_per_year=periods_per_year)
        self._models: dict[str, _Window] = {}
        self._lock = threading.Lock()

    @property
    def periods_per_year(self) -> float:
        return self.default_policy.periods_per_year

    def record_outcome(
        self,
        model_name: str,
        predicted_signal: float | None,
        trade_return: float,
        pnl: float | None = None,
        at: datetime | None = None,
        policy: PositionPolicy | None = None,
    ) -> None:
        """Add one trade: the model's signal, the position's return (after costs), its PnL.

        Trades with the same ``at`` belong to one period of the book. ``policy`` is the version's
        strategy definition (the tracker's default otherwise); a new policy starts a new window.
        """
        problems: list[FieldProblem] = []
        if not model_name:
            problems.append(FieldProblem("model_name", model_name, "must be a non-empty name"))
        if not _is_finite(trade_return):
            problems.append(FieldProblem("trade_return", trade_return, "must be a finite number"))
        if predicted_signal is not None and not _is_finite(predicted_signal):
            problems.append(FieldProblem("predicted_signal", predicted_signal,
                                         "must be a finite number or None"))
        if pnl is not None and not _is_finite(pnl):
            problems.append(FieldProblem("pnl", pnl, "must be a finite number or None"))
        if problems:
            raise ValidationError("outcome", problems)
        r = float(trade_return)
        when = at or self.clock.now()
        called = predicted_signal is not None and predicted_signal != 0 and r != 0
        with self._lock:
            w = self._models.get(model_name)
            pol = policy or (w.policy if w is not None else self.default_policy)
            if w is None or w.policy != pol:
                w = self._models[model_name] = _Window(self.window, pol)
            if not w.periods or w.periods[-1].at != when:
                w.periods.append(_Period(when))
            period = w.periods[-1]
            period.trades.append(r)
            if called:
                period.called += 1
                period.hits += int(r > 0)
            if pnl is not None:
                period.pnl += float(pnl)
                period.has_pnl = True

    def models(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def reset(self, model_name: str) -> None:
        """Forget a model's outcomes (after a new version goes live)."""
        with self._lock:
            self._models.pop(model_name, None)

    def book_returns(self, model_name: str) -> list[float]:
        """The book's return of each period in the window, oldest first."""
        with self._lock:
            w = self._models.get(model_name)
            if w is None:
                return []
            return [w.policy.book_return(p.trades) for p in w.periods]

    def metrics(self, model_name: str) -> LiveMetrics:
        """Current rolling metrics; a model with no outcome gives n=0 and NaNs."""
        with self._lock:
            w = self._models.get(model_name)
            if w is None or not w.periods:
                nan = math.nan
                return LiveMetrics(model_name, 0, nan, nan, nan, nan, 0, nan, None)
            policy = w.policy
            periods = list(w.periods)
        rets = [policy.book_return(p.trades) for p in periods]
        n = len(rets)
        won = [(p.pnl if p.has_pnl else r) > 0 for p, r in zip(periods, rets, strict=True)]
        losses = 0
        for ok in reversed(won):
            if ok:
                break
            losses += 1
        called = sum(p.called for p in periods)
        hits = sum(p.hits for p in periods)
        return LiveMetrics(
            model_name=model_name,
            n=n,
            accuracy=hits / called if called else math.nan,
            win_rate=sum(won) / n,
            sharpe=annualised_sharpe(rets, policy.periods_per_year),
            max_drawdown=max_drawdown(rets),
            consecutive_losses=losses,
            mean_return=math.fsum(rets) / n,
            last_at=periods[-1].at,
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
