"""The host's simulated execution: signal to position, costs and slippage, one book's return.

``DemoPolicy`` has the shape of the engine's one strategy definition per version (``positions``,
``trade_return``, ``book_return``); once a version carries its own position policy the host
uses that object instead, so the strategy judged is the strategy traded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class PositionRule(Protocol):
    """What the execution needs of a position policy (the engine's PositionPolicy fits)."""

    def positions(self, signals: np.ndarray) -> np.ndarray: ...

    def trade_return(self, position: float, previous: float, asset_return: float) -> float: ...


@dataclass(frozen=True, slots=True)
class DemoPolicy:
    """Sign of the signal, the full slice long or short; costs and slippage in bps of turnover."""

    cost_bps: float = 1.0
    slippage_bps: float = 1.0

    @property
    def cost_rate(self) -> float:
        return (self.cost_bps + self.slippage_bps) * 1e-4

    def positions(self, signals: np.ndarray) -> np.ndarray:
        return np.sign(np.nan_to_num(np.asarray(signals, dtype=float), nan=0.0))

    def trade_return(self, position: float, previous: float, asset_return: float) -> float:
        return position * asset_return - abs(position - previous) * self.cost_rate


@dataclass(slots=True)
class Fill:
    """One asset's result of one bar: its position, the return it earned after costs."""

    symbol: str
    position: float
    trade_return: float


@dataclass(slots=True)
class SimulatedExecution:
    """A book of ``n`` equal capital slices: positions set at a close earn the next bar's return.

    ``settle`` closes yesterday's positions on today's return (costs of the turnover included)
    and returns the fills and the book's return; ``rebalance`` sets today's positions.
    """

    symbols: list[str]
    positions: np.ndarray = field(init=False)
    previous: np.ndarray = field(init=False)
    equity: float = 1.0

    def __post_init__(self) -> None:
        self.positions = np.zeros(len(self.symbols))
        self.previous = np.zeros(len(self.symbols))

    def rebalance(self, positions: np.ndarray) -> None:
        """Today's positions (one per symbol); what they replace is kept for the cost."""
        self.previous = self.positions
        self.positions = np.asarray(positions, dtype=float).copy()

    def flatten(self) -> None:
        """Close everything (signals blocked): the turnover is charged at the next settle."""
        self.rebalance(np.zeros(len(self.symbols)))

    def settle(self, returns: np.ndarray, rule: PositionRule) -> tuple[list[Fill], float]:
        """Fills of the positions held over the bar ending now and the book's return."""
        fills: list[Fill] = []
        total = 0.0
        for s, sym in enumerate(self.symbols):
            pos, prev, ret = self.positions[s], self.previous[s], returns[s]
            if not np.isfinite(ret):
                ret = 0.0
            if pos == 0.0 and prev == 0.0:
                continue
            r = rule.trade_return(float(pos), float(prev), float(ret))
            total += r
            if pos != 0.0:
                fills.append(Fill(sym, float(pos), r))
        book = total / max(1, len(self.symbols))
        self.equity *= 1.0 + book
        self.previous = self.positions  # turnover is paid once
        return fills, book
