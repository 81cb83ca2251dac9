"""Helpers of the event-path chaos tests: events, stores that fail or stall, a script runner."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.events.store import EventRow, EventStore

T0 = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)


def event(i: int = 0, **overrides: Any) -> LearningEvent:
    """A valid signal event; ``i`` spreads timestamps one millisecond apart."""
    values: dict[str, Any] = {
        "event_type": EventType.SIGNAL_GENERATED,
        "source_engine": "signal_engine",
        "symbol": "AAPL",
        "timestamp": T0 + timedelta(milliseconds=i),
        "payload": {"i": i, "score": 0.5},
        "labels": {"strategy": "momentum"},
        "outcome": 0.01,
    }
    values.update(overrides)
    return LearningEvent(**values)


def quick_config(data_dir: Path, **overrides: Any) -> LearningEngineConfig:
    """The default buffer sizes with fast retries, a short block and short timeouts."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "flush_retry_initial_seconds": 0.001,
        "flush_retry_max_seconds": 0.01,
        "max_block_seconds": 0.2,
        "call_timeout_seconds": 0.5,
        "shutdown_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return LearningEngineConfig(**values)


class SwitchableStore:
    """Wraps a real store; ``down`` makes writes fail, ``stall`` makes them block until released."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.max_batch_rows = getattr(inner, "max_batch_rows", None)
        self.down = False
        self.stall = threading.Event()
        self.stall.set()  # set = not stalled
        self.records_down = False

    def append_events(self, rows: Sequence[EventRow]) -> int:
        self.stall.wait(30)
        if self.down:
            raise OSError("injected: database or disk is full")
        return self.inner.append_events(rows)

    def put_record(self, record: Any) -> None:
        if self.records_down:
            raise OSError("injected: records table unavailable")
        self.inner.put_record(record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def run_script(code: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (the host process), with a hard timeout."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pg_schema_url(pg_url: str) -> str:
    """A PostgreSQL store URL with an isolated schema of its own."""
    return f"{pg_url}?schema=t_chaos_{uuid.uuid4().hex[:12]}"
