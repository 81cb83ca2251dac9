"""The tamper-evident audit log: append-only records chained by SHA-256.

Each record's hash covers all its fields and the previous record's hash, so editing, deleting
or reordering a stored record breaks the chain and ``verify()`` names the first bad sequence.
Records live in the event store's append-only audit table.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.models import AuditRecord
from ordinis.engines.learning.events.store import AuditConflictError, EventStore, dump_json
from ordinis.engines.learning.observability.metrics import LearningMetrics

GENESIS_HASH = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_CONFLICT_RETRIES = 20
# After a conflict a writer waits a random time up to base x 2^attempt (at most the cap), so
# two writers that keep colliding drift apart; without it the one holding a fresh head wins
# every race and the other gives up (measured: half the runs of the two-writer test).
_CONFLICT_BACKOFF_BASE_S = 0.0005
_CONFLICT_BACKOFF_MAX_S = 0.02
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Result of ``AuditLog.verify``: ``ok``, how many records were checked, where it broke."""

    ok: bool
    checked: int
    first_bad_sequence: int | None = None
    problem: str = ""


def _epoch_ms(ts: datetime) -> int:
    """Whole milliseconds since the epoch, exact and stable under a store's µs round trip."""
    return round((ts - _EPOCH) / timedelta(microseconds=1) / 1000)


def record_hash(
    sequence: int,
    timestamp: datetime,
    actor: str,
    action: str,
    target: str,
    decision: str,
    reason: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of a record's fields."""
    canonical = dump_json(
        {
            "sequence": sequence,
            "timestamp_ms": _epoch_ms(timestamp),
            "actor": actor,
            "action": action,
            "target": target,
            "decision": decision,
            "reason": reason,
            "details": details,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hash_of(r: AuditRecord) -> str:
    return record_hash(
        r.sequence, r.timestamp, r.actor, r.action, r.target, r.decision, r.reason, r.details,
        r.prev_hash,
    )


class AuditLog:
    """Appends chained audit records to the store; thread-safe, and safe against another
    process appending at the same time (a sequence conflict re-reads the head and retries)."""

    def __init__(
        self, store: EventStore, clock: Clock, metrics: LearningMetrics | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None  # (sequence, hash) of the last record

    def append(
        self,
        actor: str,
        action: str,
        target: str,
        decision: str,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one record (sequence = last + 1, chained to the last); committed on return."""
        # Canonical details: exactly what the store will give back (tuples become lists, ...).
        clean: dict[str, Any] = json.loads(dump_json(details or {}))
        now = self.clock.now()
        # Millisecond timestamps survive every store's microsecond round trip unchanged.
        timestamp = now.replace(microsecond=(now.microsecond // 1000) * 1000)
        with self._lock:
            for attempt in range(_MAX_CONFLICT_RETRIES):
                if attempt:  # a retry after a conflict: wall-clock pacing of a real race,
                    # like an I/O backoff (no decision depends on it); 0.3 s at most in all
                    time.sleep(random.uniform(0.0, min(
                        _CONFLICT_BACKOFF_MAX_S, _CONFLICT_BACKOFF_BASE_S * 2 ** (attempt - 1))))
                seq, prev = self._read_head()
                sequence = seq + 1
                digest = record_hash(
                    sequence, timestamp, actor, action, target, decision, reason, clean, prev
                )
                record = AuditRecord(
                    sequence=sequence, timestamp=timestamp, actor=actor, action=action,
                    target=target, decision=decision, reason=reason, details=clean,
                    prev_hash=prev, record_hash=digest,
                )
                try:
                    self.store.append_audit(record)
                except AuditConflictError:
                    self._head = None  # another writer appended: re-read the head and retry
                    continue
                self._head = (sequence, digest)
                break
            else:
                raise AuditConflictError(
                    f"could not append audit record for {action} on {target}: "
                    f"{_MAX_CONFLICT_RETRIES} sequence conflicts in a row"
                )
        if self.metrics is not None:
            self.metrics.audit_records_total.labels(action=action).inc()
        return record

    def _read_head(self) -> tuple[int, str]:
        if self._head is None:
            last = self.store.last_audit()
            self._head = (0, GENESIS_HASH) if last is None else (last.sequence, last.record_hash)
        return self._head

    def records(
        self,
        start_sequence: int = 0,
        limit: int | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> list[AuditRecord]:
        """Records in sequence order from ``start_sequence``, optionally filtered."""
        if action is None and target is None:
            return self.store.list_audit(start_sequence=start_sequence, limit=limit)
        out: list[AuditRecord] = []
        for r in self._iterate(start_sequence):
            if (action is None or r.action == action) and (target is None or r.target == target):
                out.append(r)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def _iterate(self, start_sequence: int = 0) -> Any:
        nxt = start_sequence
        while True:
            page = self.store.list_audit(start_sequence=nxt, limit=_PAGE)
            yield from page
            if len(page) < _PAGE:
                return
            nxt = page[-1].sequence + 1

    def verify(self) -> AuditVerification:
        """Recompute every hash and check the chain from the first record to the last."""
        checked = 0
        prev_seq = 0
        prev_hash = GENESIS_HASH
        for r in self._iterate(0):
            checked += 1
            if r.sequence != prev_seq + 1:
                return AuditVerification(
                    False, checked, r.sequence,
                    f"sequence {r.sequence} follows {prev_seq}: records "
                    f"{prev_seq + 1}..{r.sequence - 1} are missing",
                )
            if r.prev_hash != prev_hash:
                return AuditVerification(
                    False, checked, r.sequence,
                    f"record {r.sequence} does not chain to record {prev_seq} "
                    "(prev_hash differs): a record was replaced or reordered",
                )
            if _hash_of(r) != r.record_hash:
                return AuditVerification(
                    False, checked, r.sequence,
                    f"record {r.sequence} was modified after it was written (hash mismatch)",
                )
            prev_seq, prev_hash = r.sequence, r.record_hash
        with self._lock:
            head = self._head
        if head is not None and head[0] > prev_seq:
            return AuditVerification(
                False, checked, prev_seq + 1,
                f"records {prev_seq + 1}..{head[0]} were written by this process but are missing",
            )
        return AuditVerification(True, checked)
