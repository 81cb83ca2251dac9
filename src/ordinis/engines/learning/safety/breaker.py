"""One circuit breaker: sliding error windows per error type, CLOSED → OPEN → HALF_OPEN → CLOSED.

Time comes from the Clock, so a 60 s window or a 5 min recovery passes instantly on a
SimulatedClock. The breaker is in-memory; ``CircuitBreakerManager`` persists it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import ConfigError, FieldProblem, ValidationError
from ordinis.engines.learning.safety.rules import (
    DEFAULT_TRIP_RULES,
    UNRULED_WINDOW_SECONDS,
    TripRule,
    check_rules,
)
from ordinis.engines.learning.safety.state import BreakerChange, BreakerSnapshot, BreakerState

__all__ = [
    "DEFAULT_TRIP_RULES",
    "BreakerChange",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "TripRule",
]

# Memory bound of one error window; trip decisions only need the newest ``max_errors``.
_MAX_WINDOW_LEN = 10_000
# Timestamps kept per error type in a snapshot (at least the rule's max_errors).
_MIN_PERSISTED_TAIL = 64
# Changes kept for pop_changes() when nobody drains them (a standalone breaker).
_MAX_PENDING_CHANGES = 1000
SYSTEM_ACTOR = "system"


class CircuitBreaker:
    """Opens when a trip rule fires; after ``recovery_timeout_seconds`` lets a probe through.

    In HALF_OPEN, ``allow()`` admits up to ``half_open_successes`` probes; that many
    ``record_success()`` calls close it and any error re-opens it (the timeout restarts).
    A manual ``trip`` is latched: it stays open until ``reset``. Thread-safe.
    """

    def __init__(
        self,
        engine: str,
        rules: Sequence[TripRule],
        clock: Clock,
        recovery_timeout_seconds: float,
        half_open_successes: int = 1,
    ) -> None:
        problems: list[FieldProblem] = []
        if not isinstance(engine, str) or not engine.strip():
            problems.append(FieldProblem("engine", engine, "must be a non-empty string"))
        if not isinstance(recovery_timeout_seconds, int | float) or not (
            recovery_timeout_seconds > 0
        ):
            problems.append(
                FieldProblem(
                    "recovery_timeout_seconds", recovery_timeout_seconds, "must be a number > 0"
                )
            )
        if isinstance(half_open_successes, bool) or not isinstance(half_open_successes, int) or (
            half_open_successes < 1
        ):
            problems.append(
                FieldProblem("half_open_successes", half_open_successes, "must be an integer >= 1")
            )
        if problems:
            raise ConfigError("CircuitBreaker", problems)
        self.engine = engine
        self.rules: tuple[TripRule, ...] = tuple(rules)
        check_rules(engine, self.rules)
        self._rule_by_type = {r.error_type: r for r in self.rules}
        self.clock = clock
        self.recovery_timeout_seconds = float(recovery_timeout_seconds)
        self.half_open_successes = half_open_successes
        self._lock = threading.RLock()
        self._windows: dict[str, deque[float]] = {}
        self._state = BreakerState.CLOSED
        self._reason = ""
        self._opened_at: datetime | None = None
        self._latched = False
        self._trips = 0
        self._trip_error_type: str | None = None
        self._half_open_since: datetime | None = None
        self._successes = 0
        self._probes = 0
        self._last_reset_by: str | None = None
        self._last_reset_reason: str | None = None
        self._last_reset_at: datetime | None = None
        self._changes: deque[BreakerChange] = deque(maxlen=_MAX_PENDING_CHANGES)

    # ------------------------------------------------------------------ reading
    @property
    def state(self) -> BreakerState:
        """The state now (an OPEN breaker whose timeout passed moves to HALF_OPEN here)."""
        with self._lock:
            self.refresh()
            return self._state

    @property
    def last_state(self) -> BreakerState:
        """The state as of the last call, without applying the clock (no side effect)."""
        return self._state

    def error_count(self, error_type: str) -> int:
        """Errors of ``error_type`` inside its window now."""
        with self._lock:
            return len(self._prune(error_type, self.clock.time()))

    def allow(self, consume: bool = True) -> tuple[bool, str]:
        """Whether work guarded by this breaker may go ahead, and why.

        In HALF_OPEN a call with ``consume=True`` takes one of the limited probe slots;
        ``consume=False`` only looks (used when another gate owns the probe).
        """
        with self._lock:
            self.refresh()
            if self._state is BreakerState.CLOSED:
                return True, f"{self.engine} breaker closed"
            if self._state is BreakerState.OPEN:
                return False, self._open_reason()
            if not consume:
                return True, f"{self.engine} breaker half-open"
            if self._probes < self.half_open_successes:
                self._probes += 1
                return True, (
                    f"{self.engine} breaker half-open: probe {self._probes}/"
                    f"{self.half_open_successes} allowed"
                )
            return False, (
                f"{self.engine} breaker half-open: waiting for the result of "
                f"{self._probes} probe(s) (was open: {self._reason})"
            )

    def snapshot(self) -> BreakerSnapshot:
        """Everything about this breaker now, enough to ``restore`` it after a restart."""
        with self._lock:
            self.refresh()
            now = self.clock.time()
            counts: dict[str, int] = {}
            times: dict[str, list[float]] = {}
            for error_type in list(self._windows):
                window = self._prune(error_type, now)
                if not window:
                    continue
                counts[error_type] = len(window)
                rule = self._rule_by_type.get(error_type)
                tail = max(_MIN_PERSISTED_TAIL, rule.max_errors if rule else 0)
                times[error_type] = list(window)[-tail:]
            return BreakerSnapshot(
                engine=self.engine,
                state=self._state,
                reason=self._reason,
                opened_at=self._opened_at,
                error_counts=counts,
                last_reset_by=self._last_reset_by,
                last_reset_reason=self._last_reset_reason,
                last_reset_at=self._last_reset_at,
                trips=self._trips,
                trip_error_type=self._trip_error_type,
                latched=self._latched,
                half_open_since=self._half_open_since,
                half_open_successes=self._successes,
                probes_admitted=self._probes,
                error_times=times,
            )

    # ------------------------------------------------------------------ recording
    def record_error(self, error_type: str, detail: str = "") -> bool:
        """Count one error; True when this call opened the breaker (a trip or a failed probe)."""
        _require_text("error_type", error_type, "CircuitBreaker.record_error")
        with self._lock:
            self.refresh()
            now_s = self.clock.time()
            window = self._prune(error_type, now_s)
            window.append(now_s)
            if self._state is BreakerState.OPEN:
                return False
            if self._state is BreakerState.HALF_OPEN:
                reason = f"half-open probe failed: {error_type}"
                reason += f" ({detail})" if detail else ""
                self._open(reason, error_type, latched=False, by=SYSTEM_ACTOR)
                return True
            rule = self._rule_by_type.get(error_type)
            if rule is None or len(window) < rule.max_errors:
                return False
            reason = (
                f"{error_type}: {len(window)} errors in {rule.window_seconds:g}s "
                f"(limit {rule.max_errors})" + (f"; last: {detail}" if detail else "")
            )
            self._open(reason, error_type, latched=False, by=SYSTEM_ACTOR)
            return True

    def record_success(self) -> bool:
        """Count one success; in HALF_OPEN enough of them close the breaker (returns True then)."""
        with self._lock:
            self.refresh()
            if self._state is not BreakerState.HALF_OPEN:
                return False
            self._successes += 1
            if self._successes < self.half_open_successes:
                return False
            self._close(
                f"recovered: {self._successes} successful probe(s) after: {self._reason}",
                by=SYSTEM_ACTOR,
            )
            return True

    def trip(
        self,
        reason: str,
        error_type: str = "manual",
        latched: bool | None = None,
        by: str = SYSTEM_ACTOR,
    ) -> bool:
        """Open the breaker now; True when it was not already open.

        ``latched`` (default: True for ``error_type="manual"``) keeps it open until ``reset``.
        Tripping an already open breaker can only add the latch, never remove it.
        """
        _require_text("reason", reason, "CircuitBreaker.trip")
        _require_text("error_type", error_type, "CircuitBreaker.trip")
        latch = (error_type == "manual") if latched is None else bool(latched)
        with self._lock:
            self.refresh()
            if self._state is BreakerState.OPEN:
                if latch and not self._latched:
                    self._latched = True
                    self._reason = f"{self._reason}; latched by {by}: {reason}"
                    self._changes.append(
                        BreakerChange(
                            self.engine, BreakerState.OPEN, BreakerState.OPEN, self._reason, by,
                            self.clock.now(), error_type,
                        )
                    )
                return False
            self._open(reason, error_type, latched=latch, by=by)
            return True

    def reset(self, by: str, reason: str) -> None:
        """Close the breaker by hand, naming who and why; clears every error window."""
        _require_text("by", by, "CircuitBreaker.reset")
        _require_text("reason", reason, "CircuitBreaker.reset")
        with self._lock:
            self._last_reset_by = by
            self._last_reset_reason = reason
            self._last_reset_at = self.clock.now()
            self._close(f"manual reset by {by}: {reason}", by=by, force_change=True)

    def refresh(self) -> None:
        """Apply time: OPEN → HALF_OPEN once the recovery timeout has passed (unless latched)."""
        if self._state is BreakerState.CLOSED:  # nothing time-driven to do (the hot path)
            return
        with self._lock:
            now = self.clock.now()
            timeout = timedelta(seconds=self.recovery_timeout_seconds)
            if (
                self._state is BreakerState.OPEN
                and not self._latched
                and self._opened_at is not None
                and now - self._opened_at >= timeout
            ):
                self._set_state(
                    BreakerState.HALF_OPEN,
                    f"recovery timeout of {self.recovery_timeout_seconds:g}s passed; probing "
                    f"(was open: {self._reason})",
                    by=SYSTEM_ACTOR,
                    error_type=None,
                )
                self._half_open_since = now
                self._successes = 0
                self._probes = 0
            elif (
                self._state is BreakerState.HALF_OPEN
                and self._probes >= self.half_open_successes
                and self._half_open_since is not None
                and now - self._half_open_since >= timeout
            ):
                # Probes whose result never came back: re-arm rather than wait forever.
                self._half_open_since = now
                self._probes = 0

    def pop_changes(self) -> list[BreakerChange]:
        """State changes since the last call, oldest first (the manager persists them)."""
        with self._lock:
            changes = list(self._changes)
            self._changes.clear()
            return changes

    def restore(self, snapshot: BreakerSnapshot) -> None:
        """Take the state of ``snapshot`` (error windows included); no change is reported."""
        if snapshot.engine != self.engine:
            raise ValidationError(
                "breaker snapshot",
                [
                    FieldProblem(
                        "engine",
                        snapshot.engine,
                        f"belongs to another breaker (this is {self.engine!r})",
                    )
                ],
            )
        with self._lock:
            self._state = snapshot.state
            self._reason = snapshot.reason
            self._opened_at = _aware(snapshot.opened_at)
            self._latched = snapshot.latched
            self._trips = snapshot.trips
            self._trip_error_type = snapshot.trip_error_type
            self._half_open_since = _aware(snapshot.half_open_since)
            self._successes = snapshot.half_open_successes
            self._probes = snapshot.probes_admitted
            self._last_reset_by = snapshot.last_reset_by
            self._last_reset_reason = snapshot.last_reset_reason
            self._last_reset_at = _aware(snapshot.last_reset_at)
            self._windows = {
                k: deque(sorted(v), maxlen=_MAX_WINDOW_LEN) for k, v in snapshot.error_times.items()
            }
            if self._state is BreakerState.OPEN and self._opened_at is None:
                self._opened_at = self.clock.now()  # an open breaker needs a start for its timeout
            self._changes.clear()

    # ------------------------------------------------------------------ internals
    def _window_seconds(self, error_type: str) -> float:
        rule = self._rule_by_type.get(error_type)
        return rule.window_seconds if rule else UNRULED_WINDOW_SECONDS

    def _prune(self, error_type: str, now_s: float) -> deque[float]:
        window = self._windows.get(error_type)
        if window is None:
            window = self._windows[error_type] = deque(maxlen=_MAX_WINDOW_LEN)
        horizon = now_s - self._window_seconds(error_type)
        while window and window[0] <= horizon:  # an error expires once its age reaches the window
            window.popleft()
        return window

    def _open(self, reason: str, error_type: str, latched: bool, by: str) -> None:
        self._set_state(BreakerState.OPEN, reason, by=by, error_type=error_type)
        self._opened_at = self.clock.now()
        self._latched = latched
        self._trips += 1
        self._trip_error_type = error_type
        self._half_open_since = None
        self._successes = 0
        self._probes = 0

    def _close(self, reason: str, by: str, force_change: bool = False) -> None:
        if self._state is not BreakerState.CLOSED or force_change:
            self._set_state(BreakerState.CLOSED, reason, by=by, error_type=None)
        self._opened_at = None
        self._latched = False
        self._half_open_since = None
        self._successes = 0
        self._probes = 0
        self._windows.clear()

    def _set_state(
        self, to_state: BreakerState, reason: str, by: str, error_type: str | None
    ) -> None:
        self._changes.append(
            BreakerChange(
                self.engine, self._state, to_state, reason, by, self.clock.now(), error_type
            )
        )
        self._state = to_state
        self._reason = reason

    def _open_reason(self) -> str:
        since = self._opened_at.isoformat() if self._opened_at else "?"
        if self._latched:
            tail = "manual reset required"
        else:
            assert self._opened_at is not None
            left = self.recovery_timeout_seconds - (
                self.clock.now() - self._opened_at
            ).total_seconds()
            tail = f"probing again in {max(left, 0.0):.0f}s"
        return f"{self.engine} breaker open since {since}: {self._reason} ({tail})"


def _require_text(name: str, value: object, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(where, [FieldProblem(name, value, "must be a non-empty string")])


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=UTC)
