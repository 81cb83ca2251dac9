"""PostgreSQL for real: two engines share a store with one leader; a terminated connection and a
server restart are survived (events kept, leadership fails over, health recovers)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from ownership_helpers import engine_config, small_model

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import NotLeaderError
from ordinis.engines.learning.core.models import EventType, HealthLevel, LearningEvent

T0 = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)


def _event(source: str, i: int) -> LearningEvent:
    return LearningEvent(event_type=EventType.SIGNAL_GENERATED, source_engine=source,
                         symbol="SPY", timestamp=T0.replace(second=i % 60, minute=i // 60),
                         payload={"i": i})


def _terminate(pg_url: str, pids: list[int]) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _backend_pids(engine: LearningEngine) -> list[int]:
    """The engine's own server sessions: the event store's and the leader lock's."""
    pids = []
    store_conn = getattr(engine.store, "_conn", None)
    if store_conn is not None and not store_conn.closed:
        pids.append(store_conn.info.backend_pid)
    leader = engine._ownership.leader
    if leader is not None and leader._conn is not None and not leader._conn.closed:
        pids.append(leader._conn.info.backend_pid)
    return pids


@pytest.fixture
async def pair(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[LearningEngine, LearningEngine]]:
    """Two engines on one PostgreSQL schema, sharing one MLflow store; A starts first."""
    schema = f"t_own_{uuid.uuid4().hex[:10]}"
    mlflow_uri = f"sqlite:///{tmp_path / 'shared-mlflow.db'}"
    engines = []
    for name in ("a", "b"):
        cfg = engine_config(tmp_path / name, store_url=f"{pg_url}?schema={schema}",
                            mlflow_tracking_uri=mlflow_uri, flush_retry_max_seconds=0.2)
        eng = LearningEngine(cfg, clock=SimulatedClock(T0))
        await eng.initialize()
        engines.append(eng)
    try:
        yield engines[0], engines[1]
    finally:
        for eng in engines:
            await eng.shutdown()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def test_one_leader_both_ingest_and_failover_on_a_terminated_session(
    pair: tuple[LearningEngine, LearningEngine], pg_url: str
) -> None:
    a, b = pair
    assert (a.role, b.role) == ("leader", "follower")
    for i in range(50):  # both ingest into the one store
        a.record_event(_event("engine_a", i))
        b.record_event(_event("engine_b", i))
    await asyncio.gather(a.flush_events(), b.flush_events())
    assert len(b.get_events(limit=None)) == 100
    mv = await a.register_model_version("shared", a.allocate_model_version("shared"),
                                        model=small_model())
    assert mv.version == "v1"
    with pytest.raises(NotLeaderError, match=r"follower.*leader"):
        await b.register_model_version("shared", "v9", model=small_model())
    with pytest.raises(NotLeaderError):
        await b.submit_training_job("shared", "signal", {})

    a.set_baseline("shared", {"sharpe": 1.2})  # set by the leader after B started
    # the leader runs the drift checks from its own copy: a follower's change would not
    # reach it, so the follower refuses, naming the leader
    with pytest.raises(NotLeaderError, match=r"^set_baseline: this engine is a follower"):
        b.set_baseline("shared", {"sharpe": 9.0})
    with pytest.raises(NotLeaderError, match=r"^check_drift: this engine is a follower"):
        b.check_drift("shared", {"sharpe": 0.2})
    with pytest.raises(NotLeaderError, match=r"^update\(live metrics\)"):
        await b.update({"shared": {"sharpe": 0.2}})
    assert (await b.update([]))["cycles"] == 0  # ingesting cycles stays a follower's job

    # the leader's sessions are killed: the store reconnects, leadership moves to B
    _terminate(pg_url, _backend_pids(a))
    assert await a.check_leadership() is False and a.role == "follower"
    assert await b.check_leadership() is True and b.role == "leader"
    assert await a.check_leadership() is False  # A cannot take it back while B leads
    # one dropped connection, already reconnected, is not UNHEALTHY
    health = await a.health_check()
    assert health.level is HealthLevel.HEALTHY, health.message
    a.record_event(_event("engine_a", 99))
    await a.flush_events()
    assert len(b.get_events(limit=None)) == 101
    # the new leader sees the registry and numbers versions store-wide: v2, never v1 again
    assert b.list_models() == ["shared"]
    assert b.allocate_model_version("shared") == "v2"
    # and checks drift against the baseline the old leader set, not what it read at start
    assert b.get_baseline("shared") == {"sharpe": 1.2}
    [alert] = b.check_drift("shared", {"sharpe": 0.2})
    assert alert.baseline_value == 1.2


async def test_a_followers_trigger_is_handed_to_the_leader_not_run_beside_it(
    pg_url: str, tmp_path: Path
) -> None:
    """A follower ingests the serving model's losing trades; its loss rule fires. One engine
    runs the loop: the follower stores the trigger PENDING for the leader (no training, no
    policy decision of its own), and the leader's schedule takes it and decides."""
    schema = f"t_hand_{uuid.uuid4().hex[:10]}"
    mlflow_uri = f"sqlite:///{tmp_path / 'shared-mlflow.db'}"
    clock = SimulatedClock(T0)

    def cfg(name: str) -> object:
        return engine_config(tmp_path / name, store_url=f"{pg_url}?schema={schema}",
                             mlflow_tracking_uri=mlflow_uri, flush_retry_max_seconds=0.2,
                             require_eval_pass=False)

    a = LearningEngine(cfg("a"), clock=clock)  # type: ignore[arg-type]
    await a.initialize()
    b: LearningEngine | None = None
    try:
        mv = await a.register_model_version("m", "v1", model=small_model())
        await a.promote_model("m", mv.version_id, "staging")
        await a.promote_model("m", mv.version_id, "production")
        b = LearningEngine(cfg("b"), clock=clock)  # type: ignore[arg-type]
        await b.initialize()  # started after the promotion: it watches m:v1
        assert (a.role, b.role) == ("leader", "follower")
        on_b: list[tuple[str, str]] = []
        b.subscribe_loop_events(lambda e: on_b.append((e.step.value, e.outcome)))
        for _ in range(8):  # the pipeline's consecutive_losses count
            clock.advance(3600)
            await b.feedback.record_trade_outcome("SPY", pnl=-1.0, return_pct=-0.01,
                                                  model_name="m")
        await b.drain()
        assert on_b == [("trigger", "handed_to_leader")]
        [handed] = a.list_retraining_triggers("m")
        assert (handed.trigger_type.value, handed.status.value) == (
            "consecutive_losses", "pending")

        clock.advance(61)  # the leader's next poll of handed triggers
        await a.update([])
        await a.drain()
        [taken] = a.list_retraining_triggers("m")
        assert taken.trigger_id == handed.trigger_id
        assert (taken.status.value, taken.safeguard) == ("refused", "min_samples")
    finally:
        if b is not None:
            await b.shutdown()
        await a.shutdown()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _ctl(cluster: tuple[str, str], *args: str) -> None:
    """pg_ctlcluster VERSION main ARGS (as root)."""
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, *args],
                   check=True, timeout=60)


def _cluster() -> tuple[str, str] | None:
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None:
        return None
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return (versions[-1], "main") if versions else None


async def test_a_server_restart_loses_nothing_and_health_recovers(
    pair: tuple[LearningEngine, LearningEngine], pg_url: str
) -> None:
    cluster = _cluster()
    if cluster is None:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root with pg_ctlcluster: the restart must run for real")
        pytest.skip("restarting PostgreSQL needs root and pg_ctlcluster")
    a, b = pair
    for i in range(20):
        a.record_event(_event("engine_a", i))
    await a.flush_events()
    await asyncio.to_thread(_ctl, cluster, "stop", "-m", "fast")
    try:
        for i in range(20, 40):  # recorded while the server is down: kept in the buffer
            a.record_event(_event("engine_a", i))
        health = await a.health_check()
        assert health.level is HealthLevel.DEGRADED and "unreachable" in health.message
        assert health.message.count("unreachable") == 1
    finally:
        await asyncio.to_thread(_ctl, cluster, "start")
    for _ in range(100):
        try:
            with psycopg.connect(pg_url, connect_timeout=2):
                break
        except psycopg.OperationalError:
            await asyncio.sleep(0.1)
    await asyncio.wait_for(a.flush_events(), timeout=30)
    assert len(b.get_events(limit=None)) == 40  # nothing lost, nothing doubled
    assert (await a.health_check()).level is HealthLevel.HEALTHY
    # both sessions died with the server: exactly one engine leads again
    leads = [await a.check_leadership(), await b.check_leadership()]
    assert sorted(leads) == [False, True]
