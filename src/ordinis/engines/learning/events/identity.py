"""Store identity: each store records who it is, so an empty or foreign file is refused.

A store opened for the first time writes one ``store_identity`` record (a random id, the
product, the schema version, when). A zero-length file where a store was expected (a file
truncated or replaced) is refused unless the caller asks to start anew (``init``); a file that
is not SQLite, or an SQLite file of another program, is always refused: it is not ours to touch.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ordinis.engines.learning.core.errors import StoreIdentityError
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore

PRODUCT = "ordinis-learning"
IDENTITY_KIND = "store_identity"
IDENTITY_KEY = "identity"
SQLITE_HEADER = b"SQLite format 3\x00"
QUICK_CHECK_LIMIT = 10  # problems reported at most; bounds the message, not the scan
INIT_HINT = "or start anew with `ordinis-learning init` (init_store=True)"


@dataclass(frozen=True, slots=True)
class StoreIdentity:
    """Who a store is: its id, the product that made it and its schema version."""

    store_id: str
    product: str
    schema_version: int
    created_at: datetime


def preflight_sqlite_file(path: Path, what: str, init: bool) -> bool:
    """Refuse a zero-length or non-SQLite file where ``what`` was expected.

    Returns True when the file is new or empty (a fresh store will be created). A missing file
    is a first start; an empty one is accepted only with ``init`` (nothing in it can be lost).
    """
    if not path.exists():
        return True
    if not path.is_file():
        raise StoreIdentityError(f"{path} is not a file but a {what} was expected there")
    if path.stat().st_size == 0:
        if init:
            return True
        raise StoreIdentityError(
            f"{path} is empty (0 bytes) where the {what} was expected: it was truncated or "
            f"replaced, and opening it would start a blank store. Restore it from a backup, "
            f"{INIT_HINT} to create a fresh one in its place"
        )
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if head != SQLITE_HEADER:
        raise StoreIdentityError(
            f"{path} is not an SQLite database, but the {what} was expected there: restore "
            f"the {what} from a backup, or move this file away (it is not ours to overwrite)"
        )
    return False


def refuse_foreign_tables(
    conn: sqlite3.Connection, path: Path, what: str, ours: tuple[str, ...]
) -> None:
    """Refuse an SQLite file that has tables but none of ``ours``: another program's file."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise damaged(path, what, str(exc)) from None
    if tables and not tables.intersection(ours):
        shown = ", ".join(sorted(tables)[:5])
        raise StoreIdentityError(
            f"{path} is an SQLite database of another program (tables: {shown}), not the "
            f"{what}: point the config at the right file, or move this one away"
        )


def quick_check(conn: sqlite3.Connection, path: Path, what: str) -> None:
    """Run ``PRAGMA quick_check`` (at most QUICK_CHECK_LIMIT problems); refuse a damaged file."""
    try:
        rows = conn.execute(f"PRAGMA quick_check({QUICK_CHECK_LIMIT})").fetchall()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, what, str(exc)) from None
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    if problems:
        raise damaged(path, what, "; ".join(problems[:3]))


def damaged(path: Path, what: str, detail: str) -> StoreIdentityError:
    """The error for a damaged SQLite file: names it and the ways back."""
    return StoreIdentityError(
        f"{path} (the {what}) is damaged: {detail}. Restore it from a backup, or recover "
        f"what is readable with `sqlite3 {path} .recover | sqlite3 recovered.db` and point "
        f"the config at recovered.db"
    )


def ensure_identity(store: EventStore, now: datetime, schema_version: int) -> StoreIdentity:
    """The store's identity record, written on first open; refuses a foreign product."""
    rec = store.get_record(IDENTITY_KIND, IDENTITY_KEY)
    if rec is None:
        ident = StoreIdentity(uuid.uuid4().hex, PRODUCT, schema_version, now)
        store.put_record(
            StoredRecord(
                kind=IDENTITY_KIND,
                key=IDENTITY_KEY,
                body={
                    "store_id": ident.store_id,
                    "product": ident.product,
                    "schema_version": schema_version,
                },
                created_at=now,
                updated_at=now,
            )
        )
        return ident
    return _identity_of(rec, store.url, schema_version)


def read_identity(store: EventStore) -> StoreIdentity | None:
    """The identity record of a store, or None when it has none (read-only openers)."""
    rec = store.get_record(IDENTITY_KIND, IDENTITY_KEY)
    return None if rec is None else _identity_of(rec, store.url, None)


def _identity_of(rec: StoredRecord, url: str, schema_version: int | None) -> StoreIdentity:
    product = str(rec.body.get("product", ""))
    if product != PRODUCT:
        raise StoreIdentityError(
            f"store {url} belongs to {product or 'an unknown product'!r}, not {PRODUCT}: "
            f"point store_url at this engine's store"
        )
    return StoreIdentity(
        store_id=str(rec.body.get("store_id", "")),
        product=product,
        schema_version=int(rec.body.get("schema_version", schema_version or 0)),
        created_at=rec.created_at,
    )
