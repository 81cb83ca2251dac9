"""Opens the event store a URL names: SQLite by default, PostgreSQL at scale."""

from __future__ import annotations

from ordinis.engines.learning.events.store import EventStore


def open_store(url: str, init: bool = False, read_only: bool = False) -> EventStore:
    """Open the store named by ``url`` (``sqlite:///path`` or ``postgresql://...``).

    ``init`` lets an empty file become a fresh store; ``read_only`` opens for inspection
    (no migrations, every write refused).
    """
    if url.startswith("sqlite:///"):
        from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

        store: EventStore = SQLiteEventStore(url, init=init, read_only=read_only)
    elif url.startswith(("postgresql://", "postgres://")):
        from ordinis.engines.learning.events.postgres_store import PostgresEventStore

        store = PostgresEventStore(url, read_only=read_only)
    else:
        raise ValueError(
            f"store_url={url!r}: unsupported scheme; use sqlite:///path or postgresql://..."
        )
    store.open()
    return store
