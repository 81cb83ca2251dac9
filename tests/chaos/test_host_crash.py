"""Finding 1: a host that crashes without shutdown() exits promptly; nothing buffered is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from chaos_events import event, quick_config, run_script

from ordinis.engines.learning import LearningEngine
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore


@pytest.mark.slow
def test_a_crashing_host_coroutine_returns_from_asyncio_run_and_keeps_its_events(
    tmp_path: Path,
) -> None:
    code = f"""
    import asyncio, sys, time
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from chaos_events import event
    from ordinis.engines.learning import LearningEngine, LearningEngineConfig

    async def host():
        engine = LearningEngine(LearningEngineConfig(data_dir={str(tmp_path)!r},
                                                     max_concurrent_jobs=1))
        await engine.initialize()
        for i in range(5000):
            engine.record_event(event(i))
        global crashed_at
        crashed_at = time.monotonic()
        raise RuntimeError("host crashed")  # no shutdown()

    try:
        asyncio.run(host())
    except RuntimeError:
        print(f"returned after {{time.monotonic() - crashed_at:.3f}} s", flush=True)
    """
    done = run_script(code, timeout=180)
    assert "returned after" in done.stdout, done.stderr[-3000:]
    seconds = float(done.stdout.split("returned after ")[1].split()[0])
    assert seconds < 10.0  # asyncio.run cancelled the engine's tasks and returned
    assert "host crashed" not in done.stderr  # caught by the script, not a traceback
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    assert store.count_events() == 5000  # the exit hook committed the buffered events
    store.close()


async def test_every_engine_task_finishes_promptly_when_cancelled(tmp_path: Path) -> None:
    engine = LearningEngine(quick_config(tmp_path, max_concurrent_jobs=1))
    await engine.initialize()
    for i in range(5000):
        engine.record_event(event(i))
    mine = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not mine]
    assert tasks  # the scheduler ticker at least
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=5.0)
    assert not pending, [t.get_name() for t in pending]
    await engine.shutdown()
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    assert store.count_events() >= 5000  # and the events are committed
    store.close()
