"""The PRODUCTION policies: staged time, four eyes, breakers, change windows, combined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.governance import (
    ApprovalRequiredPolicy,
    Decision,
    GovernanceAction,
    PolicyEngine,
    default_policies,
)
from ordinis.engines.learning.governance.policies import (
    BreakersClosedPolicy,
    ChangeWindow,
    ChangeWindowPolicy,
    MinStagedTimePolicy,
)

MON_15 = datetime(2024, 1, 8, 15, 0, tzinfo=UTC)  # a Monday


def promo(**kw: object) -> GovernanceAction:
    base: dict[str, object] = dict(
        action="promote", actor="bert", model_name="m", version="v2", from_stage="staging",
        to_stage="production", evaluation_passed=True, stages_held=frozenset({"staging"}),
        staged_since=MON_15 - timedelta(hours=30), at=MON_15,
        details={"requested_by": "bert"},
    )
    base.update(kw)
    return GovernanceAction(**base)  # type: ignore[arg-type]


def test_min_staged_time_denies_until_the_time_has_passed() -> None:
    p = MinStagedTimePolicy(24 * 3600)
    assert p.evaluate(promo()).decision is Decision.ALLOW
    early = p.evaluate(promo(staged_since=MON_15 - timedelta(hours=2)))
    assert early.decision is Decision.DENY
    assert "7200s of the production_min_staged_seconds=86400" in early.reason
    assert "2024-01-09T13:00:00+00:00" in early.reason  # when it may go
    assert p.evaluate(promo(staged_since=None)).decision is Decision.DENY
    assert p.evaluate(promo(to_stage="staging")).decision is Decision.ALLOW


def test_four_eyes_defers_without_approver_and_denies_the_requester() -> None:
    p = ApprovalRequiredPolicy(["promote"], to_stages=["production"])
    assert p.evaluate(promo()).decision is Decision.DEFER
    own = p.evaluate(promo(details={"requested_by": "bert", "approved_by": "bert"}))
    assert own.decision is Decision.DENY and "cannot approve" in own.reason
    other = p.evaluate(promo(details={"requested_by": "bert", "approved_by": "anna"}))
    assert other.decision is Decision.ALLOW


def test_open_breaker_blocks_production() -> None:
    opened: list[str] = ["signal"]
    p = BreakersClosedPolicy(lambda: opened)
    r = p.evaluate(promo())
    assert r.decision is Decision.DENY and "signal" in r.reason
    opened.clear()
    assert p.evaluate(promo()).decision is Decision.ALLOW


@pytest.mark.parametrize(
    ("text", "at", "inside"),
    [
        ("mon-fri 13:30-20:00", MON_15, True),
        ("mon-fri 13:30-20:00", MON_15.replace(hour=21), False),
        ("mon-fri 13:30-20:00", MON_15 + timedelta(days=5), False),  # Saturday
        ("fri-mon 10:00-16:00", MON_15, True),  # wraps over the weekend
        ("sat 10:00-12:00", MON_15 + timedelta(days=5, hours=-4), True),
    ],
)
def test_change_window(text: str, at: datetime, inside: bool) -> None:
    assert ChangeWindow.parse(text).contains(at) is inside
    verdict = ChangeWindowPolicy([text]).evaluate(promo(at=at)).decision
    assert verdict is (Decision.ALLOW if inside else Decision.DEFER)


def test_bad_change_window_is_refused_at_config_load() -> None:
    with pytest.raises(ConfigError) as err:
        LearningEngineConfig.create(change_windows=["weekdays 9-5"])
    assert "mon-fri 13:30-20:00" in str(err.value)


def test_combined_decision_is_the_most_restrictive() -> None:
    cfg = LearningEngineConfig.create(
        approval="manual", production_min_staged_seconds=3600,
        change_windows=["mon-fri 13:30-20:00"],
    )
    engine = PolicyEngine(default_policies(cfg, lambda: ["execution"]))
    result = engine.preflight(promo())
    assert result.decision is Decision.DENY  # the breaker DENY beats the approval DEFER
    blocking = {r.policy: r.decision for r in result.results if r.decision is not Decision.ALLOW}
    assert blocking == {"approval_required": Decision.DEFER, "breakers_closed": Decision.DENY}
    clear = PolicyEngine(default_policies(cfg, list)).preflight(
        promo(details={"requested_by": "bert", "approved_by": "anna"})
    )
    assert clear.decision is Decision.ALLOW
