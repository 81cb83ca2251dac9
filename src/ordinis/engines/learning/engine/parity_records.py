"""Parity results from live evidence, stored per version (typed record ``parity_result``) and
audited; the rollout records one at the end of shadow and of canary."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.evaluation.parity import ParityResult
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.governance.audit import AuditLog

PARITY_KIND = "parity_result"


@dataclass(frozen=True, slots=True)
class StoredParity:
    """One stored parity result: the ratio the production gates read, and its verdict."""

    version_id: str
    parity_ratio: float
    passed: bool
    metrics: dict[str, float]
    problems: tuple[str, ...]
    recorded_at: datetime


class ParityRecords:
    """Stores parity results (newest wins per version) and audits each one."""

    def __init__(self, store: EventStore, clock: Clock, audit: AuditLog) -> None:
        self.store = store
        self.clock = clock
        self.audit = audit

    async def record(self, version_id: str, result: ParityResult) -> None:
        now = self.clock.now()
        body = {
            "version_id": version_id,
            "parity_ratio": result.parity_ratio if math.isfinite(result.parity_ratio) else None,
            "passed": result.passed,
            "metrics": {k: v for k, v in result.metrics().items() if math.isfinite(v)},
            "problems": list(result.problems),
            "recorded_at": now.isoformat(),
        }
        rec = StoredRecord(PARITY_KIND, version_id, body, now, now, tag=version_id.split(":")[0])
        await asyncio.to_thread(self.store.put_record, rec)
        self.audit.append("rollout", "parity.record", version_id,
                          "allow" if result.passed else "warn",
                          f"parity_ratio={body['parity_ratio']} passed={result.passed}",
                          {"problems": list(result.problems)})

    def get(self, version_id: str) -> StoredParity | None:
        rec = self.store.get_record(PARITY_KIND, version_id)
        if rec is None:
            return None
        b = rec.body
        ratio = b.get("parity_ratio")
        return StoredParity(b["version_id"], math.nan if ratio is None else float(ratio),
                            bool(b["passed"]), dict(b.get("metrics", {})),
                            tuple(b.get("problems", [])),
                            datetime.fromisoformat(b["recorded_at"]))
