"""Four-eyes promotions: request -> approve (by someone else) -> promote, each step audited.

Crosses governance (requests, audit) and the registry (the promotion itself), so it lives in
the engine layer. Store work runs in a thread, never on the host's loop.
"""

from __future__ import annotations

import asyncio

from ordinis.engines.learning.core.errors import FieldProblem, PolicyDeniedError, ValidationError
from ordinis.engines.learning.core.models import ModelStage, ModelVersion
from ordinis.engines.learning.governance.approvals import (
    PromotionRequest,
    PromotionRequests,
    RequestStatus,
)
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.governance.policies import PolicyResult, PreflightResult
from ordinis.engines.learning.registry import ModelRegistry, parse_stage


class PromotionService:
    """Promotion requests and their approval; the registry enforces the policies."""

    def __init__(self, registry: ModelRegistry, requests: PromotionRequests, audit: AuditLog):
        self.registry = registry
        self.requests = requests
        self.audit = audit

    def explain(
        self, version_id: str, target_stage: ModelStage | str = ModelStage.PRODUCTION,
        actor: str = "engine", approved_by: str | None = None,
    ) -> PreflightResult:
        """Every policy's verdict on promoting ``version_id`` now (nothing changes)."""
        mv = self.registry.get_model_version(version_id)
        return self.registry.explain_promotion(
            mv.model_name, mv.version, target_stage, actor=actor, approved_by=approved_by
        )

    async def request(
        self, version_id: str, target_stage: ModelStage | str, requested_by: str, reason: str
    ) -> PromotionRequest:
        """A pending request; audited with what still blocks it."""
        stage = parse_stage(target_stage)
        mv = self.registry.get_model_version(version_id)
        pre = await asyncio.to_thread(self.explain, mv.version_id, stage, requested_by)
        req = await asyncio.to_thread(
            self.requests.create, mv.model_name, mv.version, stage.value, requested_by, reason
        )
        await asyncio.to_thread(
            self.audit.append, requested_by, "promotion.request", mv.version_id,
            pre.decision.value, reason or "promotion requested",
            {"request_id": req.request_id, "to_stage": stage.value,
             "blocking": [_line(r) for r in blocking(pre)]},
        )
        return req

    async def approve(self, request_id: str, approver: str, reason: str = "") -> ModelVersion:
        """Promote as requested, approved by ``approver``; refused when the approver is the
        requester (audited either way)."""
        req = await asyncio.to_thread(self._pending, request_id)
        if approver == req.requested_by:
            why = (
                f"{approver!r} requested this promotion and cannot approve it; "
                "another approver must approve"
            )
            await asyncio.to_thread(
                self.audit.append, approver, "promotion.approve", req.version_id, "deny", why,
                {"request_id": request_id, "policy": "approval_required"},
            )
            raise PolicyDeniedError("promote", "approval_required", why)
        mv = await self.registry.promote_model(
            req.model_name, req.version, req.target_stage, actor=req.requested_by,
            reason=req.reason or reason, approved_by=approver,
        )
        await asyncio.to_thread(
            self.requests.close, req, RequestStatus.PROMOTED, approver, reason or "approved"
        )
        await asyncio.to_thread(
            self.audit.append, approver, "promotion.approve", req.version_id, "allow",
            reason or "approved", {"request_id": request_id, "requested_by": req.requested_by},
        )
        return mv

    async def reject(self, request_id: str, approver: str, reason: str) -> PromotionRequest:
        """Close a pending request without promoting; audited."""
        req = await asyncio.to_thread(self._pending, request_id)
        done = await asyncio.to_thread(
            self.requests.close, req, RequestStatus.REJECTED, approver, reason
        )
        await asyncio.to_thread(
            self.audit.append, approver, "promotion.reject", req.version_id, "deny", reason,
            {"request_id": request_id},
        )
        return done

    def _pending(self, request_id: str) -> PromotionRequest:
        req = self.requests.get(request_id)
        if req.status is not RequestStatus.PENDING:
            raise ValidationError(
                "promotion request",
                [FieldProblem("request_id", request_id,
                              f"is already {req.status.value} (by {req.decided_by}); "
                              "request the promotion again")],
            )
        return req


def blocking(result: PreflightResult) -> list[PolicyResult]:
    """The verdicts that stop the change (DENY and DEFER)."""
    return [r for r in result.results if r.decision.value in ("deny", "defer")]


def _line(r: PolicyResult) -> str:
    return f"{r.policy} ({r.decision.value}): {r.reason}"
