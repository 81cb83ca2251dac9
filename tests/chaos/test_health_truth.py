"""Health tells the truth: real signals, a grace period for the store, each cause named once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from ownership_helpers import engine_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import cli
from server_helpers import live_server

from ordinis.engines.learning import LearningEngine
from ordinis.engines.learning.api.app import create_app
from ordinis.engines.learning.core.clock import Scheduler, SimulatedClock
from ordinis.engines.learning.core.models import EventType, HealthLevel, LearningEvent
from ordinis.engines.learning.observability.health import (
    HealthSignals,
    StoreReachability,
    assess,
)

T_DISK = datetime(2024, 5, 1, tzinfo=UTC)
OK = HealthSignals(
    store_error=None, store_down_seconds=0.0, consecutive_flush_failures=0, flush_error=None,
    flush_lag_seconds=0.0, buffered=0, capacity=10_000, signals_allowed=True, signals_reason="",
)


def test_all_quiet_is_healthy() -> None:
    assert assess(OK) == (HealthLevel.HEALTHY, [])


def test_failing_flushes_degrade_then_make_unhealthy() -> None:
    full = "OperationalError: database or disk is full"
    level, causes = assess(replace(OK, consecutive_flush_failures=1, flush_error=full))
    assert level is HealthLevel.DEGRADED
    assert causes == [f"1 consecutive event flush failure(s) ({full})"]
    level, causes = assess(replace(OK, consecutive_flush_failures=5, flush_error=full))
    assert level is HealthLevel.UNHEALTHY and "disk is full" in causes[0]
    level, _ = assess(replace(OK, flush_lag_seconds=301.0))
    assert level is HealthLevel.UNHEALTHY


def test_store_reachability_has_a_grace_period_on_the_clock() -> None:
    clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    reach = StoreReachability()
    down = reach.observe(False, clock.now())
    level, causes = assess(replace(OK, store_error="connection terminated",
                                   store_down_seconds=down))
    assert level is HealthLevel.DEGRADED and "grace 30 s" in causes[0]
    clock.advance(timedelta(seconds=31))
    down = reach.observe(False, clock.now())
    assert assess(replace(OK, store_error="x", store_down_seconds=down))[0] is (
        HealthLevel.UNHEALTHY
    )
    assert reach.observe(True, clock.now()) == 0.0  # back: the grace starts again next time
    assert reach.observe(False, clock.now()) == 0.0


def test_a_blocked_signal_path_is_named_once() -> None:
    reason = "signals blocked: signal_engine: 5 consecutive losses"
    _, causes = assess(replace(OK, signals_allowed=False, signals_reason=reason))
    assert causes == ["signals blocked: signal_engine: 5 consecutive losses"]


def test_a_scheduled_task_that_recovers_leaves_health() -> None:
    clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    sched = Scheduler(clock)
    outcomes = [RuntimeError("store locked"), None]

    def task() -> None:
        err = outcomes.pop(0)
        if err is not None:
            raise err

    sched.every(60, task, name="drift-check")
    clock.advance(61)
    failing = {name: str(err) for name, err in sched.failing.items()}
    level, causes = assess(replace(OK, failing_tasks=failing))
    assert level is HealthLevel.DEGRADED and "drift-check" in causes[0]
    clock.advance(60)
    assert sched.failing == {} and assess(replace(OK, failing_tasks={}))[0] is (
        HealthLevel.HEALTHY
    )
    assert len(sched.errors) == 1  # the history is kept; health looks at the present


# ---------------------------------------------------------------------------- a full disk, for real


def _mount_tmpfs(path: Path, size: str) -> bool:
    """Mount a small tmpfs at ``path`` (root only); False when this machine cannot."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs of 8 MiB to fill (root only: CI fails without it, elsewhere skips)."""
    path = tmp_path / "disk"
    if not _mount_tmpfs(path, "8m"):
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: the full disk must be made with a tmpfs")
        pytest.skip("making a full disk needs root (mount -t tmpfs)")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def _filled(disk: Path) -> Iterator[None]:
    """The disk filled up to 64 KiB (far less than the events need); space again on exit."""
    filler = disk / "filler"
    try:
        free = shutil.disk_usage(disk).free
        with filler.open("wb") as fh:
            fh.write(b"\0" * max(0, free - 65536))
        yield
    finally:
        filler.unlink(missing_ok=True)  # space again: the kept events commit


async def test_a_full_disk_is_unhealthy_and_health_recovers_with_space(
    disk: Path, tmp_path: Path
) -> None:
    cfg = engine_config(disk / "learning", mlflow_tracking_uri=f"sqlite:///{tmp_path}/m.db",
                        flush_retry_initial_seconds=0.001, flush_retry_max_seconds=0.01)
    async with LearningEngine(cfg, clock=SimulatedClock(T_DISK)) as engine:
        with _filled(disk):
            await _fill_and_watch(engine)
            # what a probe sees: readiness 503 naming the cause, liveness still 200
            assert await _probe(engine, "/health") == (503, "unhealthy")
            assert await _probe(engine, "/livez") == (200, True)
        await asyncio.wait_for(engine.flush_events(), timeout=30)
        assert len(engine.get_events(limit=None)) == 3000
        assert (await engine.health_check()).level is HealthLevel.HEALTHY
        assert await _probe(engine, "/health") == (200, "healthy")


async def _probe(engine: LearningEngine, path: str) -> tuple[int, object]:
    """GET ``path`` from the service app of this engine, as a load balancer's probe would."""
    app = create_app(engine, manage_engine=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        r = await client.get(path)
    body = r.json()
    return r.status_code, body["level"] if "level" in body else body["alive"]


async def _fill_and_watch(engine: LearningEngine, at: datetime = T_DISK) -> None:
    """Record more than the disk holds; health must turn UNHEALTHY naming the full disk."""
    for i in range(3000):
        engine.record_event(LearningEvent(
            event_type=EventType.SIGNAL_GENERATED, source_engine="s", symbol="SPY",
            timestamp=at, payload={"i": i, "pad": "x" * 200}))
    with contextlib.suppress(Exception):
        await asyncio.wait_for(engine.flush_events(), timeout=2)
    for _ in range(200):  # the writer keeps retrying in the background
        health = await engine.health_check()
        if health.level is HealthLevel.UNHEALTHY:
            break
        await asyncio.sleep(0.05)
    assert health.level is HealthLevel.UNHEALTHY, health.message
    assert "disk is full" in health.message and "flush failure" in health.message


def test_status_over_http_shows_an_unhealthy_engine_and_exits_1(
    disk: Path, tmp_path: Path
) -> None:
    """A real server on a full disk: ``status --url`` prints the causes and exits 1 (the
    503 of /health is the server's answer, not a failed call); with space back, exit 0."""
    with live_server(disk / "learning", mlflow_tracking_uri=f"sqlite:///{tmp_path}/m.db",
                     flush_retry_initial_seconds=0.001, flush_retry_max_seconds=0.01,
                     event_retention_days=36500, enable_drift_detection=False) as live:
        opts = ("--url", live.url, "--token", "tok-reader")
        with _filled(disk):
            live.call(_fill_and_watch(live.engine, datetime.now(UTC)))
            r = cli("status", *opts)
            assert r.exit_code == 1, r.output
            flat = " ".join(r.output.split())
            assert "unhealthy" in flat and "disk is full" in flat
            shown = json.loads(cli("status", "--json", *opts).stdout)
            assert shown["health"]["level"] == "unhealthy"
        live.call(asyncio.wait_for(live.engine.flush_events(), timeout=30))
        r = cli("status", *opts)
        assert r.exit_code == 0 and "healthy: ok" in r.output, r.output
