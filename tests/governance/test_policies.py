"""Governance preflight: shipped policies, how verdicts combine, enforce, metrics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import PolicyDeniedError, ValidationError
from ordinis.engines.learning.governance import (
    ApprovalRequiredPolicy,
    Decision,
    GovernanceAction,
    PolicyEngine,
    PolicyResult,
    default_policies,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics


class Fixed:
    """A policy that always answers the same decision."""

    def __init__(self, decision: Decision, name: str = "fixed") -> None:
        self.decision = decision
        self.name = f"{name}-{decision.value}"

    def evaluate(self, action: GovernanceAction) -> PolicyResult:
        return PolicyResult(self.decision, self.name, f"always {self.decision.value}")


def engine(**cfg: object) -> PolicyEngine:
    return PolicyEngine(default_policies(LearningEngineConfig.create(**cfg)))


def promote(to: str = "production", **kw: object) -> GovernanceAction:
    return GovernanceAction("promote", "alice", "m", version="v1", to_stage=to, **kw)  # type: ignore[arg-type]


SEVERITY = [Decision.ALLOW, Decision.WARN, Decision.DEFER, Decision.DENY]


@given(st.lists(st.sampled_from(SEVERITY), max_size=6))
def test_combined_decision_is_the_most_severe(decisions: list[Decision]) -> None:
    pe = PolicyEngine([Fixed(d, f"p{i}") for i, d in enumerate(decisions)])
    result = pe.preflight(GovernanceAction("register", "a", "m"))
    expected = max(decisions, key=SEVERITY.index, default=Decision.ALLOW)
    assert result.decision is expected
    assert len(result.results) == len(decisions)
    assert result.allowed == (expected in (Decision.ALLOW, Decision.WARN))


def test_enforce_raises_with_the_blocking_policy_and_reason() -> None:
    pe = PolicyEngine([Fixed(Decision.WARN), Fixed(Decision.DEFER), Fixed(Decision.ALLOW)])
    with pytest.raises(PolicyDeniedError) as err:
        pe.enforce(GovernanceAction("train", "bob", "m"))
    assert err.value.policy == "fixed-defer" and err.value.reason == "always defer"
    pe = PolicyEngine([Fixed(Decision.DEFER), Fixed(Decision.DENY)])
    with pytest.raises(PolicyDeniedError, match="fixed-deny"):
        pe.enforce(GovernanceAction("train", "bob", "m"))
    ok = PolicyEngine([Fixed(Decision.WARN)]).enforce(GovernanceAction("train", "bob", "m"))
    assert ok.decision is Decision.WARN and ok.warnings == ["fixed-warn: always warn"]


def test_min_samples_and_model_types_for_training() -> None:
    pe = engine(min_samples_for_training=500)
    low = GovernanceAction("train", "a", "m", model_type="signal", sample_count=499)
    with pytest.raises(PolicyDeniedError, match="sample_count=499 is below min_samples_for"):
        pe.enforce(low)
    assert pe.preflight(
        GovernanceAction("train", "a", "m", model_type="signal", sample_count=500)
    ).decision is Decision.ALLOW
    unknown_count = pe.preflight(GovernanceAction("train", "a", "m", model_type="risk"))
    assert unknown_count.decision is Decision.WARN
    with pytest.raises(PolicyDeniedError) as err:
        pe.enforce(
            GovernanceAction("train", "a", "m", model_type="crystal_ball", sample_count=10**6)
        )
    assert err.value.policy == "allowed_model_types" and "crystal_ball" in err.value.reason
    # the type check also guards registration
    assert pe.preflight(
        GovernanceAction("register", "a", "m", model_type="crystal_ball")
    ).decision is Decision.DENY


def test_production_requires_staging_first() -> None:
    pe = engine(require_eval_pass=False)
    never = promote(from_stage="development", evaluation_passed=True)
    with pytest.raises(PolicyDeniedError) as err:
        pe.enforce(never)
    assert err.value.policy == "staging_before_production"
    assert "promote it to staging first" in err.value.reason
    for held in ("staging", "shadow", "canary", "production"):
        action = promote(
            from_stage="archived", evaluation_passed=True, stages_held=frozenset({held})
        )
        assert pe.preflight(action).allowed, held
    assert pe.preflight(promote(from_stage="canary", evaluation_passed=True)).allowed
    # other targets are not concerned
    assert pe.preflight(promote(to="staging", from_stage="development")).allowed


def test_evaluation_required_denies_when_configured_and_warns_otherwise() -> None:
    staged = {"from_stage": "staging"}
    strict = engine(require_eval_pass=True)
    for passed in (None, False):
        with pytest.raises(PolicyDeniedError, match="require_eval_pass"):
            strict.enforce(promote(evaluation_passed=passed, **staged))
    assert strict.preflight(promote(evaluation_passed=True, **staged)).decision is Decision.ALLOW
    lax = engine(require_eval_pass=False)
    assert lax.preflight(promote(evaluation_passed=None, **staged)).decision is Decision.WARN


def test_approval_policy_defers_until_approved() -> None:
    pe = PolicyEngine([ApprovalRequiredPolicy(["promote"], to_stages=["production"])])
    with pytest.raises(PolicyDeniedError) as err:
        pe.enforce(promote())
    assert err.value.reason == (
        "promote of m:v1 needs an approval by someone other than 'alice'; request it "
        "(`ordinis-learning models request m:v1`, POST /v1/promotions, "
        "engine.request_promotion) and have another approver approve it")
    staged = PolicyEngine([ApprovalRequiredPolicy(["promote"])]).preflight(promote(to="staging"))
    assert "`ordinis-learning models request m:v1 --stage staging`" in staged.reason
    assert pe.preflight(promote(details={"approved_by": "carol"})).decision is Decision.ALLOW
    assert pe.preflight(promote(to="staging")).decision is Decision.ALLOW


def test_disabled_engine_allows_everything_and_a_broken_policy_fails_closed() -> None:
    class Broken:
        name = "broken"

        def evaluate(self, action: GovernanceAction) -> PolicyResult:
            raise RuntimeError("boom")

    assert PolicyEngine([Broken()], enabled=False).preflight(promote()).decision is Decision.ALLOW
    with pytest.raises(PolicyDeniedError, match="policy raised RuntimeError: boom"):
        PolicyEngine([Broken()]).enforce(promote())


def test_decisions_are_counted_in_metrics() -> None:
    metrics = LearningMetrics()
    pe = PolicyEngine([Fixed(Decision.DENY)], metrics=metrics)
    pe.preflight(promote())
    pe.preflight(promote())
    assert metrics.sample(
        "governance_decisions_total", {"action": "promote", "decision": "deny"}
    ) == 2.0


def test_invalid_action_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as err:
        GovernanceAction("deploy", "", "m")
    text = str(err.value)
    assert "action='deploy'" in text and "route_change" in text and "actor=''" in text
