"""The bounded in-memory FIFO of encoded events: the synchronous, lock-free half of the pipeline.

No asyncio and no I/O here. ``put`` is called on the hot path (any thread; deque appends are
atomic under the GIL), ``take`` only by the pipeline's flusher on the event-loop thread.
Positions are counted so that a waiter can ask "has everything up to here been committed?".
"""

from __future__ import annotations

import threading
from collections import Counter, deque

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.events.store import EventRow

# Status label values of learning_events_total.
STORED = "stored"
REJECTED = "rejected"
DISABLED = "disabled"
REFUSED_FULL = "refused_full"


class EventBuffer:
    """A FIFO of at most ``capacity`` rows; ``put`` refuses (returns False) when full."""

    __slots__ = ("_clock", "_rows", "capacity", "oldest_since", "taken_total")

    def __init__(self, capacity: int, clock: Clock) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity}: must be >= 1")
        self.capacity = capacity
        self._clock = clock
        self._rows: deque[EventRow] = deque()
        self.taken_total = 0  # rows ever handed to the flusher (its position in the stream)
        self.oldest_since: float | None = None  # clock.monotonic() when the oldest row arrived

    def put(self, row: EventRow) -> int:
        """Append ``row`` and return the new size; 0 (nothing changed) when the buffer is full."""
        rows = self._rows
        n = len(rows)
        if n >= self.capacity:
            return 0
        if n == 0:
            self.oldest_since = self._clock.monotonic()
        rows.append(row)
        return n + 1

    def put_many(self, rows: list[EventRow]) -> int:
        """Append as many of ``rows`` as fit, in order (one ``extend``: a batch's rows at
        once); returns how many were appended (0 when the buffer is full)."""
        buffered = self._rows
        n = len(buffered)
        room = self.capacity - n
        if room <= 0 or not rows:
            return 0
        if n == 0:
            self.oldest_since = self._clock.monotonic()
        if room >= len(rows):
            buffered.extend(rows)
            return len(rows)
        buffered.extend(rows[:room])
        return room

    def take(self, max_rows: int | None = None) -> list[EventRow]:
        """Remove and return the oldest rows (all of them by default), in arrival order."""
        rows = self._rows
        n = len(rows) if max_rows is None else min(max_rows, len(rows))
        popleft = rows.popleft
        out = [popleft() for _ in range(n)]
        self.taken_total += n
        # Rows appended meanwhile (other threads) are younger than anything taken.
        self.oldest_since = self._clock.monotonic() if rows else None
        return out

    def snapshot(self) -> list[EventRow]:
        """A copy of what is buffered now (for queries that include unflushed events)."""
        return list(self._rows)

    @property
    def end_position(self) -> int:
        """Stream position just after the newest buffered row."""
        return self.taken_total + len(self._rows)

    @property
    def full(self) -> bool:
        return len(self._rows) >= self.capacity

    def __len__(self) -> int:
        return len(self._rows)

    def oldest_age(self) -> float:
        """Seconds (clock time) the oldest buffered row has waited; 0 when empty."""
        since = self.oldest_since
        if since is None or not self._rows:
            return 0.0
        return max(0.0, self._clock.monotonic() - since)


class OutcomeTally:
    """Counts by (event_type, source_engine, status), kept cheaply between metric pushes.

    Producers add on any thread while the writer thread drains; the lock keeps an add that
    races a drain from landing in a counter already handed over (a lost count). Only the
    rare outcomes (rejected, disabled, refused) pass here, so the lock is off the hot path.
    """

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, event_type: str, source_engine: str, status: str, n: int = 1) -> None:
        with self._lock:
            self._counts[(event_type, source_engine, status)] += n

    def drain(self) -> Counter[tuple[str, str, str]]:
        """Return the counts so far and start again from zero."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts
