"""Governance preflight: policies that judge a model change before it happens.

A change (register, promote, demote, rollback, route change, train, archive) is described by a
``GovernanceAction``; every ``Policy`` returns a ``PolicyResult``; the ``PolicyEngine`` combines
them (DENY wins, then DEFER, then WARN, then ALLOW) and ``enforce`` refuses DENY and DEFER.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ordinis.engines.learning.core.errors import FieldProblem, PolicyDeniedError, ValidationError

if TYPE_CHECKING:
    from ordinis.engines.learning.core.config import LearningEngineConfig
    from ordinis.engines.learning.observability.metrics import LearningMetrics

log = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = (
    "register", "promote", "demote", "rollback", "route_change", "train", "archive",
)

# Stages that count as "has been tried out before production".
PRE_PRODUCTION_STAGES: frozenset[str] = frozenset({"staging", "shadow", "canary"})


class Decision(StrEnum):
    """A policy's verdict. DEFER means "not now, needs more (e.g. an approval)"."""

    ALLOW = "allow"
    WARN = "warn"
    DEFER = "defer"
    DENY = "deny"


# Severity order used to combine verdicts: the highest wins.
_SEVERITY: dict[Decision, int] = {
    Decision.ALLOW: 0, Decision.WARN: 1, Decision.DEFER: 2, Decision.DENY: 3,
}


@dataclass(slots=True)
class GovernanceAction:
    """A proposed change, described with what the policies need to judge it.

    ``stages_held`` lists every stage the version has been in (from the stage history), so
    "production needs staging first" can be judged without the policy reading the registry.
    """

    action: str
    actor: str
    model_name: str
    model_type: str | None = None
    version: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    sample_count: int | None = None
    evaluation_passed: bool | None = None
    details: dict[str, str] = field(default_factory=dict)
    stages_held: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if self.action not in ACTIONS:
            problems.append(FieldProblem("action", self.action, f"must be one of {list(ACTIONS)}"))
        if not self.actor:
            problems.append(FieldProblem("actor", self.actor, "must name who asks (non-empty)"))
        if not self.model_name:
            problems.append(FieldProblem("model_name", self.model_name, "must be non-empty"))
        if problems:
            raise ValidationError("GovernanceAction", problems)

    @property
    def target(self) -> str:
        """What the action is about: ``model:version`` or the model name."""
        return f"{self.model_name}:{self.version}" if self.version else self.model_name


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy's verdict on one action, with the reason a person can act on."""

    decision: Decision
    policy: str
    reason: str


@dataclass(slots=True)
class PreflightResult:
    """Every policy's verdict and the combined decision."""

    action: GovernanceAction
    decision: Decision
    results: list[PolicyResult] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """True for ALLOW and WARN: the change may go ahead."""
        return self.decision in (Decision.ALLOW, Decision.WARN)

    @property
    def blocking(self) -> PolicyResult | None:
        """The first result with the combined (blocking) decision, if the action is refused."""
        if self.allowed:
            return None
        return next((r for r in self.results if r.decision is self.decision), None)

    @property
    def warnings(self) -> list[str]:
        return [f"{r.policy}: {r.reason}" for r in self.results if r.decision is Decision.WARN]

    @property
    def reason(self) -> str:
        """A one-line summary of the non-ALLOW verdicts (or "allowed")."""
        notes = [
            f"{r.policy}: {r.reason}" for r in self.results if r.decision is not Decision.ALLOW
        ]
        return "; ".join(notes) or "allowed"


@runtime_checkable
class Policy(Protocol):
    """A rule judging proposed changes; ``evaluate`` must not change anything."""

    name: str

    def evaluate(self, action: GovernanceAction) -> PolicyResult: ...


# ---------------------------------------------------------------------------- shipped policies


class MinSamplesPolicy:
    """Training needs at least ``min_samples`` samples (unknown count: WARN)."""

    name = "min_samples_for_training"

    def __init__(self, min_samples: int) -> None:
        self.min_samples = int(min_samples)

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.action != "train":
            return PolicyResult(Decision.ALLOW, self.name, "not a training action")
        if action.sample_count is None:
            return PolicyResult(
                Decision.WARN, self.name,
                f"sample_count unknown; training needs >= {self.min_samples} samples",
            )
        if action.sample_count < self.min_samples:
            return PolicyResult(
                Decision.DENY, self.name,
                f"sample_count={action.sample_count} is below min_samples_for_training="
                f"{self.min_samples}; collect more data or lower min_samples_for_training",
            )
        return PolicyResult(Decision.ALLOW, self.name, f"{action.sample_count} samples")


class AllowedModelTypesPolicy:
    """Training and registration only for the configured model types."""

    name = "allowed_model_types"

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(allowed)

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.action not in ("train", "register") or action.model_type is None:
            return PolicyResult(Decision.ALLOW, self.name, "no model type to check")
        if action.model_type not in self.allowed:
            return PolicyResult(
                Decision.DENY, self.name,
                f"model_type={action.model_type!r} is not allowed; use one of "
                f"{list(self.allowed)} or add it to allowed_model_types",
            )
        return PolicyResult(Decision.ALLOW, self.name, f"model type {action.model_type!r}")


class StagingBeforeProductionPolicy:
    """A version reaches PRODUCTION only after STAGING, SHADOW or CANARY (or having been in
    production before, which a rollback relies on)."""

    name = "staging_before_production"

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.to_stage != "production" or action.action not in ("promote", "rollback"):
            return PolicyResult(Decision.ALLOW, self.name, "not a move to production")
        held = set(action.stages_held)
        if action.from_stage:
            held.add(action.from_stage)
        if held & (PRE_PRODUCTION_STAGES | {"production"}):
            return PolicyResult(Decision.ALLOW, self.name, f"has been in {sorted(held)}")
        return PolicyResult(
            Decision.DENY, self.name,
            f"version {action.target} was never in staging, shadow or canary (stages held: "
            f"{sorted(held) or ['none']}); promote it to staging first",
        )


class EvaluationRequiredPolicy:
    """PRODUCTION needs the registry's production rule to hold: a passed production-gate-set
    verdict with the current trials (DENY when required, WARN otherwise)."""

    name = "require_eval_pass"

    def __init__(self, required: bool = True) -> None:
        self.required = required

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.action != "promote" or action.to_stage != "production":
            return PolicyResult(Decision.ALLOW, self.name, "not a promotion to production")
        if action.evaluation_passed is True:
            return PolicyResult(Decision.ALLOW, self.name, "evaluation passed")
        verdict = Decision.DENY if self.required else Decision.WARN
        blocker = action.details.get("production_blocker")
        if blocker:  # the registry's production rule says exactly what is missing
            return PolicyResult(verdict, self.name, blocker)
        state = "failed" if action.evaluation_passed is False else "has no recorded evaluation"
        return PolicyResult(
            verdict, self.name,
            f"version {action.target} {state}; evaluate it with the production gate set "
            "before promoting to production",
        )


class ApprovalRequiredPolicy:
    """DEFER the given actions (optionally only towards some stages) until
    ``details["approved_by"]`` names an approver."""

    name = "approval_required"

    def __init__(self, actions: Sequence[str], to_stages: Sequence[str] | None = None) -> None:
        self.actions = frozenset(actions)
        self.to_stages = frozenset(to_stages) if to_stages is not None else None

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        applies = action.action in self.actions and (
            self.to_stages is None or action.to_stage in self.to_stages
        )
        if not applies:
            return PolicyResult(Decision.ALLOW, self.name, "no approval needed")
        approver = action.details.get("approved_by", "")
        if not approver:
            return PolicyResult(
                Decision.DEFER, self.name,
                f"{action.action} of {action.target} needs an approval; pass "
                "details={'approved_by': '<name>'}",
            )
        return PolicyResult(Decision.ALLOW, self.name, f"approved by {approver}")


def default_policies(config: LearningEngineConfig) -> list[Policy]:
    """The policies the ordinis code enforces today, parameterised by the config."""
    return [
        MinSamplesPolicy(config.min_samples_for_training),
        AllowedModelTypesPolicy(config.allowed_model_types),
        StagingBeforeProductionPolicy(),
        EvaluationRequiredPolicy(required=config.require_eval_pass),
    ]


# ---------------------------------------------------------------------------- engine


class PolicyEngine:
    """Runs every policy on an action; disabled, it allows everything (and says so)."""

    def __init__(
        self,
        policies: Sequence[Policy],
        enabled: bool = True,
        metrics: LearningMetrics | None = None,
    ) -> None:
        self.policies: list[Policy] = list(policies)
        self.enabled = enabled
        self.metrics = metrics

    def add(self, policy: Policy) -> None:
        """Add one more policy (evaluated after the existing ones)."""
        self.policies.append(policy)

    def preflight(self, action: GovernanceAction) -> PreflightResult:
        """Every policy's verdict and the combined decision; changes nothing."""
        if not self.enabled:
            result = PreflightResult(
                action, Decision.ALLOW,
                [PolicyResult(Decision.ALLOW, "governance", "governance disabled")],
            )
        else:
            results = [self._run(p, action) for p in self.policies]
            decision = max(
                (r.decision for r in results), key=_SEVERITY.__getitem__, default=Decision.ALLOW
            )
            result = PreflightResult(action, decision, results)
        if self.metrics is not None:
            self.metrics.governance_decisions_total.labels(
                action=action.action, decision=result.decision.value
            ).inc()
        return result

    def enforce(self, action: GovernanceAction) -> PreflightResult:
        """Preflight, raising PolicyDeniedError (with the policy's reason) on DENY or DEFER."""
        result = self.preflight(action)
        blocking = result.blocking
        if blocking is not None:
            raise PolicyDeniedError(action.action, blocking.policy, blocking.reason)
        return result

    @staticmethod
    def _run(policy: Policy, action: GovernanceAction) -> PolicyResult:
        name = getattr(policy, "name", type(policy).__name__)
        try:
            return policy.evaluate(action)
        except Exception as exc:
            log.exception("policy %s raised on %s", name, action.action)
            return PolicyResult(Decision.DENY, name, f"policy raised {type(exc).__name__}: {exc}")
