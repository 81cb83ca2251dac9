"""The rollout's rules as a pure function: given the state, the time and the analysis, what next.

No I/O here: the controller applies the move (registry, router, records, metrics) and the
benchmark drives the very same rules over thousands of replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ordinis.engines.learning.core.models import RolloutStrategy
from ordinis.engines.learning.rollout.sequential import Analysis, Verdict
from ordinis.engines.learning.rollout.state import RolloutPhase, RolloutState


class MoveKind(StrEnum):
    STAY = "stay"
    AWAIT_APPROVAL = "await_approval"
    START_CANARY = "start_canary"
    NEXT_STEP = "next_step"
    SWITCH = "switch"
    PRODUCTION = "production"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class Move:
    """What the rollout should do now, and why."""

    kind: MoveKind
    reason: str
    step: int = -1
    traffic: float = 0.0


def _elapsed(state: RolloutState, now: datetime) -> float:
    return (now - state.phase_started_at).total_seconds()


def _after_shadow(state: RolloutState) -> Move:
    """Where a rollout goes once shadow (and approval) is over."""
    plan = state.plan
    if plan.strategy is RolloutStrategy.BLUE_GREEN:
        return Move(MoveKind.SWITCH, "switch to the green slot", -1, 1.0)
    if plan.strategy is RolloutStrategy.SHADOW or not plan.ramp:
        return Move(MoveKind.PRODUCTION, "shadow passed: cut over", -1, 1.0)
    return Move(MoveKind.START_CANARY, "canary starts", 0, plan.ramp[0].traffic)


def next_move(state: RolloutState, now: datetime, analysis: Analysis) -> Move:
    """Harm rolls back in every phase; otherwise time and evidence move the rollout on."""
    plan = state.plan
    if state.phase.is_final:
        return Move(MoveKind.STAY, "finished")
    if analysis.verdict is Verdict.ROLLBACK:
        return Move(MoveKind.ROLLBACK, analysis.reason)
    elapsed = _elapsed(state, now)
    if state.phase is RolloutPhase.SHADOW:
        if elapsed < plan.shadow_seconds:
            return Move(MoveKind.STAY, f"shadow {elapsed:.0f}s of {plan.shadow_seconds:.0f}s")
        if plan.manual_approval and state.approved_by is None:
            return Move(MoveKind.AWAIT_APPROVAL, "shadow done: waiting for an approval")
        return _after_shadow(state)
    if state.phase is RolloutPhase.AWAITING_APPROVAL:
        if state.approved_by is None:
            return Move(MoveKind.STAY, "waiting for an approval")
        return _after_shadow(state)
    if state.phase is RolloutPhase.BLUE_GREEN:
        if elapsed < plan.watch_seconds:
            return Move(MoveKind.STAY, f"watching the green slot {elapsed:.0f}s")
        return Move(MoveKind.PRODUCTION, "green slot healthy through the watch period", -1, 1.0)
    # CANARY: a step advances on evidence, never on time alone
    step = plan.ramp[state.step]
    if elapsed < step.hold_seconds:
        return Move(MoveKind.STAY, f"step {state.step} hold {elapsed:.0f}s of "
                                   f"{step.hold_seconds:.0f}s")
    new_periods = analysis.periods - state.step_started_periods
    if new_periods < plan.min_periods_per_step:
        return Move(MoveKind.STAY, f"step {state.step}: {new_periods} of "
                                   f"{plan.min_periods_per_step} new periods")
    if analysis.verdict is not Verdict.ADVANCE:
        return Move(MoveKind.STAY, analysis.reason)
    if state.step + 1 >= len(plan.ramp):
        return Move(MoveKind.PRODUCTION, f"ramp complete: {analysis.reason}", -1, 1.0)
    nxt = state.step + 1
    return Move(MoveKind.NEXT_STEP, analysis.reason, nxt, plan.ramp[nxt].traffic)
