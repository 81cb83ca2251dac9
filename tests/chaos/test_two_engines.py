"""One owner per store: the data-dir lock, store-wide version numbers, one leader on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ordinis.engines.learning import StoreLockedError
from ordinis.engines.learning.events.ownership import DataDirLock, this_holder

STARTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_second_lock_on_a_data_dir_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire(this_holder(STARTED))
    try:
        with pytest.raises(StoreLockedError) as info:
            second.acquire(this_holder(STARTED))
        text = str(info.value)
        assert f"pid {os.getpid()}" in text and socket.gethostname() in text
        assert "2026-01-05T09:00:00+00:00" in text and "read-only" in text
    finally:
        first.release()
    second.acquire(this_holder(STARTED))  # free again once released
    second.release()


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    code = (
        "import sys, time; from datetime import datetime, UTC; from pathlib import Path;"
        "from ordinis.engines.learning.events.ownership import DataDirLock, this_holder;"
        f"DataDirLock(Path({str(tmp_path)!r})).acquire(this_holder(datetime.now(UTC)));"
        "print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError, match=f"pid {proc.pid}"):
            DataDirLock(tmp_path).acquire(this_holder(STARTED))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    lock = DataDirLock(tmp_path)
    lock.acquire(this_holder(STARTED))  # SIGKILL released it: no stale lock to clean up
    lock.release()


async def test_concurrent_allocations_never_share_a_version_number(tmp_path: Path) -> None:
    from ownership_helpers import make_env

    env = await make_env(tmp_path / "learning")
    other = await env.reopen()  # a second registry (another engine) on the same store
    try:
        got = await asyncio.gather(*[
            asyncio.to_thread(reg.allocate_version, "shared")
            for _ in range(10) for reg in (env.registry, other)
        ])
        assert sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(1, 21)]
        # registering a number the other engine claimed is refused before MLflow is touched
        from ownership_helpers import small_model

        from ordinis.engines.learning.core.errors import ValidationError

        mine = await asyncio.to_thread(env.registry.allocate_version, "shared")
        with pytest.raises(ValidationError, match="another engine"):
            await other.register_model_version("shared", mine, model=small_model())
        mv = await env.registry.register_model_version("shared", mine, model=small_model())
        assert mv.version == mine
    finally:
        await other.close()
        await env.registry.close()
        env.store.close()
