"""ABTestingFramework (the ordinis name): sticky variants, results with anytime-valid inference.

``results`` may be read after every result (continuous peeking): the interval on the lift is
an asymptotic confidence sequence and the p-value its always-valid dual (running minimum of the
normal-mixture SPRT), so stopping when it first drops below alpha keeps the type-I error at
alpha. The win-rate two-proportion z-test is given too, with its fixed-sample p-value and the
always-valid one. Tests are typed records (kind ``ab_test``) in the event store.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.rollout.router import bucket_of
from ordinis.engines.learning.rollout.sequential import (
    RunningMoments,
    cs_radius,
    mixture_p_value,
    rho_squared,
)

AB_KIND = "ab_test"
MAX_VARIANTS = 10


@dataclass(slots=True)
class ABTest:
    """One experiment: variants (the first is the control), weights, settings and tallies.

    With more than one treatment each is compared with the control at ``alpha / (k - 1)``
    (Bonferroni over the k - 1 comparisons), so the chance of any false call stays at most
    ``alpha`` however often the results are read. ``min_p`` and ``min_p_win`` hold each
    treatment's running minimum of its always-valid p-values.
    """

    test_id: str
    name: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    created_at: datetime
    alpha: float = 0.05
    min_samples: int = 100
    max_samples: int | None = None
    design_samples: int = 1000
    status: str = "running"
    stop_reason: str | None = None
    moments: dict[str, RunningMoments] = field(default_factory=dict)
    wins: dict[str, list[int]] = field(default_factory=dict)
    min_p: dict[str, float] = field(default_factory=dict)
    min_p_win: dict[str, float] = field(default_factory=dict)

    @property
    def control(self) -> str:
        """The first variant."""
        return self.variants[0]

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every variant but the control."""
        return self.variants[1:]

    @property
    def comparison_alpha(self) -> float:
        """The level of each treatment-vs-control comparison: ``alpha / (k - 1)``."""
        return self.alpha / max(len(self.variants) - 1, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"test_id": self.test_id, "name": self.name, "variants": list(self.variants),
                "weights": list(self.weights), "created_at": self.created_at.isoformat(),
                "alpha": self.alpha, "min_samples": self.min_samples,
                "max_samples": self.max_samples, "design_samples": self.design_samples,
                "status": self.status, "stop_reason": self.stop_reason,
                "moments": {k: v.to_dict() for k, v in self.moments.items()},
                "wins": self.wins, "min_p": self.min_p, "min_p_win": self.min_p_win}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ABTest:
        variants = tuple(d["variants"])
        return cls(d["test_id"], d["name"], variants, tuple(d["weights"]),
                   datetime.fromisoformat(d["created_at"]), d["alpha"], d["min_samples"],
                   d["max_samples"], d["design_samples"], d["status"], d["stop_reason"],
                   {k: RunningMoments.from_dict(v) for k, v in d["moments"].items()},
                   {k: [int(x) for x in v] for k, v in d["wins"].items()},
                   _per_treatment(d["min_p"], variants),
                   _per_treatment(d["min_p_win"], variants))


def _per_treatment(raw: Any, variants: tuple[str, ...]) -> dict[str, float]:
    """A stored running minimum: one number (a two-variant test saved before A/B/n) or one
    per treatment."""
    if isinstance(raw, dict):
        return {str(k): float(v) for k, v in raw.items()}
    return {variants[1]: float(raw)}


@dataclass(frozen=True, slots=True)
class VariantStats:
    variant: str
    n: int
    mean: float
    win_rate: float


@dataclass(frozen=True, slots=True)
class ABComparison:
    """One treatment against the control, at ``alpha`` (the test's, split over treatments)."""

    variant: str
    alpha: float
    difference: float
    difference_lower: float
    difference_upper: float
    lift: float
    lift_lower: float
    lift_upper: float
    p_value: float
    win_rate_z: float
    win_rate_p_fixed: float
    win_rate_p_value: float
    verdict: str
    """``better`` or ``worse`` than the control (anytime-valid p <= alpha with ``min_samples``
    per arm), else ``undecided``."""


class _LeadFigure:
    """A figure of the leading treatment's comparison, read as an attribute of ``ABResults``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, results: ABResults, owner: type | None = None) -> float:
        return float(getattr(results.lead, self.name))


@dataclass(frozen=True, slots=True)
class ABResults:
    """Treatments against the control: every comparison, the decision and its reason.

    The figures read at the top level (``difference``, ``lift``, ``p_value``, ...) are the
    leading treatment's: the only one in an A/B test; with several, the one the decision names,
    else the one with the highest lower bound.
    """

    test_id: str
    status: str
    variants: tuple[VariantStats, ...]
    decision: str
    reason: str
    leading: str
    comparisons: tuple[ABComparison, ...]

    @property
    def lead(self) -> ABComparison:
        """The leading treatment's comparison with the control."""
        return next(x for x in self.comparisons if x.variant == self.leading)

    difference = _LeadFigure()
    difference_lower = _LeadFigure()
    difference_upper = _LeadFigure()
    lift = _LeadFigure()
    lift_lower = _LeadFigure()
    lift_upper = _LeadFigure()
    p_value = _LeadFigure()
    win_rate_z = _LeadFigure()
    win_rate_p_fixed = _LeadFigure()
    win_rate_p_value = _LeadFigure()


class ABTestingFramework:
    """Create, assign, record, analyse and stop A/B tests; persisted when given a store."""

    def __init__(self, store: EventStore | None, clock: Clock, audit: AuditLog | None = None):
        self.store = store
        self.clock = clock
        self.audit = audit
        self.tests: dict[str, ABTest] = {}
        # A service records and stops from worker threads; a host may too.
        self._lock = threading.RLock()

    def load(self) -> int:
        if self.store is None:
            return 0
        for rec in self.store.list_records(AB_KIND):
            t = ABTest.from_dict(rec.body)
            self.tests[t.test_id] = t
        return len(self.tests)

    def create_test(
        self,
        name: str,
        variants: tuple[str, ...] | list[str] = ("control", "treatment"),
        weights: tuple[float, ...] | list[float] | None = None,
        alpha: float = 0.05,
        min_samples: int = 100,
        max_samples: int | None = None,
        design_samples: int = 1000,
        actor: str = "ab",
    ) -> ABTest:
        """A new running test; the first variant is the control. ``actor`` is audited."""
        problems: list[FieldProblem] = []
        vs = tuple(variants)
        ws = tuple(weights) if weights is not None else tuple(1.0 / len(vs) for _ in vs) if vs \
            else ()
        if not 2 <= len(vs) <= MAX_VARIANTS or len(set(vs)) != len(vs) \
                or not all(isinstance(v, str) and v.strip() for v in vs):
            problems.append(FieldProblem("variants", list(vs), f"need 2 to {MAX_VARIANTS} "
                                         "distinct, non-empty variant names (control first)"))
        if len(ws) != len(vs) or any(w <= 0 for w in ws) or not math.isclose(sum(ws), 1.0):
            problems.append(FieldProblem("weights", list(ws), "one positive weight per variant, "
                                         "summing to 1"))
        if not 0 < alpha < 1:
            problems.append(FieldProblem("alpha", alpha, "must lie in (0, 1)"))
        if min_samples < 2:
            problems.append(FieldProblem("min_samples", min_samples, "must be >= 2"))
        if max_samples is not None and max_samples < max(len(vs), 2) * max(min_samples, 2):
            problems.append(FieldProblem("max_samples", max_samples,
                                         "must be at least min_samples per variant (results of "
                                         "all variants together), or null for no limit"))
        if design_samples < 1:
            problems.append(FieldProblem("design_samples", design_samples,
                                         "must be >= 1 (the sample size the interval is tuned "
                                         "for)"))
        if not name.strip():
            problems.append(FieldProblem("name", name, "must be non-empty"))
        if problems:
            raise ValidationError("create_test", problems)
        test = ABTest(new_id(), name, vs, ws, self.clock.now(), alpha, min_samples, max_samples,
                      design_samples, moments={v: RunningMoments() for v in vs},
                      wins={v: [0, 0] for v in vs}, min_p={v: 1.0 for v in vs[1:]},
                      min_p_win={v: 1.0 for v in vs[1:]})
        with self._lock:
            self.tests[test.test_id] = test
            self._save(test)
        if self.audit is not None:
            self.audit.append(actor, "ab.create", test.test_id, "allow", name,
                              {"variants": list(vs)})
        return test

    def get_variant(self, test_id: str, key: str) -> str:
        """The key's variant: sticky (a hash of the test id and the key)."""
        test = self._get(test_id)
        u = bucket_of(test.test_id, key) / 2**32
        acc = 0.0
        for v, w in zip(test.variants, test.weights, strict=True):
            acc += w
            if u < acc:
                return v
        return test.variants[-1]

    def record_result(self, test_id: str, variant: str, value: float,
                      win: bool | None = None, persist: bool = True) -> None:
        """One observation of a variant (e.g. a trade's PnL; ``win`` defaults to value > 0)."""
        self.record_results(test_id, [(variant, value, win)], persist=persist)

    def record_results(self, test_id: str,
                       results: Sequence[tuple[str, float, bool | None]],
                       persist: bool = True) -> None:
        """Observations ``(variant, value, win)`` in order, all or none: each is checked first.

        The anytime-valid p-value is updated after each one (its running minimum is what a
        peek at any time would have seen); the test is saved once.
        """
        with self._lock:
            test = self._get(test_id)
            problems: list[FieldProblem] = []
            for i, (variant, value, _) in enumerate(results):
                where = "" if len(results) == 1 else f"results.{i}."  # the API's field style
                if variant not in test.moments:
                    problems.append(FieldProblem(
                        f"{where}variant", variant,
                        f"not a variant of test {test.name!r}: {list(test.variants)}"))
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not math.isfinite(value):
                    problems.append(FieldProblem(f"{where}value", value,
                                                 "must be a finite number"))
            if test.status != "running":
                problems.append(FieldProblem(
                    "test_id", test_id, f"test is {test.status}; create a new test"))
            if problems:
                raise ValidationError("record_result" if len(results) == 1 else "record_results",
                                      problems)
            for variant, value, win in results:
                test.moments[variant].add(float(value))
                w = test.wins[variant]
                w[0] += int(value > 0 if win is None else win)
                w[1] += 1
                self._update_p(test, variant)
            if persist:
                self._save(test)

    def results(self, test_id: str) -> ABResults:
        """Lift, its anytime-valid interval and p-value, the win-rate test and the decision."""
        with self._lock:
            return self._results(self._get(test_id))

    def _results(self, test: ABTest) -> ABResults:
        comps = [self._compare(test, t) for t in test.treatments]
        better = [x for x in comps if x.verdict == "better"]
        worse = [x for x in comps if x.verdict == "worse"]
        several = len(comps) > 1
        a = test.comparison_alpha

        def named(x: ABComparison) -> str:
            return f"{x.variant}: " if several else ""

        def top(xs: list[ABComparison]) -> ABComparison:
            finite = [x for x in xs if math.isfinite(x.difference_lower)]
            return max(finite, key=lambda x: x.difference_lower) if finite else xs[0]

        n_total = sum(m.n for m in test.moments.values())
        if test.status != "running":
            lead = top(comps)
            decision, why = "stopped", test.stop_reason or "stopped"
        elif better:
            lead = top(better)
            decision = "stop_treatment_better"
            why = f"{named(lead)}anytime-valid p={lead.p_value:.4f} <= alpha={a:.4g}"
        elif len(worse) == len(comps):
            lead = top(worse)
            decision = "stop_control_better"
            why = (f"anytime-valid p={lead.p_value:.4f} <= alpha={a:.4g}" if not several
                   else f"every treatment worse than the control at alpha={a:.4g}")
        elif test.max_samples is not None and n_total >= test.max_samples:
            lead = top(comps)
            decision, why = "stop_no_difference", f"{n_total} samples reached max_samples"
        else:
            lead = top(comps)
            decision = "continue"
            short = min(m.n for m in test.moments.values()) < test.min_samples
            lowest = min(comps, key=lambda x: x.p_value)
            why = ("fewer than min_samples per variant" if short
                   else f"{named(lowest)}anytime-valid p={lowest.p_value:.4f} > alpha={a:.4g}")
        # In the test's variant order (control first), whatever order a reload gave the dicts.
        stats = tuple(VariantStats(v, test.moments[v].n,
                                   test.moments[v].mean if test.moments[v].n else math.nan,
                                   (test.wins[v][0] / test.wins[v][1])
                                   if test.wins[v][1] else math.nan)
                      for v in test.variants)
        return ABResults(test.test_id, test.status, stats, decision, why, lead.variant,
                         tuple(comps))

    def _compare(self, test: ABTest, treatment: str) -> ABComparison:
        """One treatment against the control at the per-comparison level."""
        c, t = test.moments[test.control], test.moments[treatment]
        a = test.comparison_alpha
        diff, radius = _difference(a, test.design_samples, c, t)
        lo, hi = diff - radius, diff + radius
        base = abs(c.mean) if c.n else math.nan
        lift = diff / base if base else math.nan
        lift_lo = lo / base if base else math.nan
        lift_hi = hi / base if base else math.nan
        z, p_fixed = _two_proportion(test.wins[test.control], test.wins[treatment])
        p = test.min_p.get(treatment, 1.0)
        verdict = "undecided"
        if min(c.n, t.n) >= test.min_samples and p <= a:
            verdict = "better" if diff > 0 else "worse"
        return ABComparison(treatment, a, diff, lo, hi, lift, lift_lo, lift_hi, p, z, p_fixed,
                            test.min_p_win.get(treatment, 1.0), verdict)

    def stop(self, test_id: str, reason: str = "stopped", actor: str = "ab") -> ABTest:
        """Stop a test for good; its results stay readable. ``actor`` is audited."""
        with self._lock:
            test = self._get(test_id)
            test.status = "stopped"
            test.stop_reason = reason
            self._save(test)
        if self.audit is not None:
            self.audit.append(actor, "ab.stop", test_id, "allow", reason, {})
        return test

    # ------------------------------------------------------------------ helpers
    def _get(self, test_id: str) -> ABTest:
        try:
            return self.tests[test_id]
        except KeyError:
            raise NotFoundError(f"test_id={test_id!r} is not an A/B test; create_test first") \
                from None

    def _save(self, test: ABTest) -> None:
        if self.store is not None:
            now = self.clock.now()
            self.store.put_record(StoredRecord(AB_KIND, test.test_id, test.to_dict(),
                                               test.created_at, now, tag=test.name))

    def _update_p(self, test: ABTest, variant: str) -> None:
        """Take the always-valid p-values of the comparisons a result of ``variant`` changed
        (every one for the control's, its own for a treatment's) into their running minima."""
        c = test.moments[test.control]
        rho2 = rho_squared(test.comparison_alpha, test.design_samples)
        wc, nc = test.wins[test.control]
        for name in test.treatments if variant == test.control else (variant,):
            t = test.moments[name]
            if min(c.n, t.n) < test.min_samples:
                continue
            n = c.n + t.n
            p = mixture_p_value(n, t.mean - c.mean, _difference_sd(c, t), rho2)
            test.min_p[name] = min(test.min_p.get(name, 1.0), p)
            wt, nt = test.wins[name]
            pc, pt = wc / nc, wt / nt
            sd_w = math.sqrt(n * (pc * (1 - pc) / nc + pt * (1 - pt) / nt))
            p_w = mixture_p_value(n, pt - pc, sd_w, rho2)
            test.min_p_win[name] = min(test.min_p_win.get(name, 1.0), p_w)


def _difference(alpha: float, design_samples: int, c: RunningMoments,
                t: RunningMoments) -> tuple[float, float]:
    if c.n < 2 or t.n < 2:
        return (t.mean - c.mean if c.n and t.n else math.nan), math.inf
    return t.mean - c.mean, cs_radius(c.n + t.n, _difference_sd(c, t), alpha,
                                      rho_squared(alpha, design_samples))


def _difference_sd(c: RunningMoments, t: RunningMoments) -> float:
    """The sd of the mean difference scaled to the pooled count, ``sqrt(n (s_c^2/n_c +
    s_t^2/n_t))``: the per-observation scale the mixture p-value and radius take."""
    return math.sqrt((c.n + t.n) * (c.variance / c.n + t.variance / t.n))


def _two_proportion(control: list[int], treatment: list[int]) -> tuple[float, float]:
    """The pooled two-proportion z statistic of the win rates and its fixed-sample p-value."""
    (wc, nc), (wt, nt) = control, treatment
    if nc == 0 or nt == 0:
        return math.nan, math.nan
    pooled = (wc + wt) / (nc + nt)
    se = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    if se == 0:
        return 0.0, 1.0
    z = (wt / nt - wc / nc) / se
    return z, math.erfc(abs(z) / math.sqrt(2.0))  # 2 * (1 - Phi(|z|)), without scipy's import
