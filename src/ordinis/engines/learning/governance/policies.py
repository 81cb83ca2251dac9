"""Governance preflight: policies that judge a model change before it happens.

A change (register, promote, demote, rollback, route change, train, archive) is described by a
``GovernanceAction``; every ``Policy`` returns a ``PolicyResult``; the ``PolicyEngine`` combines
them (DENY wins, then DEFER, then WARN, then ALLOW) and ``enforce`` refuses DENY and DEFER.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
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
    "production needs staging first" can be judged without the policy reading the registry;
    ``staged_since`` is when it entered its current pre-production stage, ``at`` the clock's now.
    ``details["requested_by"]`` / ``details["approved_by"]`` carry the four-eyes identities.
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
    staged_since: datetime | None = None
    at: datetime | None = None

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
    """Four eyes: DEFER the given actions (optionally only towards some stages) until
    ``details["approved_by"]`` names an approver other than the requester (DENY when the
    requester approves their own change)."""

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
        requester = action.details.get("requested_by", "") or action.actor
        if not approver:
            stage = "" if action.to_stage in (None, "production") else f" --stage {action.to_stage}"
            return PolicyResult(
                Decision.DEFER, self.name,
                f"{action.action} of {action.target} needs an approval by someone other than "
                f"{requester!r}; request it (`ordinis-learning models request {action.target}"
                f"{stage}`, POST /v1/promotions, engine.request_promotion) and have another "
                "approver approve it",
            )
        if approver == requester:
            return PolicyResult(
                Decision.DENY, self.name,
                f"{approver!r} requested {action.action} of {action.target} and cannot approve "
                "it too; another approver must approve",
            )
        return PolicyResult(Decision.ALLOW, self.name, f"approved by {approver}")


class MinStagedTimePolicy:
    """A version enters PRODUCTION only after ``min_seconds`` in staging, shadow or canary."""

    name = "min_staged_time"

    def __init__(self, min_seconds: float) -> None:
        self.min_seconds = float(min_seconds)

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.action != "promote" or action.to_stage != "production":
            return PolicyResult(Decision.ALLOW, self.name, "not a promotion to production")
        if self.min_seconds <= 0:
            return PolicyResult(Decision.ALLOW, self.name, "no minimum staged time configured")
        if action.staged_since is None or action.at is None:
            return PolicyResult(
                Decision.DENY, self.name,
                f"version {action.target} is not in staging, shadow or canary; promote it to "
                f"staging and wait production_min_staged_seconds={self.min_seconds:g}",
            )
        held = (action.at - action.staged_since).total_seconds()
        if held < self.min_seconds:
            ready = action.staged_since + timedelta(seconds=self.min_seconds)
            return PolicyResult(
                Decision.DENY, self.name,
                f"version {action.target} has been staged {held:g}s of the "
                f"production_min_staged_seconds={self.min_seconds:g}; promote after "
                f"{ready.isoformat()}",
            )
        return PolicyResult(Decision.ALLOW, self.name, f"staged for {held:g}s")


class BreakersClosedPolicy:
    """No promotion to PRODUCTION (nor route change) while a circuit breaker is open."""

    name = "breakers_closed"

    def __init__(self, open_breakers: Callable[[], Sequence[str]]) -> None:
        self.open_breakers = open_breakers

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if action.to_stage != "production" or action.action not in ("promote", "route_change"):
            return PolicyResult(Decision.ALLOW, self.name, "not a move to production")
        opened = list(self.open_breakers())
        if opened:
            return PolicyResult(
                Decision.DENY, self.name,
                f"circuit breaker(s) open: {', '.join(opened)}; reset them (breakers reset "
                "with a reason) once the cause is fixed, then promote",
            )
        return PolicyResult(Decision.ALLOW, self.name, "every breaker closed")


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ChangeWindow:
    """Days (0=Monday) and a UTC time range in which production changes may happen."""

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> ChangeWindow:
        """``"mon-fri 13:30-20:00"`` or ``"sat 10:00-12:00"`` (UTC); ValueError names the fix."""
        hint = "write windows like 'mon-fri 13:30-20:00' (days, then UTC HH:MM-HH:MM)"
        try:
            day_part, time_part = text.strip().lower().split()
            first, _, last = day_part.partition("-")
            a, b = _DAYS.index(first), _DAYS.index(last or first)
            span = range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)]
            days = frozenset(span)
            t0, t1 = (time.fromisoformat(x) for x in time_part.split("-"))
        except ValueError:
            raise ValueError(f"change window {text!r} is not understood; {hint}") from None
        if t1 <= t0:
            raise ValueError(f"change window {text!r} ends before it starts; {hint}")
        return cls(days, t0, t1)

    def contains(self, at: datetime) -> bool:
        return at.weekday() in self.days and self.start <= at.time() < self.end


class ChangeWindowPolicy:
    """Promotions and rollbacks to PRODUCTION only inside a change window (DEFER outside)."""

    name = "change_window"

    def __init__(self, windows: Sequence[str]) -> None:
        self.texts = list(windows)
        self.windows = [ChangeWindow.parse(w) for w in windows]

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        if not self.windows or action.to_stage != "production" or action.action != "promote":
            return PolicyResult(Decision.ALLOW, self.name, "no change window applies")
        if action.at is None or any(w.contains(action.at) for w in self.windows):
            return PolicyResult(Decision.ALLOW, self.name, "inside a change window")
        return PolicyResult(
            Decision.DEFER, self.name,
            f"{action.at.isoformat()} is outside the change windows {self.texts}; "
            "promote inside one of them",
        )


def default_policies(
    config: LearningEngineConfig, open_breakers: Callable[[], Sequence[str]] | None = None
) -> list[Policy]:
    """The default policies, parameterised by the config: for PRODUCTION staged first and long
    enough, a passed evaluation, four eyes with ``approval: manual``, no open breaker (when
    ``open_breakers`` is given) and the optional change windows."""
    policies: list[Policy] = [
        MinSamplesPolicy(config.min_samples_for_training),
        AllowedModelTypesPolicy(config.allowed_model_types),
        StagingBeforeProductionPolicy(),
        MinStagedTimePolicy(config.production_min_staged_seconds),
        EvaluationRequiredPolicy(required=config.require_eval_pass),
    ]
    if config.approval == "manual":
        policies.append(ApprovalRequiredPolicy(["promote"], to_stages=["production"]))
    if open_breakers is not None:
        policies.append(BreakersClosedPolicy(open_breakers))
    if config.change_windows:
        policies.append(ChangeWindowPolicy(config.change_windows))
    return policies


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
