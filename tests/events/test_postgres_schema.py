"""PostgreSQL store specifics: a v1 store (jsonb payload, database collation) upgrades in
place; each batch commits as one transaction on both write paths."""

from __future__ import annotations

import uuid

import pytest
from event_helpers import make_event

from ordinis.engines.learning.events import postgres_store
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.postgres_store import MIGRATIONS, PostgresEventStore
from ordinis.engines.learning.events.store import EventQuery


def _column_types(store: PostgresEventStore) -> dict[str, tuple[str, str | None]]:
    rows = store._c.execute(
        "SELECT column_name, data_type, collation_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'events'"
    ).fetchall()
    return {name: (kind, coll) for name, kind, coll in rows}


def test_v1_store_upgrades_and_reads_back_the_same_events(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"t_events_v1_{uuid.uuid4().hex[:10]}"
    events = [
        make_event(i, payload={"x": 0.1 + i / 3, "tag": "é\\\t", "nested": {"k": [1, 2.5]}})
        for i in range(20)
    ]
    monkeypatch.setattr(postgres_store, "MIGRATIONS", MIGRATIONS[:1])
    old = PostgresEventStore(pg_url, schema=schema)
    old.open()
    try:
        assert old.schema_version == 1
        assert _column_types(old)["payload"][0] == "jsonb"
        # rows as a v1 engine wrote them (today's COPY is in the binary format of v2's types)
        with old._c.cursor() as cur:
            cur.executemany(
                "INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)",
                [encode_event(e, 64 * 1024) for e in events[:10]],
            )
        old.close()

        monkeypatch.setattr(postgres_store, "MIGRATIONS", MIGRATIONS)
        new = PostgresEventStore(pg_url, schema=schema)
        new.open()
        assert new.schema_version == len(MIGRATIONS) == 2
        types = _column_types(new)
        assert types["payload"][0] == "json" and types["labels"][0] == "jsonb"
        assert {types[c][1] for c in ("event_id", "event_type", "source_engine", "symbol")} == {
            "C"
        }
        # the upgraded store takes new rows, still refuses duplicates, and reads all back
        assert new.append_events([encode_event(e, 64 * 1024) for e in events]) == 10
        assert new.query_events(EventQuery(limit=None)) == events
        new.close()
    finally:
        old.close()
        cleanup = PostgresEventStore(pg_url, schema=schema)
        cleanup.open()
        cleanup.drop_schema()
        cleanup.close()


def test_each_batch_is_one_transaction_on_both_write_paths(pg_url: str) -> None:
    """The COPY straight into events (autocommit: the statement is the transaction) and the
    staging path of a batch with a stored id each commit a batch whole: every row of a batch
    carries the same xmin, across the 1000-row COPY chunks."""
    schema = f"t_events_xact_{uuid.uuid4().hex[:10]}"
    store = PostgresEventStore(pg_url, schema=schema)
    store.open()
    try:
        rows = [encode_event(make_event(i), 64 * 1024) for i in range(3600)]
        assert store.append_events(rows[:2500]) == 2500  # three chunks, the direct COPY
        assert store.append_events(rows[2000:]) == 1100  # 500 stored ids: the staging path

        def xmins(ids: list[str]) -> set[str]:
            found = store._c.execute(
                "SELECT DISTINCT xmin::text FROM events WHERE event_id = ANY(%s)", (ids,)
            ).fetchall()
            return {x for (x,) in found}

        first = xmins([r[0] for r in rows[:2500]])
        second = xmins([r[0] for r in rows[2500:]])
        assert len(first) == 1 and len(second) == 1 and first != second
        assert store.count_events() == 3600
    finally:
        store.drop_schema()
        store.close()
