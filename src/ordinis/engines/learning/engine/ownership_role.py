"""Which role an engine plays on its store: sole owner, leader, follower or read-only inspector.

SQLite: the engine takes the data-dir lock and owns the store (or is refused, naming the
holder). PostgreSQL: every engine ingests; the advisory-lock leader also runs the loop, the
registry writes and the schedules; followers try to take over on every tick. Read-only
openers take no lock and write nothing.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import NotLeaderError, ReadOnlyError
from ordinis.engines.learning.events.ownership import DataDirLock, Holder, LeaderLock


class Role(StrEnum):
    OWNER = "owner"  # SQLite: the one engine holding the data-dir lock
    LEADER = "leader"  # PostgreSQL: ingests and runs loop, registry writes, schedules
    FOLLOWER = "follower"  # PostgreSQL: ingests only, takes over when the leader goes
    READ_ONLY = "read-only"  # inspection: writes nothing, starts nothing


def shares_store(config: LearningEngineConfig) -> bool:
    """True when the store can be shared by several engines (PostgreSQL)."""
    return config.resolved_store_url.startswith(("postgresql://", "postgres://"))


def leader_lock_for(config: LearningEngineConfig, holder: Holder) -> LeaderLock:
    """The advisory leader lock of a PostgreSQL store (keyed by its schema)."""
    parts = urlsplit(config.resolved_store_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = [v for k, v in query if k == "schema"]
    conninfo = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query
                                                           if k != "schema"])))
    return LeaderLock(conninfo, schema[-1] if schema else None, holder)


class Ownership:
    """Holds the engine's claim on its store and answers "may I write / lead?"."""

    def __init__(self, config: LearningEngineConfig, read_only: bool) -> None:
        self.config = config
        self.read_only = read_only
        self.dir_lock: DataDirLock | None = None
        self.leader: LeaderLock | None = None

    def claim(self, holder: Holder) -> None:
        """Take the data-dir lock (SQLite) or prepare the leader lock (PostgreSQL)."""
        if self.read_only:
            return
        if shares_store(self.config):
            self.leader = leader_lock_for(self.config, holder)
        else:
            self.dir_lock = DataDirLock(self.config.data_dir)
            self.dir_lock.acquire(holder)

    def release(self) -> None:
        if self.leader is not None:
            self.leader.release()
        if self.dir_lock is not None:
            self.dir_lock.release()
            self.dir_lock = None

    @property
    def role(self) -> Role:
        if self.read_only:
            return Role.READ_ONLY
        if self.leader is None:
            return Role.OWNER
        return Role.LEADER if self.leader.is_leader else Role.FOLLOWER

    @property
    def leads(self) -> bool:
        """True when this engine runs the loop, registry writes and schedules."""
        return self.role in (Role.OWNER, Role.LEADER)

    def require_writer(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(
                f"{what}: this engine was opened read-only (inspection); open a writing "
                f"engine (LearningEngine(config)) to change anything"
            )

    def require_leader(self, what: str) -> None:
        """Raise unless this engine may do leader-only work (``what`` names it)."""
        self.require_writer(what)
        if not self.leads:
            who = self.leader.leader_description() if self.leader is not None else "?"
            raise NotLeaderError(
                f"{what}: this engine is a follower on a shared store; the leader ({who}) "
                f"runs training, registry writes and schedules. Call it on the leader, or "
                f"wait for failover (engine.role becomes 'leader')"
            )
