"""Health from real signals: flush failures and lag, store reachability, breakers, schedules.

The engine gathers ``HealthSignals`` (cheap reads, no full scans) and ``assess`` turns them
into a level and one message that names each cause once. Store reachability has a grace
period: one dropped connection, reconnected at the next try, does not make the engine
UNHEALTHY; a store down for longer than the grace does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ordinis.engines.learning.core.models import HealthLevel


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """When a signal degrades health and when it makes it unhealthy (operational defaults).

    Flush retries back off up to ``flush_retry_max_seconds`` (5 s by default), so five
    consecutive failures mean the store has refused writes for at least ~10 s.
    """

    store_grace_seconds: float = 30.0
    flush_failures_unhealthy: int = 5
    flush_lag_degraded_seconds: float = 30.0
    flush_lag_unhealthy_seconds: float = 300.0
    buffer_degraded_fraction: float = 0.9


@dataclass(frozen=True, slots=True)
class HealthSignals:
    """What the engine observed right now."""

    store_error: str | None  # the probe's error; None when the store answered
    store_down_seconds: float  # clock seconds since the store first failed to answer
    consecutive_flush_failures: int
    flush_error: str | None
    flush_lag_seconds: float  # clock age of the oldest event not yet committed
    buffered: int
    capacity: int
    signals_allowed: bool
    signals_reason: str
    failing_tasks: dict[str, str] = field(default_factory=dict)  # name -> last error


@dataclass(slots=True)
class StoreReachability:
    """Remembers since when the store has been failing its probe (clock time)."""

    down_since: datetime | None = None

    def observe(self, ok: bool, now: datetime) -> float:
        """Record one probe; returns how long the store has been unreachable (0 when ok)."""
        if ok:
            self.down_since = None
            return 0.0
        if self.down_since is None:
            self.down_since = now
        return max(0.0, (now - self.down_since).total_seconds())


def assess(
    s: HealthSignals, t: HealthThresholds | None = None
) -> tuple[HealthLevel, list[str]]:
    """The level and the causes (each once, most severe first) of a set of signals."""
    t = t or HealthThresholds()
    unhealthy: list[str] = []
    degraded: list[str] = []
    if s.store_error is not None:
        text = f"event store unreachable for {s.store_down_seconds:.0f} s ({s.store_error})"
        if s.store_down_seconds >= t.store_grace_seconds:
            unhealthy.append(text)
        else:
            degraded.append(f"{text}; grace {t.store_grace_seconds:.0f} s")
    if s.consecutive_flush_failures:
        text = (
            f"{s.consecutive_flush_failures} consecutive event flush failure(s)"
            + (f" ({s.flush_error})" if s.flush_error else "")
        )
        if s.consecutive_flush_failures >= t.flush_failures_unhealthy:
            unhealthy.append(text)
        else:
            degraded.append(text)
    if s.flush_lag_seconds >= t.flush_lag_unhealthy_seconds:
        unhealthy.append(f"events waiting {s.flush_lag_seconds:.0f} s for the store")
    elif s.flush_lag_seconds >= t.flush_lag_degraded_seconds:
        degraded.append(f"events waiting {s.flush_lag_seconds:.0f} s for the store")
    if s.capacity and s.buffered >= s.capacity * t.buffer_degraded_fraction:
        degraded.append(f"event buffer {s.buffered}/{s.capacity} full")
    if not s.signals_allowed:
        degraded.append(_once("signals blocked: ", s.signals_reason))
    for name, error in sorted(s.failing_tasks.items()):
        degraded.append(f"scheduled task {name!r} failing ({error})")
    level = (
        HealthLevel.UNHEALTHY if unhealthy
        else HealthLevel.DEGRADED if degraded
        else HealthLevel.HEALTHY
    )
    return level, unhealthy + degraded


def _once(prefix: str, reason: str) -> str:
    """``prefix + reason`` with the prefix said once, however often the reason repeats it."""
    while reason.startswith(prefix):
        reason = reason[len(prefix):]
    return prefix + reason
