"""Anytime-valid comparison of a candidate with its champion: advance, hold or roll back.

The evidence is one paired difference per period (candidate PnL minus champion PnL on the
same requests and the same delayed labels). Its mean gets an asymptotic confidence sequence
(Waudby-Smith, Arnold, Wu and Ramdas, "Time-uniform central limit theory", 2023; the method
GrowthBook uses for sequential tests): valid at every period at once, so the rollout may look
after every outcome, and it needs only finite variance (fat-tailed daily PnL is fine, no
sub-Gaussian assumption). Its dual is the always-valid p-value of a normal-mixture SPRT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem


class Verdict(StrEnum):
    """What the analysis says the rollout should do next."""

    ADVANCE = "advance"
    HOLD = "hold"
    ROLLBACK = "rollback"


def rho_squared(alpha: float, design_periods: int) -> float:
    """The mixture width that makes the sequence tightest after ``design_periods`` periods."""
    a = -2.0 * math.log(alpha)
    return (a + math.log(a + 1.0)) / design_periods


def cs_radius(n: int, sd: float, alpha: float, rho2: float) -> float:
    """Half-width of the two-sided asymptotic confidence sequence for a mean after n periods."""
    if n <= 0:
        return math.inf
    v = n * rho2 + 1.0
    return sd * math.sqrt(2.0 * v / (n * n * rho2) * math.log(math.sqrt(v) / alpha))


def mixture_p_value(n: int, mean: float, sd: float, rho2: float, null: float = 0.0) -> float:
    """Always-valid p-value at n (take the running minimum): 1 / the normal-mixture SPRT."""
    if n <= 0 or not math.isfinite(mean):
        return 1.0
    if sd <= 0:
        return 1.0 if mean == null else 0.0
    v = n * rho2 + 1.0
    log_p = 0.5 * math.log(v) - (n * n * rho2 * (mean - null) ** 2) / (2.0 * sd * sd * v)
    return min(1.0, math.exp(log_p))


@dataclass(slots=True)
class RunningMoments:
    """Count, mean and squared deviations (Welford): O(1), persisted as three numbers."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    @property
    def sd(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunningMoments:
        return cls(int(d["n"]), float(d["mean"]), float(d["m2"]))


@dataclass(frozen=True, slots=True)
class SequentialSettings:
    """Settings of the step analysis; defaults calibrated on simulated fat-tailed nulls
    (``benchmarks/rollout.py`` prints that calibration), never on the reported replays.

    ``margin``: non-inferiority margin as a share of the champion's mean PnL per period (0.5:
    the candidate may give up at most half of the champion's edge). ``harm_margin``: roll back
    when the candidate is worse by more than this share for sure (0: any significant loss).
    """

    alpha: float = 0.05
    margin: float = 0.5
    harm_margin: float = 0.0
    min_periods: int = 20
    design_periods: int = 60

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not 0 < self.alpha < 1:
            problems.append(FieldProblem("alpha", self.alpha, "must lie in (0, 1), e.g. 0.05"))
        if not 0 <= self.margin < 1:
            problems.append(FieldProblem("margin", self.margin, "must lie in [0, 1), e.g. 0.5"))
        if not 0 <= self.harm_margin < 1:
            problems.append(FieldProblem("harm_margin", self.harm_margin, "must lie in [0, 1)"))
        if self.min_periods < 2:
            problems.append(FieldProblem("min_periods", self.min_periods, "must be >= 2"))
        if self.design_periods < 1:
            problems.append(FieldProblem("design_periods", self.design_periods, "must be >= 1"))
        if problems:
            raise ConfigError("rollout analysis settings", problems)

    @property
    def rho2(self) -> float:
        return rho_squared(self.alpha, self.design_periods)


@dataclass(frozen=True, slots=True)
class Analysis:
    """One look at the evidence: the verdict, the interval on the mean difference and why."""

    verdict: Verdict
    periods: int
    mean_difference: float
    lower: float
    upper: float
    margin: float
    champion_mean: float
    p_value: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value, "periods": self.periods,
            "mean_difference": _finite(self.mean_difference), "lower": _finite(self.lower),
            "upper": _finite(self.upper), "margin": _finite(self.margin),
            "champion_mean": _finite(self.champion_mean), "p_value": _finite(self.p_value),
            "reason": self.reason,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


class PairedSequentialTest:
    """Accumulates paired per-period PnL and judges non-inferiority and harm at any time."""

    def __init__(self, settings: SequentialSettings | None = None) -> None:
        self.settings = settings or SequentialSettings()
        self.diff = RunningMoments()
        self.champion = RunningMoments()
        self.min_p = 1.0

    def add_period(self, candidate_pnl: float, champion_pnl: float) -> None:
        """One closed period: the two versions' PnL on the same requests."""
        self.diff.add(candidate_pnl - champion_pnl)
        self.champion.add(champion_pnl)
        s = self.settings
        if self.diff.n >= s.min_periods:  # a variance from a handful of periods is not one
            self.min_p = min(self.min_p, mixture_p_value(self.diff.n, self.diff.mean,
                                                         self.diff.sd, s.rho2))

    def analyse(self) -> Analysis:
        """ROLLBACK on harm, ADVANCE on non-inferiority, else HOLD (also before min_periods)."""
        s = self.settings
        n, mean = self.diff.n, self.diff.mean
        edge = abs(self.champion.mean)
        margin = s.margin * edge
        if n < s.min_periods:
            return Analysis(Verdict.HOLD, n, mean, -math.inf, math.inf, margin, self.champion.mean,
                            self.min_p, f"{n} of {s.min_periods} periods needed before deciding")
        r = cs_radius(n, self.diff.sd, s.alpha, s.rho2)
        lo, hi = mean - r, mean + r
        if hi < -s.harm_margin * edge:
            verdict, why = Verdict.ROLLBACK, (
                f"harm: candidate - champion PnL per period <= {hi:.3g} for sure "
                f"(interval {lo:.3g}..{hi:.3g}, {n} periods)")
        elif lo > -margin:
            verdict, why = Verdict.ADVANCE, (
                f"non-inferior: difference >= {lo:.3g} > -margin {margin:.3g} ({n} periods)")
        else:
            verdict, why = Verdict.HOLD, (
                f"undecided: interval {lo:.3g}..{hi:.3g} spans -margin {margin:.3g} ({n} periods)")
        return Analysis(verdict, n, mean, lo, hi, margin, self.champion.mean, self.min_p, why)

    def to_dict(self) -> dict[str, Any]:
        return {"diff": self.diff.to_dict(), "champion": self.champion.to_dict(),
                "min_p": self.min_p}

    @classmethod
    def from_dict(cls, d: dict[str, Any], settings: SequentialSettings) -> PairedSequentialTest:
        t = cls(settings)
        t.diff = RunningMoments.from_dict(d["diff"])
        t.champion = RunningMoments.from_dict(d["champion"])
        t.min_p = float(d.get("min_p", 1.0))
        return t
