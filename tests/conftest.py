"""Shared fixtures: data dirs, simulated clocks, PostgreSQL that fails (not skips) in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ordinis.engines.learning.core.clock import SimulatedClock

PG_URL = os.environ.get("ORDINIS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sim_clock() -> SimulatedClock:
    return SimulatedClock(datetime(2020, 1, 2, 14, 30, tzinfo=UTC))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "learning"
    d.mkdir()
    return d


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The PostgreSQL test server; in CI its absence is a failure, elsewhere a skip."""
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {PG_URL} is not reachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    yield PG_URL
