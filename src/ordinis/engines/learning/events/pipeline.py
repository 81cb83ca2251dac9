"""EventPipeline: validated events -> bounded buffer -> group-committed batches in the store.

``record`` validates and serialises on the spot and appends to the buffer (no I/O, no await).
A background flusher commits the buffer as one transaction per batch in a worker thread,
every ``flush_interval_seconds`` or as soon as ``flush_batch_size`` events wait. Durable
callers (``record_durable``, ``flush``) wait for the batch that carries their events, so
one transaction serves every waiter. A failed write keeps its batch and retries it with
exponential backoff; the event id is the store's idempotency key, so a retry never
duplicates. Nothing is dropped silently: a full buffer raises BufferFullError (sync) or
waits (async), and both are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError, InvalidEventError, StoreError
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
    retries: int  # write attempts that retried a failed batch
    batches: int  # committed transactions
    last_flush_seconds: float  # wall time of the last committed batch
    oldest_buffered_age_seconds: float  # clock age of the oldest event not yet committed
    durable_waiters: int  # callers waiting for a commit
    running: bool  # the background flusher is running
    last_error: str | None  # the last store error, while the store is failing


class EventPipeline:
    """Buffer events and commit them to an EventStore in group-committed batches."""

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
        # asyncio machinery, bound to the loop that runs the pipeline
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._stop_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake_requested = False
        self._stopping = False
        self._commit_waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._space_waiters: list[asyncio.Future[None]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the background flusher (idempotent)."""
        self._bind_loop()
        if self.running:
            return
        self._stopping = False
        assert self._stop_event is not None
        self._stop_event.clear()
        self._task = asyncio.create_task(self._run(), name="learning-event-flusher")

    async def stop(self) -> None:
        """Stop the flusher and commit everything buffered.

        If the store still fails after ``stop_retries`` attempts, waiting durable callers get a
        StoreError, the events stay in the buffer (a later ``start``/``flush`` commits them)
        and StoreError is raised.
        """
        self._bind_loop()
        task = self._task
        if task is not None:
            self._stopping = True
            assert self._stop_event is not None and self._wake is not None
            self._stop_event.set()
            self._wake.set()
            await task
            self._task = None
        delay = self._retry_initial
        failures = 0
        while self._inflight or len(self._buffer):
            if await self._commit_cycle():
                continue
            failures += 1
            if failures > self.stop_retries:
                break
            await asyncio.sleep(delay)  # wall-clock pacing of a store retry (I/O, not logic)
            delay = min(delay * 2, self._retry_max)
        self._publish()
        pending = len(self._inflight) + len(self._buffer)
        if pending:
            error = StoreError(
                f"event store {self.store.url} still failing at stop ({self._last_error}); "
                f"{pending} event(s) were NOT committed and remain buffered in memory. "
                "Fix the store, then call flush() (or start() again) to commit them."
            )
            self._fail_waiters(error)
            raise error

    @property
    def running(self) -> bool:
        """True while the background flusher runs."""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------------ recording
    def record(self, event: LearningEvent) -> str:
        """Validate and buffer ``event``; returns its id. Non-blocking, never awaits.

        Raises InvalidEventError (nothing buffered) or BufferFullError (buffer at capacity;
        use ``record_async`` to wait instead). Durable once a flush has committed it.
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
            self._refused_full += 1
            self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], REFUSED_FULL)
            self._wake_flusher()
            raise BufferFullError(self._full_message())
        if size >= self._batch_size and not self._wake_requested:
            self._wake_flusher()
        return row[ROW_EVENT_ID]

    async def record_async(self, event: LearningEvent) -> str:
        """Like ``record`` but waits for buffer space instead of raising BufferFullError."""
        row = self._encode(event)
        if row is None:
            return event.event_id
        await self._put_waiting(row)
        return row[ROW_EVENT_ID]

    async def record_durable(self, event: LearningEvent) -> str:
        """Record ``event`` and return only once the store has committed it (group commit).

        Raises StoreError if the pipeline is stopped while the store is down: the event then
        stays buffered (nothing is lost) and a later flush commits it. BufferFullError only
        when no flusher runs, the buffer is full and the store refuses (event not recorded).
        Disabled types return at once and are not stored.
        """
        row = self._encode(event)
        if row is None:
            return event.event_id
        await self._put_waiting(row)
        await self._wait_committed(self._buffer.end_position)
        return row[ROW_EVENT_ID]

    async def flush(self) -> int:
        """Commit everything buffered as of this call; returns how many events that was."""
        self._bind_loop()
        start = self._committed
        target = self._buffer.end_position
        if target <= start:
            self._publish()
            return 0
        await self._wait_committed(target)
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
            retries=self._retries,
            batches=self._batches,
            last_flush_seconds=self._last_flush_seconds,
            oldest_buffered_age_seconds=self._oldest_age(),
            durable_waiters=sum(1 for _, f in self._commit_waiters if not f.done()),
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

    async def _put_waiting(self, row: EventRow) -> None:
        """Append ``row``, waiting for space while the buffer is full."""
        self._bind_loop()
        buffer = self._buffer
        waited = False
        while not (size := buffer.put(row)):
            if not waited:
                waited = True
                self._waits += 1
                self.metrics.event_buffer_waits_total.inc()
            if self.running:
                assert self._loop is not None
                fut: asyncio.Future[None] = self._loop.create_future()
                self._space_waiters.append(fut)
                self._wake_flusher()
                await fut
            elif not await self._commit_cycle():
                # no flusher to wait for and the store refuses: the event is NOT recorded
                self._refused_full += 1
                self._tally.add(row[ROW_EVENT_TYPE], row[ROW_SOURCE_ENGINE], REFUSED_FULL)
                raise BufferFullError(self._full_message())
        if size >= self._batch_size and not self._wake_requested:
            self._wake_flusher()

    async def _wait_committed(self, target: int) -> None:
        """Return once the stream up to position ``target`` is committed."""
        if self._committed >= target:
            return
        if self.running:
            assert self._loop is not None
            fut: asyncio.Future[None] = self._loop.create_future()
            self._commit_waiters.append((target, fut))
            self._wake_flusher()
            await fut
            return
        while self._committed < target:
            if not await self._commit_cycle():
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

    # ------------------------------------------------------------------ internals: flushing
    def _bind_loop(self) -> None:
        """Create the asyncio primitives for the running loop (once per loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self.running:
            raise RuntimeError("EventPipeline is running on another event loop")
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()

    def _wake_flusher(self) -> None:
        """Ask the flusher to run now; safe from any thread."""
        self._wake_requested = True
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        if threading.get_ident() == self._loop_thread:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: nothing to wake
                loop.call_soon_threadsafe(wake.set)

    def _urgent(self) -> bool:
        return (
            len(self._buffer) >= self._batch_size
            or bool(self._commit_waiters)
            or bool(self._space_waiters)
        )

    async def _run(self) -> None:
        """The flusher: commit on interval or on demand; back off exponentially on failure."""
        assert self._wake is not None and self._stop_event is not None
        wake, stop = self._wake, self._stop_event
        delay = 0.0
        while not self._stopping:
            # Wall-clock waits below pace real I/O (flush interval, retry backoff); no
            # decision of the engine depends on them.
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            elif not self._urgent() and not wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._interval)
            wake.clear()
            self._wake_requested = False
            if self._stopping:
                break
            try:
                ok = await self._commit_cycle()
            except Exception:  # a bug must not silently stop the flusher: log, back off, go on
                _log.exception("event flusher cycle failed")
                ok = False
            if ok:
                delay = 0.0
            else:
                delay = self._retry_initial if delay == 0 else min(delay * 2, self._retry_max)

    async def _commit_cycle(self) -> bool:
        """Write the in-flight batch (or take a new one); False if the store failed."""
        assert self._lock is not None
        async with self._lock:
            if self._inflight:
                self._retries += 1
            else:
                if not len(self._buffer):
                    self._publish()
                    return True
                self._inflight_since = self._buffer.oldest_since
                self._inflight = self._buffer.take(self._max_batch_rows)
                self._release_space_waiters()
            batch = self._inflight
            started = time.perf_counter()  # measures I/O duration for the histogram only
            try:
                with span(self.metrics.tracer, "learning.events.flush", events=len(batch)) as sp:
                    inserted, by_key = await asyncio.to_thread(_write_batch, self.store, batch)
                    sp.set_attribute(ATTR_INSERTED, inserted)
            except Exception as exc:  # kept and retried; reported in stats
                self._flush_failures += 1
                self._failing = True
                self._last_error = f"{type(exc).__name__}: {exc}"
                self.metrics.event_store_errors_total.labels("append_events").inc()
                self._publish()
                return False
            elapsed = time.perf_counter() - started
            self._inflight = []
            self._inflight_since = None
            self._failing = False
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
            self._resolve_waiters()
            self._publish()
            return True

    def _release_space_waiters(self) -> None:
        waiters, self._space_waiters = self._space_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _resolve_waiters(self) -> None:
        waiters, committed = self._commit_waiters, self._committed
        while waiters and waiters[0][0] <= committed:
            _, fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    def _fail_waiters(self, error: BaseException) -> None:
        while self._commit_waiters:
            _, fut = self._commit_waiters.popleft()
            if not fut.done():
                fut.set_exception(error)
        waiters, self._space_waiters = self._space_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_exception(error)

    def _publish(self) -> None:
        """Push the batched counts and gauges to Prometheus (off the hot path)."""
        m = self.metrics
        for (event_type, source, status), n in self._tally.drain().items():
            m.events_total.labels(event_type, source, status).inc(n)
        m.event_buffer_size_child.set(len(self._buffer) + len(self._inflight))
        m.event_flush_lag.set(self._oldest_age())

    def _oldest_age(self) -> float:
        if self._inflight and self._inflight_since is not None:
            return max(0.0, self.clock.monotonic() - self._inflight_since)
        return self._buffer.oldest_age()

    def _full_message(self) -> str:
        cap = self._buffer.capacity
        store_note = (
            f" The store is failing ({self._last_error}); events are kept and retried."
            if self._failing
            else ""
        )
        return (
            f"event buffer is full ({cap} events waiting for the store, "
            f"max_events_memory={cap}); this event was NOT recorded. Use "
            "`await record_event_async(...)` to wait for space, call flush_events() more "
            f"often, or raise max_events_memory.{store_note}"
        )

    def _store_down_message(self) -> str:
        return (
            f"event store {self.store.url} failed ({self._last_error}); the events stay "
            "buffered and will be retried by the next flush"
        )


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
