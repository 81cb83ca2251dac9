"""Opens the event store a URL names: SQLite by default, PostgreSQL at scale."""

from __future__ import annotations

from ordinis.engines.learning.events.store import EventStore


def open_store(url: str) -> EventStore:
    """Open the store named by ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith("sqlite:///"):
        from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore

        store: EventStore = SQLiteEventStore(url)
    elif url.startswith(("postgresql://", "postgres://")):
        from ordinis.engines.learning.events.postgres_store import PostgresEventStore

        store = PostgresEventStore(url)
    else:
        raise ValueError(
            f"store_url={url!r}: unsupported scheme; use sqlite:///path or postgresql://..."
        )
    store.open()
    return store
