"""The persisted state of one rollout: phase, step, traffic, evidence and every decision.

Kept as a typed record (kind ``rollout``) in the event store and written on every change, so
a restart (even after SIGKILL) resumes at the same step with the same traffic; assignments
follow from the rollout id and the traffic share, so they are the same too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.observability.metrics import RolloutStateValue
from ordinis.engines.learning.rollout.plan import RolloutPlan

ROLLOUT_KIND = "rollout"


class RolloutPhase(StrEnum):
    """Where a rollout stands; the last three are final."""

    SHADOW = "shadow"
    AWAITING_APPROVAL = "awaiting_approval"
    CANARY = "canary"
    BLUE_GREEN = "blue_green"
    PRODUCTION = "production"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in (RolloutPhase.PRODUCTION, RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED)


# Values of model_rollout_state (awaiting approval still runs the shadow).
PHASE_CODES: dict[RolloutPhase, RolloutStateValue] = {
    RolloutPhase.SHADOW: RolloutStateValue.SHADOW,
    RolloutPhase.AWAITING_APPROVAL: RolloutStateValue.SHADOW,
    RolloutPhase.CANARY: RolloutStateValue.CANARY,
    RolloutPhase.BLUE_GREEN: RolloutStateValue.BLUE_GREEN,
    RolloutPhase.PRODUCTION: RolloutStateValue.PROMOTED,
    RolloutPhase.ROLLED_BACK: RolloutStateValue.ROLLED_BACK,
    RolloutPhase.ABORTED: RolloutStateValue.ROLLED_BACK,
}


class RollbackReason(StrEnum):
    """Why a candidate was rolled back (the ``reason`` label of model_rollbacks_total)."""

    HARM = "harm"
    PREDICTION_ERROR = "prediction_error"
    NON_FINITE_OUTPUT = "non_finite_output"
    BREAKER_TRIP = "breaker_trip"
    CRITICAL_DRIFT = "critical_drift"
    HEALTH_CHECK = "health_check"
    GATE_REFUSED = "gate_refused"
    OPERATOR = "operator"


@dataclass(slots=True)
class RolloutDecision:
    """One decision of the rollout with its reason and the evidence it saw."""

    at: datetime
    action: str
    phase: RolloutPhase
    step: int
    traffic: float
    reason: str
    actor: str = "rollout"
    analysis: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "action": self.action, "phase": self.phase.value,
                "step": self.step, "traffic": self.traffic, "reason": self.reason,
                "actor": self.actor, "analysis": self.analysis}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutDecision:
        return cls(datetime.fromisoformat(d["at"]), d["action"], RolloutPhase(d["phase"]),
                   int(d["step"]), float(d["traffic"]), d["reason"], d.get("actor", "rollout"),
                   d.get("analysis"))


@dataclass(slots=True)
class RolloutState:
    """Everything a rollout needs to resume; ``step`` is -1 before the canary ramp."""

    rollout_id: str
    model_name: str
    candidate: str
    champion: str | None
    plan: RolloutPlan
    phase: RolloutPhase
    started_at: datetime
    phase_started_at: datetime
    step: int = -1
    traffic: float = 0.0
    step_started_periods: int = 0
    approved_by: str | None = None
    ended_at: datetime | None = None
    rollback_reason: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    decisions: list[RolloutDecision] = field(default_factory=list)
    shadow_agree: int = 0
    shadow_compared: int = 0

    @property
    def strategy(self) -> RolloutStrategy:
        return self.plan.strategy

    @property
    def candidate_serves(self) -> bool:
        """True while some live traffic goes to the candidate."""
        return self.phase in (RolloutPhase.CANARY, RolloutPhase.BLUE_GREEN) and self.traffic > 0

    @property
    def shadow_agreement(self) -> float | None:
        return self.shadow_agree / self.shadow_compared if self.shadow_compared else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout_id": self.rollout_id, "model_name": self.model_name,
            "candidate": self.candidate, "champion": self.champion,
            "plan": self.plan.to_dict(), "phase": self.phase.value,
            "started_at": self.started_at.isoformat(),
            "phase_started_at": self.phase_started_at.isoformat(), "step": self.step,
            "traffic": self.traffic, "step_started_periods": self.step_started_periods,
            "approved_by": self.approved_by,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "rollback_reason": self.rollback_reason, "evidence": self.evidence,
            "decisions": [d.to_dict() for d in self.decisions],
            "shadow_agree": self.shadow_agree, "shadow_compared": self.shadow_compared,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutState:
        return cls(
            rollout_id=d["rollout_id"], model_name=d["model_name"], candidate=d["candidate"],
            champion=d["champion"], plan=RolloutPlan.from_dict(d["plan"]),
            phase=RolloutPhase(d["phase"]), started_at=datetime.fromisoformat(d["started_at"]),
            phase_started_at=datetime.fromisoformat(d["phase_started_at"]), step=int(d["step"]),
            traffic=float(d["traffic"]), step_started_periods=int(d["step_started_periods"]),
            approved_by=d.get("approved_by"),
            ended_at=datetime.fromisoformat(d["ended_at"]) if d.get("ended_at") else None,
            rollback_reason=d.get("rollback_reason"), evidence=d.get("evidence", {}),
            decisions=[RolloutDecision.from_dict(x) for x in d.get("decisions", [])],
            shadow_agree=int(d.get("shadow_agree", 0)),
            shadow_compared=int(d.get("shadow_compared", 0)),
        )
