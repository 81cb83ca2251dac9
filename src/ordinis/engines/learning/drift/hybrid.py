"""The CUSUM with a BOCPD on watch while it learns its first reference (not the default).

``AutocorrelatedCUSUM`` needs ``warmup`` (40) values before it can say anything, so a short
series goes unwatched. BOCPD's Student-t predictive works from about ten values.
``HybridCUSUM`` feeds a BOCPD (its calibrated defaults) during the CUSUM's first warm-up and
drops it afterwards, so the long-run cost is the CUSUM's; after the warm-up (or an early
alarm, which restarts the CUSUM) the alarms are the CUSUM's. Options: ``early_after_alarm`` watches
every warm-up, not only the first; ``restart_from_change`` restarts the CUSUM, after its
own alarms too, on the values since the located change instead of the alarm value.

Measured (docs/drift.md): it wins the short series with low persistence, but on persistent
level streams the BOCPD fires early and falsely (ARL0 130-350 on 40-point AR(1) nulls with
phi >= 0.9; no threshold below 1 reaches 1000 there), and it lost the held-out evaluation to
the plain CUSUM, which stays the default.
"""
from __future__ import annotations

import math
from collections import deque

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.drift.bocpd import BOCPD
from ordinis.engines.learning.drift.calibrated import BOCPD_THRESHOLD, CUSUM_THRESHOLD_SCALE
from ordinis.engines.learning.drift.cusum import AutocorrelatedCUSUM

__all__ = ["HybridCUSUM"]


class HybridCUSUM:
    """``AutocorrelatedCUSUM``, with a ``BOCPD`` during its first warm-up.

    ``early_threshold`` (BOCPD's calibrated default), ``early_window``, ``early_warmup`` and
    ``early_hazard_lambda`` configure the BOCPD; ``warmup`` and ``threshold_scale`` the CUSUM.
    ``change_point`` is where the detector that fired located the change; ``last_alarm_statistic``
    names it (``early:short_run_mass`` or the CUSUM's statistic).
    """

    name = "hybrid"

    __slots__ = (
        "_buf",
        "_cusum",
        "_drift",
        "_early",
        "_early_after_alarm",
        "_early_kw",
        "_early_start",
        "_n_detections",
        "_restart_from_change",
        "_t",
        "change_point",
        "last_alarm_statistic",
    )

    def __init__(
        self,
        warmup: int = 40,
        threshold_scale: float = CUSUM_THRESHOLD_SCALE,
        early_threshold: float = BOCPD_THRESHOLD,
        early_window: int = 20,
        early_warmup: int = 10,
        early_hazard_lambda: float = 1000.0,
        restart_from_change: bool = False,
        early_after_alarm: bool = False,
    ) -> None:
        problems: list[FieldProblem] = []
        if early_warmup >= warmup:
            problems.append(FieldProblem("early_warmup", early_warmup,
                                         f"must be < warmup ({warmup})"))
        if problems:
            raise ValidationError("HybridCUSUM parameters", problems)
        self._cusum = AutocorrelatedCUSUM(warmup=warmup, threshold_scale=threshold_scale)
        self._early_kw = {
            "threshold": early_threshold, "alarm_window": early_window,
            "warmup": early_warmup, "hazard_lambda": early_hazard_lambda,
            "max_run_length": max(16, warmup + 8),
        }
        self._restart_from_change = bool(restart_from_change)
        self._early_after_alarm = bool(early_after_alarm)
        self._buf: deque[float] = deque(maxlen=warmup)
        self._t = -1
        self._drift = False
        self._n_detections = 0
        self.change_point = -1
        self.last_alarm_statistic = ""
        self._early: BOCPD | None = BOCPD(**self._early_kw)  # type: ignore[arg-type]
        self._early_start = 0

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

    @property
    def reference(self) -> tuple[float, float, float]:
        """The CUSUM's reference ``(mean, innovation sd, rho)``; NaNs while it learns."""
        return self._cusum.reference

    def reset(self) -> None:
        """Forget both references (``n_detections`` is kept)."""
        self._drift = False
        self._cusum.reset()
        self._buf.clear()
        self._new_early([], self._t + 1)

    def update(self, x: float) -> HybridCUSUM:
        """Feed one value; ``drift_detected`` tells whether it completed a change."""
        self._t += 1
        self._buf.append(x)
        cusum = self._cusum
        early = self._early
        if cusum.warming_up and early is not None:
            cusum.update(x)
            early.update(x)
            if early.drift_detected:
                self._alarm(self._early_start + early.change_point, "early:short_run_mass")
                return self
            self._drift = False
            return self
        cusum.update(x)
        if cusum.drift_detected:
            self._alarm(cusum.change_point, cusum.last_alarm_statistic)
            return self
        self._drift = False
        return self

    # ------------------------------------------------------------------ internals
    def _alarm(self, cp: float, statistic: str) -> None:
        t = self._t
        cp_i = int(min(cp, t)) if math.isfinite(cp) else t
        self.change_point = cp_i
        self.last_alarm_statistic = statistic
        self._drift = True
        self._n_detections += 1
        # The next regime is learnt from the values since the change (the latest ``warmup``).
        keep = min(t - cp_i + 1, len(self._buf)) if self._restart_from_change else 1
        since = list(self._buf)[len(self._buf) - keep:]
        start = t - len(since) + 1
        self._cusum.restart(since)
        self._buf.clear()
        self._buf.extend(since)
        self._new_early(since, start)

    def _new_early(self, values: list[float], start: int) -> None:
        if not self._early_after_alarm and self._n_detections:
            self._early = None
            return
        early = BOCPD(**self._early_kw)  # type: ignore[arg-type]
        for v in values:  # replay: what the BOCPD says about them is not a new alarm
            early.update(v)
        self._early = early
        self._early_start = start
