"""Bayesian online change-point detection (Adams & MacKay 2007) with a Normal-Gamma model.

The run-length posterior ``P(r_t | x_1..t)`` is kept for run lengths ``0..max_run_length-1``
in numpy arrays indexed by run length, so every quantity that depends on the run length only
(``alpha_r``, ``kappa_r``, the Student-t constants) is a fixed table. Each update computes the
Student-t predictive of every run length with a dozen in-place ufunc calls and writes the grown
posterior one slot to the right in a second buffer (double buffering: no allocation, no copy).
Run lengths that would pass the bound are merged into the last slot, so memory and time per
update are bounded and the posterior still sums to one.

The predictive uses the identity ``b_new = b + kappa d^2 / (2 (kappa + 1))`` (the posterior
update of ``beta``): ``log p(x | r) = logG_r + a_r log b_r - (a_r + 1/2) log b_new_r`` with
``logG_r = lgamma(a_r + 1/2) - lgamma(a_r) + 1/2 log(kappa_r / (2 pi (kappa_r + 1)))``, so one
``log`` per update serves both the predictive and the next step.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.drift.calibrated import BOCPD_THRESHOLD

__all__ = ["BOCPD", "bocpd_posteriors_bruteforce"]

_dot = np.dot  # a BLAS dot of two small vectors costs less than ndarray.sum


class BOCPD:
    """Streaming BOCPD with a constant hazard and a conjugate Normal-Gamma (Student-t) model.

    Values are turned into standardised AR(1) innovations with the level, lag-1
    autocorrelation and innovation sd of the first ``warmup`` values (point in time: the
    warm-up is replayed through the model once they are known, with no alarm;
    ``prewhiten=False`` only standardises), then clipped at ``clip`` sd. An alarm fires when
    ``short_run_mass``, the posterior mass of run lengths ``1..alarm_window``, rises above
    ``threshold`` (the default comes from ``benchmarks/calibrate_drift.py``); it is then kept
    quiet until that mass falls back below the threshold, so one change raises one alarm.
    ``change_point`` is the index where the most probable short run began.
    """

    name = "bocpd"

    __slots__ = (
        "_a1", "_alarm_view", "_armed", "_b0", "_clip", "_drift", "_full", "_hazard", "_heads",
        "_hr", "_inv", "_inv_keep", "_keep", "_logg1", "_lp", "_lp_short", "_max_rho", "_max_rl",
        "_mu0", "_n_detections", "_ones", "_ones_short", "_p0", "_prev", "_r", "_rho", "_scale",
        "_shift", "_t", "_tails", "_tmp", "_warm", "_warmup", "_window", "alpha0", "beta0",
        "change_point", "hazard_lambda", "kappa0", "last_alarm_statistic", "prewhiten",
        "threshold",
    )

    _full: tuple[tuple[np.ndarray, ...], ...]
    _heads: tuple[tuple[np.ndarray, ...], ...]
    _tails: tuple[tuple[np.ndarray, ...], ...]
    _alarm_view: tuple[np.ndarray, ...]
    _warm: list[float] | None
    _prev: float
    _rho: float
    _scale: float
    _shift: float
    _armed: bool
    _r: int

    def __init__(
        self,
        hazard_lambda: float = 1000.0,
        threshold: float = BOCPD_THRESHOLD,
        alarm_window: int = 20,
        max_run_length: int = 64,
        warmup: int = 10,
        alpha0: float = 1.0,
        beta0: float = 1.0,
        kappa0: float = 1.0,
        prewhiten: bool = True,
        max_rho: float = 0.99,
        clip: float = 4.0,
    ) -> None:
        problems: list[FieldProblem] = []
        if not (hazard_lambda > 1 and math.isfinite(hazard_lambda)):
            problems.append(FieldProblem("hazard_lambda", hazard_lambda, "must be finite and > 1"))
        if not 0 < threshold < 1:
            problems.append(FieldProblem("threshold", threshold, "must be in (0, 1)"))
        if max_run_length < 8:
            problems.append(FieldProblem("max_run_length", max_run_length, "must be >= 8"))
        if not 1 <= alarm_window < max_run_length - 1:
            problems.append(FieldProblem(
                "alarm_window", alarm_window, f"must be in [1, max_run_length - 1 = "
                f"{max_run_length - 1})"))
        if warmup < 3:
            problems.append(FieldProblem("warmup", warmup, "must be >= 3 values"))
        for fname, value in (("alpha0", alpha0), ("beta0", beta0), ("kappa0", kappa0)):
            if not (value > 0 and math.isfinite(value)):
                problems.append(FieldProblem(fname, value, "must be a finite number > 0"))
        if not 0 <= max_rho < 1:
            problems.append(FieldProblem("max_rho", max_rho, "must be in [0, 1)"))
        if not clip > 0:
            problems.append(FieldProblem("clip", clip, "must be > 0 (math.inf: no clipping)"))
        if problems:
            raise ValidationError("BOCPD parameters", problems)
        self.prewhiten = bool(prewhiten)
        self._clip = float(clip)
        self._max_rho = float(max_rho)
        self.hazard_lambda = float(hazard_lambda)
        self.threshold = float(threshold)
        self.alpha0 = float(alpha0)
        self.beta0 = float(beta0)
        self.kappa0 = float(kappa0)
        self._window = int(alarm_window)
        self._max_rl = int(max_run_length)
        self._warmup = int(warmup)
        self._hazard = 1.0 / self.hazard_lambda
        self._keep = 1.0 - self._hazard
        self._inv_keep = 1.0 / self._keep
        w = self._max_rl
        r = np.arange(w, dtype=float)
        a = self.alpha0 + 0.5 * r
        k = self.kappa0 + r
        logg = gammaln(a + 0.5) - gammaln(a) + 0.5 * np.log(k / (2.0 * math.pi * (k + 1.0)))
        self._a1 = a + 0.5
        self._hr = k / (2.0 * (k + 1.0))
        self._inv = 1.0 / (k + 1.0)
        # logG of the run length one longer, aligned with the slot that grows into it.
        self._logg1 = np.append(logg[1:], logg[-1])
        self._p0 = self.alpha0 * math.log(self.beta0) + float(logg[0])
        self._mu0 = 0.0
        self._b0 = self.beta0
        self._tmp = np.empty(w)
        self._lp = np.empty(w)
        # The short-run mass after the update is the joint of run lengths 0..window-1 now.
        self._lp_short = self._lp[: self._window]
        self._ones = np.ones(w)
        self._ones_short = np.ones(self._window)
        self._n_detections = 0
        self.last_alarm_statistic = ""
        self.change_point = -1
        self._t = -1
        self._drift = False
        self._start()

    # ------------------------------------------------------------------ protocol
    @property
    def drift_detected(self) -> bool:
        return self._drift

    @property
    def n_detections(self) -> int:
        return self._n_detections

    @property
    def n_seen(self) -> int:
        """Values fed since construction (the index of the last one is ``n_seen - 1``)."""
        return self._t + 1

    def reset(self) -> None:
        """Forget the scale and the posterior (``n_detections`` is kept)."""
        self._drift = False
        self._start()

    @property
    def run_length_posterior(self) -> np.ndarray:
        """``P(r_t = r | x_1..t)`` for ``r = 0..max_run_length-1`` (a copy; empty in warm-up)."""
        if self._warm is not None:
            return np.empty(0)
        return self._heads[self._r][0].copy()

    @property
    def short_run_mass(self) -> float:
        """``P(1 <= r_t <= alarm_window | r_t >= 1)``: the alarm statistic.

        ``P(r_t = 0)`` is the hazard whatever the data (the run just begun has no value
        yet), so it is left out: the statistic can reach 1.
        """
        if self._warm is not None:
            return 0.0
        return float(self._alarm_view[self._r].sum()) * self._inv_keep

    def update(self, x: float) -> BOCPD:
        """Feed one value; ``drift_detected`` tells whether it completed a change."""
        self._drift = False
        self._t += 1
        warm = self._warm
        if x - x != 0.0:  # NaN and infinite values are skipped (x - x is NaN for them)
            return self
        if warm is not None:
            warm.append(x)
            if len(warm) >= self._warmup:
                self._fit_scale(warm)
            return self
        y = x - self._shift
        z = (y - self._rho * self._prev) / self._scale
        self._prev = y
        c = self._clip
        mass = self._step(c if z > c else (-c if z < -c else z))
        if mass > self.threshold:
            if self._armed:
                self._alarm()
        else:
            self._armed = True
        return self

    # ------------------------------------------------------------------ internals
    def _step(self, z: float) -> float:
        """One BOCPD recursion on a standardised value; returns the new short-run statistic."""
        r = self._r
        rn = 1 - r
        post, mu, b, p = self._heads[r]
        post_t, mu_t, b_t, p_t = self._tails[rn]
        d = self._tmp
        lp = self._lp
        np.subtract(z, mu, d)
        np.multiply(d, self._inv, lp)
        np.add(mu, lp, mu_t)               # mu of run r+1 = mu + d / (kappa + 1)
        np.multiply(d, d, d)
        np.multiply(d, self._hr, d)
        np.add(b, d, b_t)                  # beta of run r+1 = beta + kappa d^2 / (2 (kappa + 1))
        np.log(b_t, d)
        np.multiply(d, self._a1, d)        # a_{r+1} log beta_{r+1}
        np.subtract(p, d, lp)              # log predictive of every run length
        np.add(d, self._logg1, p_t)        # a log beta + logG of run r+1, for the next step
        np.exp(lp, lp)
        np.multiply(lp, post, lp)          # joint of (run length, value), up to a constant
        total = float(_dot(lp, self._ones))
        if not 0.0 < total < math.inf:
            # Every hypothesis gave the value zero (or infinite) density: start afresh.
            self._restart_posterior(rn)
            return 0.0
        short = float(_dot(self._lp_short, self._ones_short))
        np.multiply(lp, self._keep / total, post_t)
        # Slot 0 of both buffers always holds the hazard and the prior (tails never write it);
        # run lengths past the bound merge into the last slot.
        pn = self._full[rn][0]
        last = self._max_rl - 1
        pn[last] = pn[last] + pn[last + 1]
        self._r = rn
        return short / total

    def _start(self) -> None:
        w = self._max_rl
        # Two buffers of (posterior, mu, beta, a log beta + logG), each one slot longer than
        # the bound: the grown run lengths are written at [1:], the overflow lands in slot w.
        full = tuple(tuple(np.zeros(w + 1) for _ in range(4)) for _ in range(2))
        self._full = full
        self._heads = tuple(tuple(arr[:w] for arr in buf) for buf in full)
        self._tails = tuple(tuple(arr[1:] for arr in buf) for buf in full)
        self._alarm_view = tuple(buf[0][1 : self._window + 1] for buf in full)
        self._warm = []
        self._shift = 0.0
        self._scale = 1.0
        self._rho = 0.0
        self._prev = 0.0
        self._armed = True
        self._restart_posterior(0)

    def _restart_posterior(self, r: int) -> None:
        # P(r_0 = 0) = 1; storing the hazard there instead is the same after normalising,
        # and lets slot 0 of both buffers stay constant for good.
        for buf in self._full:
            post, mu, b, p = buf
            post[:] = 0.0
            post[0] = self._hazard
            mu[:] = self._mu0
            b[:] = self._b0   # beta > 0 everywhere keeps log() finite in unused slots
            p[:] = self._p0
        self._r = r

    def _fit_scale(self, warm: list[float]) -> None:
        # Level, lag-1 autocorrelation and innovation scale of the warm-up values; the model
        # then sees standardised AR(1) innovations (``rho`` near 0 for returns, near 1 for a
        # level that wanders), which are close to independent under no change.
        arr = np.asarray(warm, dtype=float)
        mean = float(arr.mean())
        y = arr - mean
        rho = 0.0
        var = float(y @ y)
        if self.prewhiten and var > 0.0:
            rho = min(self._max_rho, max(0.0, float(y[1:] @ y[:-1]) / var))
        innov = y[1:] - rho * y[:-1]
        sd = float(innov.std(ddof=1))
        self._shift = mean
        self._rho = rho
        self._scale = sd if sd > 0.0 else 1e-9 * (1.0 + abs(mean))
        self._warm = None
        for v in innov.tolist():  # replay: the posterior sees the warm-up, no alarm is raised
            self._step(v / self._scale)
        self._prev = float(y[-1])
        self._armed = self.short_run_mass <= self.threshold

    @property
    def standardisation(self) -> tuple[float, float, float]:
        """``(level, rho, innovation sd)`` learnt in the warm-up; NaNs before."""
        if self._warm is not None:
            return (math.nan, math.nan, math.nan)
        return (self._shift, self._rho, self._scale)

    def _alarm(self) -> None:
        self._armed = False
        post = self._full[self._r][0]
        run = 1 + int(np.argmax(post[1 : self._window + 1]))
        self.change_point = self._t - run + 1
        self.last_alarm_statistic = "short_run_mass"
        self._drift = True
        self._n_detections += 1

    def __repr__(self) -> str:
        return (
            f"BOCPD(hazard_lambda={self.hazard_lambda}, threshold={self.threshold}, "
            f"alarm_window={self._window}, max_run_length={self._max_rl})"
        )


def bocpd_posteriors_bruteforce(
    values: list[float], hazard: float, mu0: float, kappa0: float, alpha0: float, beta0: float
) -> list[list[float]]:
    """Run-length posteriors by the textbook recursion, no pruning (for tests; O(n^2) Python).

    Each run length keeps its own data and recomputes the Student-t predictive from scratch
    with ``math.lgamma``; returns ``P(r_t = r | x_1..t)`` for ``r = 0..t+1`` after each value.
    """
    post = [1.0]
    out: list[list[float]] = []
    for t, x in enumerate(values):
        preds = []
        for r in range(len(post)):
            seg = values[t - r : t]
            n = len(seg)
            kappa = kappa0 + n
            mean = (kappa0 * mu0 + sum(seg)) / kappa
            alpha = alpha0 + n / 2
            sbar = sum(seg) / n if n else 0.0
            beta = beta0 + 0.5 * sum((v - sbar) ** 2 for v in seg) + (
                kappa0 * n * (sbar - mu0) ** 2 / (2 * kappa) if n else 0.0)
            nu = 2 * alpha
            scale2 = beta * (kappa + 1) / (alpha * kappa)
            logpdf = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)
                      - 0.5 * math.log(nu * math.pi * scale2)
                      - (nu + 1) / 2 * math.log1p((x - mean) ** 2 / (nu * scale2)))
            preds.append(math.exp(logpdf))
        joint = [post[r] * preds[r] for r in range(len(post))]
        growth = [(1 - hazard) * j for j in joint]
        cp = hazard * sum(joint)
        new = [cp, *growth]
        z = sum(new)
        post = [v / z for v in new]
        out.append(post)
    return out
