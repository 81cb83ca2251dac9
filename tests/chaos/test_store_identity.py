"""Files know who they are: empty, foreign and damaged files are refused, naming file and fix."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ordinis.engines.learning.core.errors import StoreIdentityError
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.identity import (
    IDENTITY_KEY,
    IDENTITY_KIND,
    ensure_identity,
    read_identity,
)

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_a_zero_length_store_is_refused_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    db.write_bytes(b"")
    with pytest.raises(StoreIdentityError) as info:
        open_store(_url(db))
    text = str(info.value)
    assert str(db) in text and "empty" in text
    assert "ordinis-learning init" in text and "backup" in text
    assert db.stat().st_size == 0  # nothing was written


def test_init_turns_an_empty_file_into_a_fresh_store_with_an_identity(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    db.write_bytes(b"")
    store = open_store(_url(db), init=True)
    try:
        ident = ensure_identity(store, T0, schema_version=1)
        assert ident.product == "ordinis-learning" and len(ident.store_id) == 32
        again = ensure_identity(store, T0, schema_version=1)
        assert again.store_id == ident.store_id  # recorded once, stable
    finally:
        store.close()
    reopened = open_store(_url(db))  # now a real store: no flag needed
    try:
        seen = read_identity(reopened)
        assert seen is not None and seen.store_id == ident.store_id
    finally:
        reopened.close()


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    db.write_bytes(b"PAR1 this is a parquet file, not ours" * 10)
    before = db.read_bytes()
    for init in (False, True):  # --init never overwrites a non-empty file
        with pytest.raises(StoreIdentityError, match="not an SQLite database"):
            open_store(_url(db), init=init)
    assert db.read_bytes() == before


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    with pytest.raises(StoreIdentityError, match=r"another program.*invoices"):
        open_store(_url(db))
    with sqlite3.connect(db) as conn:  # untouched: no tables of ours were added
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"invoices"}


def test_a_store_of_another_product_is_refused(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path / "events.db"))
    try:
        store.put_record(StoredRecord(kind=IDENTITY_KIND, key=IDENTITY_KEY,
                                      body={"product": "someone-else", "store_id": "x"},
                                      created_at=T0, updated_at=T0))
        with pytest.raises(StoreIdentityError, match="someone-else"):
            ensure_identity(store, T0, schema_version=1)
    finally:
        store.close()


def test_a_damaged_store_is_refused_by_the_integrity_check(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    store = open_store(_url(db))
    for i in range(300):
        store.put_record(StoredRecord(kind="k", key=f"{i:05d}", body={"pad": "x" * 500},
                                      created_at=T0, updated_at=T0))
    store.close()
    raw = bytearray(db.read_bytes())
    page = 4096
    assert len(raw) > 8 * page
    raw[3 * page:6 * page] = b"\xa5" * (3 * page)  # scribble over table/index pages
    db.write_bytes(bytes(raw))
    with pytest.raises(StoreIdentityError) as info:
        open_store(_url(db))
    text = str(info.value)
    assert str(db) in text and "damaged" in text and ".recover" in text


def test_read_only_open_of_a_missing_store_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreIdentityError, match="no event store here"):
        open_store(_url(tmp_path / "nothing.db"), read_only=True)
    assert not (tmp_path / "nothing.db").exists()  # inspection created nothing


# ---------------------------------------------------------------------------- through the engine


async def _make_stores(data_dir: Path, with_version: bool = False) -> None:
    from ownership_helpers import engine_config, small_model

    from ordinis.engines.learning import LearningEngine, SimulatedClock

    async with LearningEngine(engine_config(data_dir), clock=SimulatedClock(T0)) as engine:
        if with_version:
            await engine.register_model_version("m", "v1", model=small_model())


async def test_an_emptied_registry_file_is_refused_and_the_lock_is_released(
    tmp_path: Path,
) -> None:
    from ownership_helpers import engine_config

    from ordinis.engines.learning import LearningEngine, SimulatedClock

    data_dir = tmp_path / "learning"
    await _make_stores(data_dir)
    (data_dir / "mlflow.db").write_bytes(b"")
    engine = LearningEngine(engine_config(data_dir), clock=SimulatedClock(T0))
    with pytest.raises(StoreIdentityError, match=r"mlflow\.db is empty.*ordinis-learning init"):
        await engine.initialize()
    assert not engine.is_running
    assert (data_dir / "mlflow.db").stat().st_size == 0  # nothing touched
    from ordinis.engines.learning.events.ownership import DataDirLock, this_holder

    lock = DataDirLock(data_dir)  # the failed start released the data-dir lock
    lock.acquire(this_holder(T0))
    lock.release()


async def test_a_lost_registry_is_refused_while_the_event_store_lists_versions(
    tmp_path: Path,
) -> None:
    from ownership_helpers import engine_config

    from ordinis.engines.learning import LearningEngine, SimulatedClock

    data_dir = tmp_path / "learning"
    await _make_stores(data_dir, with_version=True)
    (data_dir / "mlflow.db").unlink()
    # the same file under another spelling: MLflow caches its store per URI in a process, and
    # a restarted engine (a new process) has no such cache
    alias = f"sqlite:///{data_dir}/../{data_dir.name}/mlflow.db"
    engine = LearningEngine(engine_config(data_dir, mlflow_tracking_uri=alias),
                            clock=SimulatedClock(T0))
    with pytest.raises(StoreIdentityError) as info:
        await engine.initialize()
    text = str(info.value)
    assert "registry" in text and "m:v1" in text and "restore" in text


def test_the_cli_prints_one_line_for_an_empty_store_never_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ordinis.engines.learning.cli import app

    data_dir = tmp_path / "learning"
    data_dir.mkdir()
    (data_dir / "events.db").write_bytes(b"")
    for args in (["events", "stats"], ["jobs", "list"], ["jobs", "submit", "m"]):
        result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
        assert result.exit_code == 2, result.output
        # the CLI says which store it opened, then one error line naming the file and the fix
        lines = [ln for ln in result.output.strip().splitlines() if not ln.startswith("store: ")]
        assert len(lines) == 1, result.output
        assert lines[0].startswith("error:") and f"{data_dir}/events.db is empty" in lines[0]
        assert "ordinis-learning init" in lines[0]
        assert ("Traceback" not in result.output and result.exception is None) or isinstance(
            result.exception, SystemExit
        )
    assert (data_dir / "events.db").stat().st_size == 0
