"""Did the level shift while the reference was being learnt? A test for the warm-up window.

A CUSUM learns its reference from its first ``warmup`` values and cannot see a change among
them; worse, the change leaks into the reference. A shift inside a short window is hard to
tell from persistence (a random walk, a trend, a heavy-tailed shock that decays slowly), so
this test asks which explains the window best:

* the alternative: two segments with their own means (one shift);
* the no-change explanations: a constant mean, an AR(1) with intercept (persistence up to a
  random walk), a linear trend.

Every model is fitted by least squares to ``y[1:]`` (the AR(1) needs ``y[:-1]``) and may set
aside its one worst value (a single shock does not make a shift). The statistic is the
Gaussian log-likelihood gain of the shift over the best no-change model,
``n/2 * log(RSS_null / RSS_shift)``. Its threshold is set from a false-alarm rate on null
windows (``benchmarks/calibrate_drift.py``), never from annotated series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["WarmupShift", "warmup_shift_test"]

_REL_FLOOR = 1e-12


@dataclass(frozen=True, slots=True)
class WarmupShift:
    """The test's statistic and the index (in the window) where the second segment starts."""

    statistic: float
    change_index: int


def _rss_one_out(e: np.ndarray, h: np.ndarray) -> float:
    """Residual sum of squares once the worst value is set aside (leave-one-out, exact)."""
    return float(e @ e - np.max(e * e / (1.0 - h)))


def _regression_rss(z: np.ndarray, r: np.ndarray) -> float:
    """RSS of ``z ~ 1 + r`` with one value set aside; the constant model when ``r`` is flat."""
    n = len(z)
    zc = z - z.mean()
    rc = r - r.mean()
    srr = float(rc @ rc)
    if srr <= _REL_FLOOR * n:
        return _rss_one_out(zc, np.full(n, 1.0 / n))
    e = zc - (float(rc @ zc) / srr) * rc
    h = np.minimum(1.0 / n + rc * rc / srr, 1.0 - 1e-9)
    return _rss_one_out(e, h)


def warmup_shift_test(values: Sequence[float] | np.ndarray, min_segment: int = 5) -> WarmupShift:
    """Log-likelihood gain of one mean shift over no change (constant, AR(1) or trend).

    ``values`` must be finite, at least ``2 * min_segment + 1`` of them. ``change_index`` is the
    index in ``values`` of the first value after the best split. A constant window scores
    ``-inf``.
    """
    y = np.asarray(values, dtype=float)
    if min_segment < 1:
        raise ValueError(f"min_segment: must be >= 1, got {min_segment}")
    if len(y) < 2 * min_segment + 1:
        raise ValueError(f"values: need at least 2 * min_segment + 1 = {2 * min_segment + 1} "
                         f"values, got {len(y)}")
    if not np.isfinite(y).all():
        raise ValueError("values: must be finite (drop NaNs before testing)")
    sd = float(np.std(y))
    if not sd > 0.0:
        return WarmupShift(-math.inf, min_segment + 1)
    y = (y - y.mean()) / sd
    x, z = y[:-1], y[1:]
    n = len(z)
    floor = _REL_FLOOR * n
    null = min(_regression_rss(z, np.zeros(n)), _regression_rss(z, x),
               _regression_rss(z, np.arange(n, dtype=float)))
    ks = np.arange(min_segment, n - min_segment + 1)
    c1 = np.cumsum(z)
    c2 = np.cumsum(z * z)
    n1 = ks.astype(float)
    n2 = n - n1
    s1 = c1[ks - 1]
    s2 = c1[-1] - s1
    m1 = s1 / n1
    m2 = s2 / n2
    rss = (c2[ks - 1] - s1 * m1) + (c2[-1] - c2[ks - 1] - s2 * m2)
    # The worst value of either segment is its maximum or its minimum.
    hi1 = np.maximum.accumulate(z)[ks - 1]
    lo1 = np.minimum.accumulate(z)[ks - 1]
    hi2 = np.maximum.accumulate(z[::-1])[::-1][ks]
    lo2 = np.minimum.accumulate(z[::-1])[::-1][ks]
    out1 = np.maximum((hi1 - m1) ** 2, (lo1 - m1) ** 2) / (1.0 - 1.0 / n1)
    out2 = np.maximum((hi2 - m2) ** 2, (lo2 - m2) ** 2) / (1.0 - 1.0 / n2)
    rss = rss - np.maximum(out1, out2)
    best = int(np.argmin(rss))
    gain = 0.5 * n * (math.log(max(null, floor)) - math.log(max(float(rss[best]), floor)))
    return WarmupShift(gain, int(ks[best]) + 1)
