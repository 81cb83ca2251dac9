"""Fixtures of the event-pipeline tests: both stores (SQLite, PostgreSQL) and a fast config."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventStore


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    """The same contract, run against SQLite and PostgreSQL (an isolated schema per test)."""
    if request.param == "sqlite":
        sqlite = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
        sqlite.open()
        yield sqlite
        sqlite.close()
        return
    pg_url = request.getfixturevalue("pg_url")
    from ordinis.engines.learning.events.postgres_store import PostgresEventStore

    schema = f"t_events_{uuid.uuid4().hex[:12]}"
    pg = PostgresEventStore(f"{pg_url}?schema={schema}")
    pg.open()
    try:
        yield pg
    finally:
        pg.drop_schema()
        pg.close()


@pytest.fixture
def fast_config(tmp_path: Path) -> LearningEngineConfig:
    """Small buffer, quick retries; the flush interval is long so tests flush on purpose."""
    return LearningEngineConfig(
        data_dir=tmp_path,
        max_events_memory=1000,
        flush_batch_size=500,
        flush_interval_seconds=30.0,
        flush_retry_initial_seconds=0.001,
        flush_retry_max_seconds=0.01,
    )
