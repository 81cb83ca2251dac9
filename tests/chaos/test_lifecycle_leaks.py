"""Finding 7: shutdown() can be retried until it succeeds; lifecycles leak nothing."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import threading
from pathlib import Path

import pytest
from chaos_events import SwitchableStore, event, quick_config

from ordinis.engines.learning import LearningEngine
from ordinis.engines.learning.core.errors import EngineNotRunningError, StoreError
from ordinis.engines.learning.drift.monitor import DriftMonitor
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventQuery


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _children() -> int:
    """Live (not zombie) child processes of this process."""
    me = str(os.getpid())
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            count += 1
    return count


def _census() -> tuple[int, list[str], int, int]:
    """Open fds, threads (but the loop's default executor, a bounded pool that grows on
    demand), other tasks, live child processes."""
    gc.collect()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    threads = sorted(t.name for t in threading.enumerate() if not t.name.startswith("asyncio_"))
    return _fds(), threads, len(tasks), _children()


async def test_a_failed_shutdown_keeps_the_events_and_a_retry_commits_them(
    tmp_path: Path,
) -> None:
    engine = LearningEngine(quick_config(tmp_path, max_concurrent_jobs=1,
                                         max_events_memory=20_000))
    await engine.initialize()
    pipeline = engine.event_pipeline  # inject the failing store
    inner = pipeline.store
    flaky = SwitchableStore(inner)
    pipeline.store = flaky  # type: ignore[assignment]
    flaky.down = True  # e.g. a full disk: every write fails
    for i in range(10_500):
        engine.record_event(event(i))
    with pytest.raises(StoreError, match="NOT committed"):
        await engine.shutdown()
    assert pipeline.stats().buffered == 10_500  # nothing lost, nothing dropped
    with pytest.raises(EngineNotRunningError, match="shutdown"):
        await engine.initialize()  # refused until the shutdown completes
    flaky.down = False
    await engine.shutdown()  # the retry flushes them and closes everything
    check = SQLiteEventStore(inner.url)
    check.open()
    assert check.count_events() == 10_500
    check.close()
    await engine.shutdown()  # and a third call is a no-op


@pytest.mark.slow
async def test_twenty_lifecycles_including_failed_starts_leak_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = DriftMonitor.load
    fail_next = {"on": False}

    def load(self: DriftMonitor) -> None:
        if fail_next["on"]:
            raise RuntimeError("injected: drift baselines unreadable")
        real_load(self)

    monkeypatch.setattr(DriftMonitor, "load", load)
    async def lifecycle(i: int) -> None:
        # A data dir of its own each time (MLflow caches connections per database URI),
        # seeded with the first one's empty registry so MLflow need not create its tables.
        data_dir = tmp_path / f"d{i}"
        if i > 0:
            data_dir.mkdir()
            shutil.copy(tmp_path / "d0" / "mlflow.db", data_dir / "mlflow.db")
        engine = LearningEngine(quick_config(data_dir, max_concurrent_jobs=1))
        fail_next["on"] = i % 4 == 3  # every 4th start fails after the workers started
        if fail_next["on"]:
            with pytest.raises(RuntimeError, match="injected"):
                await engine.initialize()
            assert not engine.is_running
            await engine.shutdown()  # nothing to do, and nothing raised
            return
        await engine.initialize()
        engine.record_event(event(i, event_id=f"life-{i}"))
        await engine.shutdown()

    for i in range(2):  # warm-up: MLflow's first start creates its tables and caches
        await lifecycle(i)
    before = _census()
    for i in range(2, 22):
        await lifecycle(i)
    after = _census()
    assert after == before, f"(fds, threads, tasks, children) {before} -> {after}"
    for i in range(22):
        if i % 4 == 3:
            continue
        check = SQLiteEventStore(f"sqlite:///{tmp_path / f'd{i}' / 'events.db'}")
        check.open()
        assert [e.event_id for e in check.query_events(EventQuery())] == [f"life-{i}"]
        check.close()
