"""Promotion requests: the DEFER -> approve flow of four-eyes governance.

A requester asks for a promotion (a pending request with an id); an approver other than the
requester approves it (the promotion then runs with ``approved_by``) or rejects it. Requests
are StoredRecords in the event store, so a restart or another process sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import NotFoundError
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore

PROMOTION_REQUEST_KIND = "promotion_request"


class RequestStatus(StrEnum):
    """Where a promotion request stands."""

    PENDING = "pending"
    PROMOTED = "promoted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    """One request to move ``model_name:version`` to ``target_stage``, and how it ended."""

    request_id: str
    model_name: str
    version: str
    target_stage: str
    requested_by: str
    reason: str
    requested_at: datetime
    status: RequestStatus = RequestStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""

    @property
    def version_id(self) -> str:
        return f"{self.model_name}:{self.version}"

    def to_body(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model_name": self.model_name,
            "version": self.version,
            "target_stage": self.target_stage,
            "requested_by": self.requested_by,
            "reason": self.reason,
            "requested_at": self.requested_at.isoformat(),
            "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_reason": self.decision_reason,
        }

    @classmethod
    def from_body(cls, b: dict[str, Any]) -> PromotionRequest:
        return cls(
            request_id=str(b["request_id"]),
            model_name=str(b["model_name"]),
            version=str(b["version"]),
            target_stage=str(b["target_stage"]),
            requested_by=str(b["requested_by"]),
            reason=str(b.get("reason", "")),
            requested_at=datetime.fromisoformat(b["requested_at"]),
            status=RequestStatus(b.get("status", "pending")),
            decided_by=b.get("decided_by"),
            decided_at=datetime.fromisoformat(b["decided_at"]) if b.get("decided_at") else None,
            decision_reason=str(b.get("decision_reason", "")),
        )


class PromotionRequests:
    """Creates, reads and closes promotion requests in the store (synchronous; call off-loop)."""

    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def create(
        self, model_name: str, version: str, target_stage: str, requested_by: str, reason: str
    ) -> PromotionRequest:
        """A new pending request, committed on return."""
        req = PromotionRequest(
            new_id(), model_name, version, target_stage, requested_by, reason, self.clock.now()
        )
        self._put(req)
        return req

    def get(self, request_id: str) -> PromotionRequest:
        """The request, or NotFoundError naming how to list them."""
        rec = self.store.get_record(PROMOTION_REQUEST_KIND, request_id)
        if rec is None:
            raise NotFoundError(
                f"no promotion request {request_id!r}; list them with "
                "list_promotion_requests() (CLI: `models requests`)"
            )
        return PromotionRequest.from_body(rec.body)

    def list(
        self, model_name: str | None = None, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        """Requests, oldest first, optionally of one model and one status."""
        records = self.store.list_records(PROMOTION_REQUEST_KIND, tag=model_name)
        out = [PromotionRequest.from_body(r.body) for r in records]
        out.sort(key=lambda r: (r.requested_at, r.request_id))
        return [r for r in out if status is None or r.status is status]

    def close(
        self, req: PromotionRequest, status: RequestStatus, by: str, reason: str
    ) -> PromotionRequest:
        """Mark the request promoted or rejected (committed on return)."""
        done = replace(
            req, status=status, decided_by=by, decided_at=self.clock.now(), decision_reason=reason
        )
        self._put(done)
        return done

    def _put(self, req: PromotionRequest) -> None:
        now = self.clock.now()
        self.store.put_record(
            StoredRecord(
                kind=PROMOTION_REQUEST_KIND, key=req.request_id, body=req.to_body(),
                created_at=req.requested_at, updated_at=now, tag=req.model_name,
            )
        )
