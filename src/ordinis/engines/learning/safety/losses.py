"""Loss trips: a streak of losing trades or a drawdown from the equity peak.

Pure bookkeeping; the manager turns a ``LossTrip`` into a trip of the signal breaker and
persists ``LossState`` so a restart keeps the streak and the peak.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class LossState:
    """What the tracker remembers between trades."""

    consecutive_losses: int = 0
    peak_equity: float | None = None
    last_equity: float | None = None
    trades: int = 0

    def to_body(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> LossState:
        peak = body.get("peak_equity")
        last = body.get("last_equity")
        return cls(
            consecutive_losses=int(body.get("consecutive_losses", 0)),
            peak_equity=None if peak is None else float(peak),
            last_equity=None if last is None else float(last),
            trades=int(body.get("trades", 0)),
        )


@dataclass(frozen=True, slots=True)
class LossTrip:
    """Why the losses call for blocking signals."""

    error_type: str  # "consecutive_losses" or "max_drawdown"
    reason: str


class LossTracker:
    """Counts the losing streak and the drawdown from the equity peak.

    A loss is ``pnl < 0``; any other result ends the streak. The drawdown is
    ``(peak - equity) / peak`` and trips when it reaches ``max_drawdown_pct``.
    """

    def __init__(self, max_consecutive_losses: int, max_drawdown_pct: float) -> None:
        self.max_consecutive_losses = max_consecutive_losses
        self.max_drawdown_pct = max_drawdown_pct
        self.state = LossState()

    def update(self, pnl: float, equity: float | None = None) -> LossTrip | None:
        """Add one closed trade; the trip it causes, if any (streak first, then drawdown)."""
        s = self.state
        s.trades += 1
        s.consecutive_losses = s.consecutive_losses + 1 if pnl < 0 else 0
        if equity is not None:
            s.last_equity = equity
            if s.peak_equity is None or equity > s.peak_equity:
                s.peak_equity = equity
        if s.consecutive_losses >= self.max_consecutive_losses:
            return LossTrip(
                "consecutive_losses",
                f"{s.consecutive_losses} consecutive losing trades "
                f"(limit {self.max_consecutive_losses})",
            )
        drawdown = self.drawdown
        if drawdown is not None and drawdown >= self.max_drawdown_pct - 1e-12:
            return LossTrip(
                "max_drawdown",
                f"drawdown {drawdown:.2%} from equity peak {s.peak_equity:g} to {s.last_equity:g} "
                f"(limit {self.max_drawdown_pct:.2%})",
            )
        return None

    @property
    def drawdown(self) -> float | None:
        """Fractional drawdown of the last equity from the peak (None without a positive peak)."""
        s = self.state
        if s.peak_equity is None or s.last_equity is None or s.peak_equity <= 0:
            return None
        value = (s.peak_equity - s.last_equity) / s.peak_equity
        return value if math.isfinite(value) else None

    def rebase(self) -> None:
        """Start counting afresh (after a trip or a reset): streak 0, peak = last equity."""
        self.state.consecutive_losses = 0
        self.state.peak_equity = self.state.last_equity
