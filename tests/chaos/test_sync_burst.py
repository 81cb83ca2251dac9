"""Finding 2: a sync burst drains while it is recorded; a full buffer blocks, bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from chaos_events import SwitchableStore, event, pg_schema_url, quick_config, run_script

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import BufferFullError
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.pipeline import EventPipeline
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics


async def _burst(store: EventStore, config: LearningEngineConfig, n: int) -> EventPipeline:
    pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())
    await pipeline.start()
    for i in range(n):  # one synchronous loop: the host never yields to its event loop
        pipeline.record(event(i))
    await pipeline.flush(timeout=30)
    return pipeline


async def test_a_synchronous_burst_twice_the_buffer_is_recorded_in_full(tmp_path: Path) -> None:
    config = LearningEngineConfig(data_dir=tmp_path)  # the defaults: 10k buffer, 5k batches
    assert config.max_events_memory == 10_000
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    pipeline = await _burst(store, config, 20_000)
    await pipeline.stop()
    assert store.count_events() == 20_000
    assert pipeline.stats().refused_full == 0
    store.close()


@pytest.mark.postgres
async def test_a_synchronous_burst_drains_into_postgresql(pg_url: str, tmp_path: Path) -> None:
    store = open_store(pg_schema_url(pg_url))
    try:
        pipeline = await _burst(store, LearningEngineConfig(data_dir=tmp_path), 20_000)
        await pipeline.stop()
        assert store.count_events() == 20_000
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()


async def test_full_buffer_blocks_at_most_max_block_seconds_then_refuses(tmp_path: Path) -> None:
    inner = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    inner.open()
    store = SwitchableStore(inner)
    store.down = True
    config = quick_config(tmp_path, max_events_memory=100, flush_batch_size=50,
                          max_block_seconds=0.3)
    pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())
    await pipeline.start()
    pipeline.record(event(0))
    for _ in range(500):  # the writer takes it as its (failing) in-flight batch
        if pipeline.stats().in_flight == 1:
            break
        await asyncio.sleep(0.01)
    for i in range(1, 101):  # then the buffer fills to capacity behind it
        pipeline.record(event(i))
    started = time.monotonic()
    with pytest.raises(BufferFullError, match=r"max_block_seconds=0\.3") as err:
        pipeline.record(event(101))
    waited = time.monotonic() - started
    assert 0.3 <= waited < 5.0  # blocked for the bound, then refused (not forever)
    assert "database or disk is full" in str(err.value)
    assert pipeline.stats().refused_full == 1
    store.down = False  # the store recovers: what was accepted is kept and committed
    await pipeline.stop()
    assert inner.count_events() == 101  # the refused event is not there, the rest are
    inner.close()


def test_exit_hook_commits_what_is_buffered_when_the_host_never_stops(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    code = f"""
    import asyncio, sys
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from chaos_events import event
    from ordinis.engines.learning.core.clock import SystemClock
    from ordinis.engines.learning.core.config import LearningEngineConfig
    from ordinis.engines.learning.events.pipeline import EventPipeline
    from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
    from ordinis.engines.learning.observability.metrics import LearningMetrics

    async def main():
        store = SQLiteEventStore("sqlite:///{db}")
        store.open()
        config = LearningEngineConfig(data_dir={str(tmp_path)!r}, flush_interval_seconds=60)
        pipeline = EventPipeline(store, config, SystemClock(), LearningMetrics())
        await pipeline.start()
        for i in range(3000):  # fewer than a batch, long before the interval: all buffered
            pipeline.record(event(i))
        # the host's loop ends here without stop(): asyncio.run closes the loop

    asyncio.run(main())
    print("loop gone")
    """
    done = run_script(code, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "loop gone" in done.stdout
    check = SQLiteEventStore(f"sqlite:///{db}")
    check.open()
    assert check.count_events() == 3000
    check.close()
