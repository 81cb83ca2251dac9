"""Where did the change begin? The best single split of a window, by two-segment Gaussian fit.

A CUSUM knows *that* a change happened when its statistic crosses the threshold; where it
began is less sure (its last zero is biased, most for scale changes). After an alarm, the
values since the detector's last restart hold one regime and the start of the next: the split
that best explains them as two Gaussian segments is the maximum-likelihood change location.
It runs at alarm time only, on values already seen, so the located index is point in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["ChangeKind", "locate_change"]

ChangeKind = Literal["mean", "scale"]

_TINY = 1e-300
_FLOOR = 1e-9


def locate_change(values: Sequence[float] | np.ndarray, kind: ChangeKind = "mean",
                  min_segment: int = 2) -> int:
    """Index of the first value of the second segment of the best two-segment fit.

    ``kind="mean"``: segments with their own means and a common variance (least squares);
    ``kind="scale"``: their own means and variances (Gaussian likelihood), which finds a
    change of scale as well as one of level. Both segments keep at least ``min_segment``
    values; ties go to the earliest split.
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    if min_segment < 1:
        raise ValueError(f"min_segment: must be >= 1, got {min_segment}")
    if n < 2 * min_segment:
        raise ValueError(f"values: need at least 2 * min_segment = {2 * min_segment} values, "
                         f"got {n}")
    if not np.isfinite(y).all():
        raise ValueError("values: must be finite (drop NaNs before locating)")
    y = y - y.mean()  # centred: the cumulative sums below lose no precision on a far level
    c1 = np.cumsum(y)
    c2 = np.cumsum(y * y)
    taus = np.arange(min_segment, n - min_segment + 1)
    n1 = taus.astype(float)
    n2 = n - n1
    s1 = c1[taus - 1]
    q1 = c2[taus - 1]
    s2 = c1[-1] - s1
    q2 = c2[-1] - q1
    sse1 = np.maximum(q1 - s1 * s1 / n1, 0.0)
    sse2 = np.maximum(q2 - s2 * s2 / n2, 0.0)
    if kind == "mean":
        cost = sse1 + sse2
    elif kind == "scale":
        # Variances below a billionth of the window's are taken as that floor: a constant
        # stretch has no log-variance to speak of, and rounding must not pick the split.
        floor = _FLOOR * float(y @ y) / n + _TINY
        cost = (n1 * np.log(np.maximum(sse1 / n1, floor))
                + n2 * np.log(np.maximum(sse2 / n2, floor)))
    else:
        raise ValueError(f"kind: must be 'mean' or 'scale', got {kind!r}")
    return int(taus[int(np.argmin(cost))])
