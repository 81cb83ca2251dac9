"""One owner per store: an exclusive lock on the data dir, a leader lock on PostgreSQL.

SQLite stores belong to one engine: ``DataDirLock`` takes ``flock(LOCK_EX)`` on
``<data_dir>/engine.lock`` (a lock per open file, so two engines in one process are refused too)
and writes who holds it. The kernel drops the lock when the holder dies, even by SIGKILL.

On PostgreSQL several engines ingest at once; ``LeaderLock`` elects the one that runs the loop,
the registry writes and the schedules with a session-level advisory lock. When the leader's
session ends (crash, terminated connection) the server releases the lock and the next follower
to try takes over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.errors import StoreLockedError

LOCK_FILENAME = "engine.lock"
_LEADER_CLASS = 0x6F72  # first key of the two-int advisory lock ("or")


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a store: process id, host and when it started."""

    pid: int
    host: str
    started: str
    engine_id: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}, started {self.started}"

    def to_json(self) -> str:
        return json.dumps(
            {"pid": self.pid, "host": self.host, "started": self.started,
             "engine_id": self.engine_id}
        )

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["host"]), str(data["started"]),
                       str(data.get("engine_id", "")))
        except (ValueError, KeyError, TypeError):
            return None


def this_holder(started: datetime, engine_id: str = "") -> Holder:
    """The Holder describing this process."""
    return Holder(os.getpid(), socket.gethostname(), started.isoformat(), engine_id)


class DataDirLock:
    """An exclusive lock on a data dir; ``acquire`` refuses with the holder's name."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILENAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, holder: Holder) -> None:
        """Take the lock or raise StoreLockedError naming the engine that has it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = self.holder(fd)
            os.close(fd)
            who = current.describe() if current else "another engine (holder unknown)"
            raise StoreLockedError(
                f"data dir {self.path.parent} is owned by {who}: one engine per store. Stop "
                f"that engine first, or open this one read-only to inspect "
                f"(LearningEngine.open_read_only(config), CLI read commands do)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.to_json().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent); the file stays, so a waiting opener never races an unlink."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self, fd: int | None = None) -> Holder | None:
        """Who the lock file says holds it (None when nobody wrote it)."""
        try:
            if fd is not None:
                text = os.pread(fd, 4096, 0).decode(errors="replace")
            else:
                text = self.path.read_text(errors="replace")
        except OSError:
            return None
        return Holder.parse(text)


class LeaderLock:
    """Leader election among engines sharing one PostgreSQL store (session advisory lock).

    ``try_acquire`` is cheap and never waits; a follower calls it on every tick, so failover
    takes one tick after the leader's session ends. ``still_leader`` notices a lost session.
    """

    def __init__(self, conninfo: str, schema: str | None, holder: Holder) -> None:
        self.conninfo = conninfo
        self.schema = schema or "public"
        self.holder = holder
        self._conn: Any = None
        self._lock = threading.Lock()
        self.is_leader = False
        self.failovers = 0

    def _key_sql(self) -> str:
        return f"{_LEADER_CLASS}, hashtext(%s)"

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this engine leads (now or already)."""
        import psycopg

        with self._lock:
            if self.is_leader and self._alive():
                return True
            self._drop()
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            except psycopg.Error:
                return False
            try:
                row = conn.execute(
                    f"SELECT pg_try_advisory_lock({self._key_sql()})", (self.schema,)
                ).fetchone()
            except psycopg.Error:
                conn.close()
                return False
            if not (row and row[0]):
                conn.close()
                return False
            conn.execute("SELECT set_config('application_name', %s, false)",
                         (f"ordinis-leader {self.holder.to_json()}"[:63],))
            self._conn = conn
            self.is_leader = True
            self.failovers += 1
            return True

    def still_leader(self) -> bool:
        """True while the session holding the lock is alive; False (and demoted) otherwise."""
        with self._lock:
            if self.is_leader and not self._alive():
                self._drop()
            return self.is_leader

    def release(self) -> None:
        """Give up leadership: unlock explicitly, so the lock is free when this returns (a
        closed session alone frees it only once the server has ended the backend, a race
        with a follower taking over at once), then close the session."""
        with self._lock:
            conn = self._conn
            if self.is_leader and conn is not None and not conn.closed and not conn.broken:
                with contextlib.suppress(Exception):
                    conn.execute(f"SELECT pg_advisory_unlock({self._key_sql()})",
                                 (self.schema,))
            self._drop()

    def leader_description(self) -> str:
        """Who leads now, from pg_locks and the leader session's application_name."""
        import psycopg

        try:
            with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype='advisory' AND l.granted "
                    "AND l.classid = %s AND l.objid = hashtext(%s)::oid",
                    (_LEADER_CLASS, self.schema),
                ).fetchone()
        except psycopg.Error as exc:
            return f"unknown (store unreachable: {exc})"
        if row is None:
            return "nobody"
        return f"backend pid {row[0]} ({row[1]})"

    def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.is_leader = False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
