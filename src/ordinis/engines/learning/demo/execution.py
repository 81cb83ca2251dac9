"""The host's simulated execution: signal to position, costs and slippage, one book's return.

Each symbol's position is set by the position policy of the version that gave its signal: the
``PositionPolicy`` the registry keeps with that version (``engine.position_policy``), the one
its evaluation and live tracking use, so the strategy judged is the strategy traded. The host's
own rule (before any model serves) trades with the host's policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ordinis.engines.learning import PositionMapping, PositionPolicy


def host_policy(periods_per_year: float) -> PositionPolicy:
    """The strategy the demo's host trains its models for and trades its own rule with: the
    sign of the signal (the full slice long or short), 1 bp of costs and 1 bp of slippage per
    unit of turnover. The first training job asks for it; every retrain keeps it."""
    return PositionPolicy(
        mapping=PositionMapping.SIGN,
        max_gross=1.0,
        cost_bps=1.0,
        slippage_bps=1.0,
        periods_per_year=periods_per_year,
    )


@dataclass(slots=True)
class Fill:
    """One asset's result of one bar: its position, the return it earned after costs."""

    symbol: str
    position: float
    trade_return: float


@dataclass(slots=True)
class SimulatedExecution:
    """A book of ``n`` equal capital slices: positions set at a close earn the next bar's return.

    ``trade`` sets today's positions from signals, each through the policy of the version that
    gave it; ``settle`` closes yesterday's positions on today's return, with the costs of their
    policy (``PositionPolicy.trade_return``), and returns the fills and the book's return: the
    mean over the slices of each trade return times its policy's gross
    (``PositionPolicy.book_return`` when one policy trades the whole book).
    """

    symbols: list[str]
    policy: PositionPolicy  # the host's: who holds a slice before any version traded it
    positions: np.ndarray = field(init=False)
    previous: np.ndarray = field(init=False)
    policies: list[PositionPolicy] = field(init=False)
    equity: float = 1.0

    def __post_init__(self) -> None:
        self.positions = np.zeros(len(self.symbols))
        self.previous = np.zeros(len(self.symbols))
        self.policies = [self.policy] * len(self.symbols)

    def trade(self, signals: np.ndarray, policies: Sequence[PositionPolicy]) -> None:
        """Today's positions: each symbol's signal through its policy (NaN means flat)."""
        signals = np.asarray(signals, dtype=float)
        positions = np.zeros(len(self.symbols))
        distinct = {id(p): p for p in policies}
        if len(distinct) == 1:
            positions = policies[0].positions(signals)
        else:
            for key, pol in distinct.items():
                mask = np.fromiter((id(p) == key for p in policies), bool, len(policies))
                positions[mask] = pol.positions(signals[mask])
        self.rebalance(positions, policies)

    def rebalance(
        self, positions: np.ndarray, policies: Sequence[PositionPolicy] | None = None
    ) -> None:
        """Today's positions (one per symbol); what they replace is kept for the cost. The
        policies (default: unchanged) charge the costs of these positions when they settle."""
        self.previous = self.positions
        self.positions = np.asarray(positions, dtype=float).copy()
        if policies is not None:
            self.policies = list(policies)

    def flatten(self) -> None:
        """Close everything (signals blocked): the turnover is charged at the next settle, at
        the costs of the policies that held the positions."""
        self.rebalance(np.zeros(len(self.symbols)))

    def settle(self, returns: np.ndarray) -> tuple[list[Fill], float]:
        """Fills of the positions held over the bar ending now and the book's return."""
        fills: list[Fill] = []
        total = 0.0
        for s, sym in enumerate(self.symbols):
            pos, prev, ret = self.positions[s], self.previous[s], returns[s]
            if not np.isfinite(ret):
                ret = 0.0
            if pos == 0.0 and prev == 0.0:
                continue
            policy = self.policies[s]
            r = policy.trade_return(float(pos), float(prev), float(ret))
            total += policy.max_gross * r
            if pos != 0.0:
                fills.append(Fill(sym, float(pos), r))
        book = total / max(1, len(self.symbols))
        self.equity *= 1.0 + book
        self.previous = self.positions  # turnover is paid once
        return fills, book
