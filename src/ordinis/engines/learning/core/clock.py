"""Clocks and a clock-driven scheduler: every time decision of the engine goes through here.

``SystemClock`` reads the wall clock. ``SimulatedClock`` is moved by the caller (a replay
sets it from event timestamps), so a 6 h cooldown or a weekly schedule passes in
microseconds and nothing ever calls ``sleep``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Source of time for the engine."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def time(self) -> float:
        """Current time as Unix seconds."""
        ...

    def monotonic(self) -> float:
        """A monotonic reading in seconds, for durations."""
        ...

    @property
    def simulated(self) -> bool:
        """True when time moves only when told to."""
        ...


class SystemClock:
    """The wall clock, for production."""

    simulated = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class SimulatedClock:
    """A clock that moves only by ``advance`` / ``set``; listeners fire on every move."""

    simulated = True

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2000, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError(
                "SimulatedClock start must be timezone-aware (UTC); got a naive datetime"
            )
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def monotonic(self) -> float:
        return self._now.timestamp()

    def on_advance(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener(now)`` after every move of the clock (schedulers hook in here)."""
        self._listeners.append(listener)

    def set(self, when: datetime) -> None:
        """Move to ``when``; moving backwards is refused because schedules assume monotonic time."""
        if when.tzinfo is None:
            raise ValueError("SimulatedClock.set needs a timezone-aware datetime; got a naive one")
        when = when.astimezone(UTC)
        with self._lock:
            if when < self._now:
                raise ValueError(
                    f"SimulatedClock cannot move backwards: now={self._now.isoformat()}, "
                    f"asked {when.isoformat()}"
                )
            self._now = when
        for listener in list(self._listeners):
            listener(when)

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by ``delta`` (a timedelta or seconds)."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self.set(self._now + timedelta(seconds=seconds))


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    name: str = field(compare=False)
    callback: Callable[[], object] = field(compare=False)
    interval: float | None = field(compare=False, default=None)
    cancelled: bool = field(compare=False, default=False)


class ScheduledTask:
    """Handle of a scheduled callback; ``cancel()`` stops it."""

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def name(self) -> str:
        return self._timer.name

    @property
    def due(self) -> float:
        return self._timer.due

    def cancel(self) -> None:
        self._timer.cancelled = True


class Scheduler:
    """Runs callbacks at clock times: one-shot (``call_at``/``call_later``) or periodic (``every``).

    ``run_due()`` fires what is due at the clock's current time; with a SimulatedClock it is
    called on every advance, with the SystemClock the engine calls it from a ticker task.
    Callback errors are collected in ``errors`` and never stop the scheduler.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[_Timer] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._running = False
        self.errors: list[tuple[str, BaseException]] = []
        # Tasks whose last run failed (name -> error); a later success clears the entry.
        self.failing: dict[str, BaseException] = {}
        if isinstance(clock, SimulatedClock):
            clock.on_advance(self._on_advance)

    def _on_advance(self, _now: datetime) -> None:
        self.run_due()

    def call_at(
        self, when: datetime, callback: Callable[[], object], name: str = ""
    ) -> ScheduledTask:
        timer = _Timer(when.timestamp(), next(self._seq), name or repr(callback), callback)
        with self._lock:
            heapq.heappush(self._heap, timer)
        return ScheduledTask(timer)

    def call_later(
        self, delay_seconds: float, callback: Callable[[], object], name: str = ""
    ) -> ScheduledTask:
        return self.call_at(
            self.clock.now() + timedelta(seconds=delay_seconds), callback, name=name
        )

    def every(
        self,
        interval_seconds: float,
        callback: Callable[[], object],
        name: str = "",
        first_delay: float | None = None,
    ) -> ScheduledTask:
        if interval_seconds <= 0:
            raise ValueError(
                f"Scheduler.every interval_seconds must be > 0, got {interval_seconds}"
            )
        delay = interval_seconds if first_delay is None else first_delay
        timer = _Timer(
            self.clock.time() + delay,
            next(self._seq),
            name or repr(callback),
            callback,
            interval=interval_seconds,
        )
        with self._lock:
            heapq.heappush(self._heap, timer)
        return ScheduledTask(timer)

    def next_due(self) -> float | None:
        with self._lock:
            live = [t.due for t in self._heap if not t.cancelled]
        return min(live) if live else None

    def run_due(self) -> int:
        """Fire every callback due at the current clock time; returns how many fired."""
        with self._lock:
            if self._running:  # a callback that advances the clock must not re-enter
                return 0
            self._running = True
        fired = 0
        try:
            while True:
                now = self.clock.time()
                with self._lock:
                    if not self._heap or self._heap[0].due > now:
                        break
                    timer = heapq.heappop(self._heap)
                    if timer.cancelled:
                        continue
                    if timer.interval is not None:
                        # Periodic: the next run is one interval after this due time, but a
                        # long jump of the clock runs the task once, not once per missed slot.
                        nxt = timer.due + timer.interval
                        if nxt <= now:
                            nxt = now + timer.interval
                        timer.due = nxt
                        timer.seq = next(self._seq)
                        heapq.heappush(self._heap, timer)
                try:
                    timer.callback()
                except Exception as exc:
                    self.record_failure(timer.name, exc)
                else:
                    self.record_success(timer.name)
                fired += 1
        finally:
            with self._lock:
                self._running = False
        return fired

    def record_failure(self, name: str, error: BaseException) -> None:
        """A task failed (inline or in a worker): kept in ``errors`` and in ``failing``."""
        with self._lock:
            self.errors.append((name, error))
            self.failing[name] = error

    def record_success(self, name: str) -> None:
        """A task ran cleanly: it no longer counts as failing."""
        with self._lock:
            self.failing.pop(name, None)

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for t in self._heap if not t.cancelled)
