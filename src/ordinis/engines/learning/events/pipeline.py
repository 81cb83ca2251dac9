"""EventPipeline: validated events -> bounded buffer -> group-committed batches in the store.

``record`` validates and serialises on the spot and appends to the buffer (no I/O, no await).
A writer thread of its own (independent of the host's event loop) commits the buffer as one
transaction per batch, every ``flush_interval_seconds`` or as soon as ``flush_batch_size``
events wait. Durable callers (``record_durable``, ``flush``) wait, for a bounded time, for the
batch that carries their events, so one transaction serves every waiter. A failed write keeps
its batch and retries it with exponential backoff; the event id is the store's idempotency
key, so a retry never duplicates. Nothing is dropped silently: a full buffer blocks a sync
caller for at most ``max_block_seconds`` then raises BufferFullError, an async caller waits
(bounded), and both are counted. An exit hook commits what is buffered if the host exits
without stopping the pipeline.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    BufferFullError,
    CallTimeoutError,
    InvalidEventError,
    StoreError,
)
from ordinis.engines.learning.core.models import EVENT_TYPE_VALUES, EventType, LearningEvent
from ordinis.engines.learning.events.buffer import (
    DISABLED,
    REFUSED_FULL,
    REJECTED,
    STORED,
    EventBuffer,
    OutcomeTally,
)
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.json_rows import rows_from_json
from ordinis.engines.learning.events.store import (
    ROW_EVENT_ID,
    ROW_EVENT_TYPE,
    ROW_SOURCE_ENGINE,
    ROW_SYMBOL,
    ROW_TS_US,
    EventQuery,
    EventRow,
    EventStore,
    row_to_event,
    to_us,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import ATTR_INSERTED, span

_TYPE_AND_SOURCE = itemgetter(ROW_EVENT_TYPE, ROW_SOURCE_ENGINE)
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class PipelineStats:
    """A snapshot of the pipeline's counters (all counts since construction)."""

    buffered: int  # waiting for the store: in the buffer plus the batch being committed
    in_flight: int  # the batch being committed (or retried after a failure)
    capacity: int  # max_events_memory
    committed: int  # events whose batch the store committed (duplicates included)
    stored_new: int  # rows the store newly inserted
    duplicates: int  # committed events whose id was already stored (idempotent retries)
    refused_full: int  # record() calls refused with BufferFullError
    rejected_invalid: int  # events refused by validation
    disabled_skipped: int  # events of a disabled type: counted, not stored
    waits: int  # record_async/record_durable calls that had to wait for space
    flush_failures: int  # failed store writes
    consecutive_flush_failures: int  # failed writes since the last commit (0 when healthy)
    retries: int  # write attempts that retried a failed batch
    batches: int  # committed transactions
    last_flush_seconds: float  # wall time of the last committed batch
    oldest_buffered_age_seconds: float  # clock age of the oldest event not yet committed
    durable_waiters: int  # callers waiting for a commit
    running: bool  # the background flusher is running
    last_error: str | None  # the last store error, while the store is failing


class EventPipeline:
    """Buffer events and commit them to an EventStore in group-committed batches.

    The writer is a thread of its own: it drains the buffer whatever the host's event loop
    is doing (a synchronous burst, a blocked or dead loop). Async callers wait on futures of
    their own loop, resolved by the writer; nothing here is an asyncio task.
    """

    def __init__(
        self,
        store: EventStore,
        config: LearningEngineConfig,
        clock: Clock,
        metrics: LearningMetrics,
        disabled_types: frozenset[EventType] = frozenset(),
        stop_retries: int = 3,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.metrics = metrics
        self.disabled_types = disabled_types
        self.stop_retries = stop_retries
        self._disabled_values = frozenset(EventType(t).value for t in disabled_types)
        self._max_payload = config.max_payload_bytes
        self._batch_size = config.flush_batch_size
        # rows per commit the store does best in one statement (None: any number)
        self._max_batch_rows: int | None = getattr(store, "max_batch_rows", None)
        self._interval = config.flush_interval_seconds
        self._retry_initial = config.flush_retry_initial_seconds
        self._retry_max = config.flush_retry_max_seconds
        self._max_block = config.max_block_seconds
        self._call_timeout = config.call_timeout_seconds
        self._buffer = EventBuffer(config.max_events_memory, clock)
        self._tally = OutcomeTally()
        # the batch being written; kept across failures until a write succeeds
        self._inflight: list[EventRow] = []
        self._inflight_since: float | None = None
        # counters
        self._committed = 0
        self._stored_new = 0
        self._refused_full = 0
        self._rejected = 0
        self._disabled = 0
        self._waits = 0
        self._flush_failures = 0
        self._retries = 0
        self._batches = 0
        self._last_flush_seconds = 0.0
        self._last_error: str | None = None
        self._failing = False
        self._consecutive_failures = 0  # failed writes since the last commit (health signal)
        # the writer thread and what it shares with callers
        self._writer: threading.Thread | None = None
        self._wake = threading.Event()  # work waits (or a caller is waiting)
        self._halt = threading.Event()  # stop: interrupts a retry backoff
        self._wake_requested = False
        self._stopping = False
        self._commit_lock = threading.Lock()  # one commit cycle at a time, any thread
        self._waiters_lock = threading.Lock()
        self._space = threading.Condition(threading.Lock())  # sync producers blocked on full
        self._commit_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._space_waiters: list[asyncio.Future[None]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the writer thread (idempotent) and the exit hook that commits at exit."""
        self.start_writer()

    def start_writer(self) -> None:
        """Start the writer thread; safe from any thread and idempotent."""
        if self.running:
            return
        self._stopping = False
        self._halt.clear()
        self._writer = threading.Thread(
            target=self._writer_loop, name="learning-event-writer", daemon=True
        )
        self._writer.start()
        _LIVE.add(self)

    async def stop(self, timeout: float | None = None) -> None:
        """Stop the writer and commit everything buffered, waiting at most ``timeout`` seconds.

        If the store still fails after ``stop_retries`` attempts (or the time is up), waiting
        durable callers get a StoreError, the events stay buffered (call ``stop()`` again,
        ``flush()`` or ``start()`` to commit them) and StoreError is raised.
        """
        limit = self.config.shutdown_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + limit  # wall-clock bound of real I/O
        writer = self._writer
        if writer is not None:
            self._stopping = True
            self._halt.set()
            self._wake.set()
            await asyncio.to_thread(writer.join, max(0.0, deadline - time.monotonic()))
            if writer.is_alive():
                error = StoreError(
                    f"event writer still committing to {self.store.url} after {limit:g} s "
                    f"(shutdown_timeout_seconds); {self._pending()} event(s) are NOT committed "
                    "yet and stay buffered. Call shutdown()/stop() again to wait longer."
                )
                raise error
            self._writer = None
        failures = 0
        delay = self._retry_initial
        while self._pending() and time.monotonic() < deadline:
            if await asyncio.to_thread(self._commit_cycle):
                continue
            failures += 1
            if failures > self.stop_retries:
                break
            await asyncio.sleep(delay)  # wall-clock pacing of a store retry (I/O, not logic)
            delay = min(delay * 2, self._retry_max)
        self._publish()
        pending = self._pending()
        if pending:
            error = StoreError(
                f"event store {self.store.url} still failing at stop ({self._last_error}); "
                f"{pending} event(s) were NOT committed and remain buffered in memory. "
                "Fix the store, then call stop()/shutdown() again (or flush()) to commit them."
            )
            self._fail_waiters(error)
            raise error
        self._forget_at_exit()

    @property
    def running(self) -> bool:
        """True while the writer thread runs."""
        writer = self._writer
        return writer is not None and writer.is_alive() and not self._stopping

    def _forget_at_exit(self) -> None:
        _LIVE.discard(self)

    def _at_exit(self) -> None:
        """Interpreter exit without a clean stop: commit what is buffered, in bounded time."""
        deadline = time.monotonic() + self.config.exit_flush_timeout_seconds
        writer = self._writer
        if writer is not None and writer.is_alive():
            self._stopping = True
            self._halt.set()
            self._wake.set()
            writer.join(max(0.0, deadline - time.monotonic()))
        while self._pending() and time.monotonic() < deadline:
            if not self._commit_cycle():
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        left = self._pending()
        if left:
            _log.error(
                "exit: %d buffered event(s) could not be committed to %s (%s)",
                left, self.store.url, self._last_error,
            )

    # ------------------------------------------------------------------ recording
    def record(self, event: LearningEvent) -> str:
        """Validate and buffer ``event``; returns its id. Never awaits, never does I/O.

        When the buffer is full it blocks for at most ``max_block_seconds`` while the writer
        thread drains, then raises BufferFullError (the event is NOT recorded). Raises
        InvalidEventError (nothing buffered) for a bad event.
        """
        try:
            row = encode_event(event, self._max_payload)
        except InvalidEventError:
            self._count_rejected(event)
            raise
        if self._disabled_values and row[ROW_EVENT_TYPE] in self._disabled_values:
            self._disabled += 1
            self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], DISABLED)
            return row[ROW_EVENT_ID]
        size = self._buffer.put(row)
        if not size:
            size = self._block_for_space(row)
            if not size:
                self._refused_full += 1
                self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], REFUSED_FULL)
                raise BufferFullError(self._full_message())
        if size >= self._batch_size and not self._wake_requested:
            self._wake_requested = True
            self._wake.set()
        return row[ROW_EVENT_ID]

    async def record_async(self, event: LearningEvent, timeout: float | None = None) -> str:
        """Like ``record`` but awaits buffer space (at most ``timeout`` s) instead of blocking."""
        row = self._encode(event)
        if row is None:
            return event.event_id
        await self._put_waiting(row, self._deadline(timeout))
        return row[ROW_EVENT_ID]

    async def record_durable(self, event: LearningEvent, timeout: float | None = None) -> str:
        """Record ``event`` and return once the store has committed it (group commit).

        Waits at most ``timeout`` seconds (default ``call_timeout_seconds``), then raises
        CallTimeoutError: the event then stays buffered and is committed later (a retry with
        the same event id never duplicates). StoreError if the pipeline stops while the store
        is down (the event stays buffered). Disabled types return at once, not stored.
        """
        row = self._encode(event)
        if row is None:
            return event.event_id
        deadline = self._deadline(timeout)
        await self._put_waiting(row, deadline)
        await self._wait_committed(self._buffer.end_position, deadline)
        return row[ROW_EVENT_ID]

    async def record_json(
        self, items: list[Any], now: datetime, timeout: float | None = None
    ) -> list[str]:
        """Buffer events given as decoded JSON objects, encoded straight to rows (no
        LearningEvent each); returns their ids. InvalidEventError (nothing buffered) names
        each bad event's index and field; awaits buffer space at most ``timeout`` seconds."""
        rows, problems = rows_from_json(items, self._max_payload, now)
        if problems:
            self._rejected += 1
            self._tally.add("invalid", "invalid", REJECTED)
            raise InvalidEventError("events", problems)
        buffer, disabled = self._buffer, self._disabled_values
        kept = rows
        if disabled:
            kept = []
            for row in rows:
                if row[ROW_EVENT_TYPE] in disabled:
                    self._disabled += 1
                    self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], DISABLED)
                else:
                    kept.append(row)
        placed = buffer.put_many(kept)  # the whole batch at once while there is room
        if placed < len(kept):
            deadline = self._deadline(timeout)
            for row in kept[placed:]:
                await self._put_waiting(row, deadline)
        size = len(buffer)
        if size >= self._batch_size and not self._wake_requested:
            self._wake_requested = True
            self._wake.set()
        return [row[ROW_EVENT_ID] for row in rows]

    async def flush(self, timeout: float | None = None) -> int:
        """Commit everything buffered as of this call; returns how many events that was.

        Waits at most ``timeout`` seconds (default ``call_timeout_seconds``), then raises
        CallTimeoutError; the events stay buffered and the writer keeps committing them.
        """
        start = self._committed
        target = self._buffer.end_position
        if target <= start:
            self._publish()
            return 0
        await self._wait_committed(target, self._deadline(timeout))
        return target - start

    # ------------------------------------------------------------------ reading
    def query(self, q: EventQuery, include_buffered: bool = False) -> list[LearningEvent]:
        """Events from the store (committed only, by default).

        With ``include_buffered=True`` matching events still waiting in memory are merged in
        (deduplicated by id, same order and limit) for read-your-writes without a flush.
        """
        events = self.store.query_events(q)
        if not include_buffered:
            return events
        pending = [r for r in (*self._inflight, *self._buffer.snapshot()) if _matches(r, q)]
        if not pending:
            return events
        seen = {e.event_id for e in events}
        merged = events + [row_to_event(*r) for r in pending if r[ROW_EVENT_ID] not in seen]
        merged.sort(key=lambda e: (e.timestamp, e.event_id), reverse=q.descending)
        # a buffered duplicate of a buffered id keeps its first copy
        unique: dict[str, LearningEvent] = {}
        for e in merged:
            unique.setdefault(e.event_id, e)
        out = list(unique.values())
        return out if q.limit is None else out[: q.limit]

    def stats(self) -> PipelineStats:
        """Counters and gauges of the pipeline right now."""
        inflight = len(self._inflight)
        with self._waiters_lock:
            durable = sum(1 for _, f in self._commit_waiters if not f.done())
        return PipelineStats(
            buffered=len(self._buffer) + inflight,
            in_flight=inflight,
            capacity=self._buffer.capacity,
            committed=self._committed,
            stored_new=self._stored_new,
            duplicates=self._committed - self._stored_new,
            refused_full=self._refused_full,
            rejected_invalid=self._rejected,
            disabled_skipped=self._disabled,
            waits=self._waits,
            flush_failures=self._flush_failures,
            consecutive_flush_failures=self._consecutive_failures,
            retries=self._retries,
            batches=self._batches,
            last_flush_seconds=self._last_flush_seconds,
            oldest_buffered_age_seconds=self._oldest_age(),
            durable_waiters=durable,
            running=self.running,
            last_error=self._last_error if self._failing else None,
        )

    # ------------------------------------------------------------------ internals: intake
    def _encode(self, event: LearningEvent) -> EventRow | None:
        """Encode, counting rejections; None for a disabled type (counted, not stored)."""
        try:
            row = encode_event(event, self._max_payload)
        except InvalidEventError:
            self._count_rejected(event)
            raise
        if self._disabled_values and row[ROW_EVENT_TYPE] in self._disabled_values:
            self._disabled += 1
            self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], DISABLED)
            return None
        return row

    def _deadline(self, timeout: float | None) -> float:
        """The wall-clock instant a bounded call gives up (I/O pacing, not engine logic)."""
        limit = self._call_timeout if timeout is None else timeout
        if limit <= 0:
            raise ValueError(f"timeout={timeout!r}: must be > 0 seconds")
        return time.monotonic() + limit

    def _block_for_space(self, row: EventRow) -> int:
        """Block the calling thread (at most max_block_seconds) until ``row`` fits; 0 if not."""
        if self._max_block <= 0 or not self.running:
            return 0
        self._waits += 1
        self.metrics.event_buffer_waits_total.inc()
        deadline = time.monotonic() + self._max_block
        space, buffer = self._space, self._buffer
        with space:
            while not (size := buffer.put(row)):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    return 0
                self._wake.set()
                space.wait(min(remaining, 0.05))
        return size

    async def _put_waiting(self, row: EventRow, deadline: float) -> None:
        """Append ``row``, awaiting space while the buffer is full, until ``deadline``."""
        buffer = self._buffer
        waited = False
        while not (size := buffer.put(row)):
            if not waited:
                waited = True
                self._waits += 1
                self.metrics.event_buffer_waits_total.inc()
            if self.running:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                with self._waiters_lock:
                    self._space_waiters.append(fut)
                if (size := buffer.put(row)):  # space appeared while registering
                    fut.cancel()
                    break
                self._wake.set()
                remaining = deadline - time.monotonic()
                try:
                    async with asyncio.timeout(max(remaining, 0.0)):
                        await fut
                except TimeoutError:
                    self._refused_full += 1
                    self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], REFUSED_FULL)
                    raise CallTimeoutError(
                        f"event {row[ROW_EVENT_ID]!r} was NOT recorded: the buffer stayed full "
                        f"({buffer.capacity} events) until the call's timeout. "
                        + self._store_note() + "Retry with the same event id, pass a larger "
                        "timeout= or raise call_timeout_seconds."
                    ) from None
            elif not await asyncio.to_thread(self._commit_cycle):
                # no writer to wait for and the store refuses: the event is NOT recorded
                self._refused_full += 1
                self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], REFUSED_FULL)
                raise BufferFullError(self._full_message())
        if size >= self._batch_size and not self._wake_requested:
            self._wake_requested = True
            self._wake.set()

    async def _wait_committed(self, target: int, deadline: float) -> None:
        """Return once the stream up to position ``target`` is committed, or time out."""
        if self._committed >= target:
            return
        if self.running:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            with self._waiters_lock:
                self._commit_waiters.append((target, fut))
            if self._committed >= target:  # committed while registering
                return
            self._wake.set()
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                    await fut
            except TimeoutError:
                raise CallTimeoutError(
                    f"events were not committed to {self.store.url} within the call's timeout; "
                    f"{self._pending()} event(s) stay buffered and the writer keeps committing "
                    "them. " + self._store_note() + "Pass a larger timeout= or raise "
                    "call_timeout_seconds."
                ) from None
            return
        while self._committed < target:
            if time.monotonic() >= deadline:
                raise CallTimeoutError(
                    f"events were not committed to {self.store.url} within the call's timeout "
                    f"({self._pending()} stay buffered). " + self._store_note()
                )
            if not await asyncio.to_thread(self._commit_cycle):
                raise StoreError(self._store_down_message())

    def _count_rejected(self, event: object) -> None:
        self._rejected += 1
        et = getattr(event, "event_type", None)
        src = getattr(event, "source_engine", None)
        et_label = et if isinstance(et, str) and et in EVENT_TYPE_VALUES else "invalid"
        if isinstance(et, EventType):
            et_label = et.value
        src_label = src if isinstance(src, str) and 0 < len(src) <= 64 else "invalid"
        self._tally.add(et_label, src_label, REJECTED)

    # ------------------------------------------------------------------ internals: the writer
    def _pending(self) -> int:
        return len(self._inflight) + len(self._buffer)

    def _urgent(self) -> bool:
        return (
            len(self._buffer) >= self._batch_size
            or bool(self._commit_waiters)
            or bool(self._space_waiters)
        )

    def _writer_loop(self) -> None:
        """The writer thread: commit on interval or on demand, back off on failure, drain."""
        wake, halt = self._wake, self._halt
        delay = 0.0
        while not self._stopping:
            # Wall-clock waits pace real I/O (flush interval, retry backoff); no decision of
            # the engine depends on them.
            if delay:
                halt.wait(delay)
            elif not self._urgent() and not wake.is_set():
                wake.wait(self._interval)
            wake.clear()
            self._wake_requested = False
            if self._stopping:
                break
            if self._commit_cycle():
                delay = 0.0
            else:
                delay = self._retry_initial if delay == 0 else min(delay * 2, self._retry_max)
        failures = 0
        delay = self._retry_initial
        while self._pending():
            if self._commit_cycle():
                continue
            failures += 1
            if failures > self.stop_retries:
                break
            time.sleep(delay)  # wall-clock pacing of a store retry (I/O, not logic)
            delay = min(delay * 2, self._retry_max)

    def _commit_cycle(self) -> bool:
        """Write the in-flight batch (or take a new one); False if the store failed. Any thread."""
        try:
            with self._commit_lock:
                return self._commit_locked()
        except Exception:  # a bug must not silently stop the writer: log, back off, go on
            _log.exception("event writer cycle failed")
            return False

    def _commit_locked(self) -> bool:
        if self._inflight:
            self._retries += 1
        else:
            if not len(self._buffer):
                self._publish()
                self._resolve_waiters()
                return True
            self._inflight_since = self._buffer.oldest_since
            self._inflight = self._buffer.take(self._max_batch_rows)
            self._release_space()
        batch = self._inflight
        started = time.perf_counter()  # measures I/O duration for the histogram only
        try:
            with span(self.metrics.tracer, "learning.events.flush", events=len(batch)) as sp:
                inserted, by_key = _write_batch(self.store, batch)
                sp.set_attribute(ATTR_INSERTED, inserted)
        except Exception as exc:  # kept and retried; reported in stats
            self._flush_failures += 1
            self._consecutive_failures += 1
            self._failing = True
            self._last_error = f"{type(exc).__name__}: {exc}"
            self.metrics.event_store_errors_total.labels("append_events").inc()
            self._publish()
            return False
        elapsed = time.perf_counter() - started
        self._inflight = []
        self._inflight_since = None
        self._failing = False
        self._consecutive_failures = 0
        self._committed += len(batch)
        self._stored_new += inserted
        self._batches += 1
        self._last_flush_seconds = elapsed
        events_total = self.metrics.events_total
        types: set[str] = set()
        for (event_type, source), n in by_key.items():
            events_total.labels(event_type, source, STORED).inc(n)
            types.add(event_type)
        duration = self.metrics.event_processing_duration
        for event_type in types:
            duration.labels(event_type).observe(elapsed)
        # Counts first: a flush that returns sees every outcome recorded before it.
        self._publish()
        self._resolve_waiters()
        return True

    def _release_space(self) -> None:
        """Wake producers waiting for space (sync ones and async futures)."""
        with self._space:
            self._space.notify_all()
        with self._waiters_lock:
            waiters, self._space_waiters = self._space_waiters, []
        for fut in waiters:
            _settle(fut, None)

    def _resolve_waiters(self) -> None:
        committed = self._committed
        with self._waiters_lock:
            ready = [f for t, f in self._commit_waiters if t <= committed]
            if ready:
                self._commit_waiters = [
                    (t, f) for t, f in self._commit_waiters if t > committed and not f.done()
                ]
        for fut in ready:
            _settle(fut, None)

    def _fail_waiters(self, error: BaseException) -> None:
        with self._waiters_lock:
            waiters = [f for _, f in self._commit_waiters] + self._space_waiters
            self._commit_waiters, self._space_waiters = [], []
        for fut in waiters:
            _settle(fut, error)

    def _publish(self) -> None:
        """Push the batched counts and gauges to Prometheus (off the hot path)."""
        m = self.metrics
        for (event_type, source, status), n in self._tally.drain().items():
            m.events_total.labels(event_type, source, status).inc(n)
        m.event_buffer_size_child.set(len(self._buffer) + len(self._inflight))
        m.event_flush_lag.set(self._oldest_age())

    def _oldest_age(self) -> float:
        since = self._inflight_since
        if self._inflight and since is not None:
            return max(0.0, self.clock.monotonic() - since)
        return self._buffer.oldest_age()

    def _store_note(self) -> str:
        if self._failing:
            return f"The store is failing ({self._last_error}); events are kept and retried. "
        return ""

    def _full_message(self) -> str:
        cap = self._buffer.capacity
        return (
            f"event buffer is full ({cap} events waiting for the store, "
            f"max_events_memory={cap}) after waiting max_block_seconds={self._max_block:g}; "
            "this event was NOT recorded. Use `await record_event_async(...)` to wait for "
            "space, raise max_block_seconds or max_events_memory. " + self._store_note()
        ).rstrip()

    def _store_down_message(self) -> str:
        return (
            f"event store {self.store.url} failed ({self._last_error}); the events stay "
            "buffered and will be retried by the next flush"
        )


_LIVE: weakref.WeakSet[EventPipeline] = weakref.WeakSet()
"""Pipelines started and not cleanly stopped: the exit hook commits their buffers."""


@atexit.register
def _commit_all_at_exit() -> None:
    """Interpreter exit: each pipeline never stopped commits what it holds (bounded)."""
    for pipeline in list(_LIVE):
        try:
            pipeline._at_exit()
        except Exception:  # one failing store must not keep the others from committing
            _log.exception("exit hook of the event pipeline failed")


def _settle(fut: asyncio.Future[None], error: BaseException | None) -> None:
    """Resolve ``fut`` from any thread, on its own loop; a closed loop is left alone."""

    def settle() -> None:
        if fut.done():
            return
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)

    loop = fut.get_loop()
    try:
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed meanwhile: nobody waits any more
        pass


def _write_batch(
    store: EventStore, batch: Sequence[EventRow]
) -> tuple[int, Counter[tuple[str, str]]]:
    """Worker-thread side of a commit: one transaction, then per-label counts for metrics."""
    inserted = store.append_events(batch)
    return inserted, Counter(map(_TYPE_AND_SOURCE, batch))


def _matches(row: EventRow, q: EventQuery) -> bool:
    types = {t.value for t in q.event_types}
    if q.event_type is not None:
        types.add(q.event_type.value)
    if types and row[ROW_EVENT_TYPE] not in types:
        return False
    if q.symbol is not None and row[ROW_SYMBOL] != q.symbol:
        return False
    if q.source_engine is not None and row[ROW_SOURCE_ENGINE] != q.source_engine:
        return False
    if q.start is not None and row[ROW_TS_US] < to_us(q.start):
        return False
    return not (q.end is not None and row[ROW_TS_US] >= to_us(q.end))
