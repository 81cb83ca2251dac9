"""The one strategy definition a version carries: signal to position, sizing, costs, slippage.

The backtest, parity, the live tracker and any host harness use this same object, so the
strategy that is judged is the strategy that trades. A trade outcome's return is defined here
once (:meth:`PositionPolicy.trade_return`), as the return of the position; the book's return
of a period is :meth:`PositionPolicy.book_return` of the trades closed in it.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError

LINEAGE_KEY = "position_policy"


class PositionMapping(StrEnum):
    """How a signal in [-1, 1] becomes a position per asset (a fraction of its capital slice)."""

    SIGN = "sign"  # +1 / -1 / 0: the full slice long or short
    CLIP = "clip"  # the signal itself, clipped to [-1, 1]: conviction-sized


@dataclass(frozen=True, slots=True)
class PositionPolicy:
    """Signal -> position, sizing (gross of the book), costs and slippage in bps of turnover."""

    mapping: PositionMapping = PositionMapping.CLIP
    max_gross: float = 1.0
    cost_bps: float = 1.0
    slippage_bps: float = 1.0
    periods_per_year: float = 252.0

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not (math.isfinite(self.max_gross) and 0 < self.max_gross <= 10):
            problems.append(FieldProblem("max_gross", self.max_gross, "must be in (0, 10]"))
        for name in ("cost_bps", "slippage_bps"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                problems.append(FieldProblem(name, v, "must be a finite number >= 0"))
        if not (math.isfinite(self.periods_per_year) and self.periods_per_year > 0):
            problems.append(FieldProblem("periods_per_year", self.periods_per_year, "must be > 0"))
        if problems:
            raise ValidationError("position policy", problems)

    @property
    def cost_rate(self) -> float:
        """Cost plus slippage per unit of one-way turnover."""
        return (self.cost_bps + self.slippage_bps) * 1e-4

    def positions(self, signals: np.ndarray) -> np.ndarray:
        """Unit positions per asset for an array of signals (NaN means flat)."""
        s = np.asarray(signals, dtype=float)
        s = np.where(np.isnan(s), 0.0, s)  # (nan_to_num's checks cost more than a bar's math)
        if self.mapping is PositionMapping.SIGN:
            return np.sign(s)
        return np.clip(s, -1.0, 1.0)

    def position(self, signal: float | None) -> float:
        """The unit position for one signal."""
        if signal is None:
            return 0.0
        return float(self.positions(np.array([signal]))[0])

    def trade_return(self, position: float, previous: float, asset_return: float) -> float:
        """THE return of a trade: the position's return on its capital slice, after costs."""
        return position * asset_return - abs(position - previous) * self.cost_rate

    def book_return(self, trade_returns: Sequence[float], n_assets: int | None = None) -> float:
        """The book's return of one period: ``max_gross`` times the mean trade return.

        ``n_assets`` is the size of the book (assets flat this period count as zero); by default
        the trades given are the whole book.
        """
        n = n_assets if n_assets is not None else len(trade_returns)
        if n <= 0:
            return 0.0
        return self.max_gross * math.fsum(trade_returns) / n

    # ------------------------------------------------------------------ lineage form
    def to_json(self) -> str:
        data = asdict(self)
        data["mapping"] = self.mapping.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PositionPolicy:
        """Parse the lineage form; errors name the field."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(
                "position policy", [FieldProblem(LINEAGE_KEY, text[:80], f"not JSON: {exc}")]
            ) from None
        if not isinstance(data, Mapping):
            raise ValidationError(
                "position policy", [FieldProblem(LINEAGE_KEY, text[:80], "must be an object")]
            )
        try:
            mapping = PositionMapping(str(data.get("mapping", PositionMapping.CLIP.value)))
        except ValueError:
            raise ValidationError(
                "position policy",
                [FieldProblem("mapping", data.get("mapping"), "must be 'sign' or 'clip'")],
            ) from None
        return cls(
            mapping=mapping,
            max_gross=float(data.get("max_gross", 1.0)),
            cost_bps=float(data.get("cost_bps", 1.0)),
            slippage_bps=float(data.get("slippage_bps", 1.0)),
            periods_per_year=float(data.get("periods_per_year", 252.0)),
        )

    @classmethod
    def of_lineage(cls, lineage: Mapping[str, str], default: PositionPolicy) -> PositionPolicy:
        """The policy a version carries in its lineage, else ``default``."""
        text = lineage.get(LINEAGE_KEY)
        return _policy_of_text(text) if text else default


@functools.lru_cache(maxsize=256)
def _policy_of_text(text: str) -> PositionPolicy:
    """A lineage's policy, parsed once per distinct text (read on every trade outcome)."""
    return PositionPolicy.from_json(text)


def annualised_sharpe(returns: Sequence[float] | np.ndarray, periods_per_year: float) -> float:
    """Mean over sample standard deviation times sqrt(periods per year); 0 for a flat series.

    The backtest's metrics and the live tracker both use this definition.
    """
    r = np.asarray(returns, dtype=float)
    n = r.shape[0]
    if n < 2:
        return math.nan
    mean = math.fsum(r) / n
    sd = math.sqrt(math.fsum((r - mean) ** 2) / (n - 1))
    if sd <= 1e-15:
        return 0.0
    return mean / sd * math.sqrt(periods_per_year)
