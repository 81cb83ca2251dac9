"""Helpers of the event-pipeline tests: sample events and a fault-injecting store wrapper."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventRow, EventStore

T0 = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)


def make_event(i: int = 0, **overrides: Any) -> LearningEvent:
    """A valid signal event; ``i`` spreads timestamps one second apart."""
    values: dict[str, Any] = {
        "event_type": EventType.SIGNAL_GENERATED,
        "source_engine": "signal_engine",
        "symbol": "AAPL",
        "timestamp": T0 + timedelta(seconds=i),
        "payload": {"i": i, "score": 0.5 + i / 1000, "features": [0.1, 0.2]},
        "labels": {"strategy": "momentum"},
        "outcome": 0.01 * (i % 7),
    }
    values.update(overrides)
    return LearningEvent(**values)


class FlakyStore:
    """Wraps a real store; ``append_events`` fails on demand, before or after committing.

    ``fail_before`` = n: the next n writes raise without writing. ``fail_after`` = n: the next
    n writes commit and then raise (a lost acknowledgement), to prove retries never duplicate.
    """

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.fail_before = 0
        self.fail_after = 0
        self.down = False  # fail every write while True
        self.append_calls = 0
        self.committed_batches: list[int] = []
        self._lock = threading.Lock()

    def append_events(self, rows: Sequence[EventRow]) -> int:
        with self._lock:
            self.append_calls += 1
            if self.down:
                raise OSError("injected: store is down")
            if self.fail_before > 0:
                self.fail_before -= 1
                raise OSError("injected: write failed before commit")
            inserted = self.inner.append_events(rows)
            if self.fail_after > 0:
                self.fail_after -= 1
                raise OSError("injected: connection lost after commit")
            self.committed_batches.append(len(rows))
            return inserted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def raw_execute(store: EventStore, statement: str) -> None:
    """Run SQL on the store's database behind its back (to prove what the schema refuses)."""
    if isinstance(store, SQLiteEventStore):
        conn = sqlite3.connect(str(store.path), isolation_level=None)
        try:
            conn.execute(statement)
        finally:
            conn.close()
        return
    import psycopg

    schema = store.schema  # type: ignore[attr-defined]
    with psycopg.connect(store._conninfo, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(statement)
