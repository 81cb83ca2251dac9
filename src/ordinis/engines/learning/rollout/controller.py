"""RolloutController: one model's rollout, a persisted state machine on the engine Clock.

It owns the state and the evidence, applies the moves of ``machine.next_move`` (registry stage
changes, route swaps, records, audit, metrics) and rolls back on any trigger. The route swap
comes first and is synchronous, so a rollback restores the champion at once; the registry
follows.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import LearningEngineError
from ordinis.engines.learning.core.models import ModelStage, StoredRecord
from ordinis.engines.learning.evaluation.backtest_record import (
    StoredBacktest,
    no_backtest,
    parity_of,
)
from ordinis.engines.learning.evaluation.parity import ParityResult
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import rollout_step
from ordinis.engines.learning.registry import ModelRegistry
from ordinis.engines.learning.rollout.evidence import EvidenceBook
from ordinis.engines.learning.rollout.machine import Move, MoveKind, next_move
from ordinis.engines.learning.rollout.router import (
    ModelRouter,
    RoutedModel,
    RouteTable,
    threshold_for,
)
from ordinis.engines.learning.rollout.sequential import Analysis
from ordinis.engines.learning.rollout.state import (
    PHASE_CODES,
    ROLLOUT_KIND,
    RollbackReason,
    RolloutDecision,
    RolloutPhase,
    RolloutState,
)

log = logging.getLogger(__name__)

RecordParity = Callable[[str, ParityResult], Awaitable[object]]
BacktestSource = Callable[[str], StoredBacktest | None]


@dataclass(slots=True)
class ControllerDeps:
    """What a controller uses: the store, clock, registry, router, audit, metrics, parity."""

    store: EventStore
    clock: Clock
    registry: ModelRegistry
    router: ModelRouter
    audit: AuditLog
    metrics: LearningMetrics
    record_parity: RecordParity
    backtest_source: BacktestSource


class RolloutController:
    """One rollout of one model; every change is persisted before it returns."""

    def __init__(
        self,
        state: RolloutState,
        deps: ControllerDeps,
        champion: RoutedModel | None,
        candidate: RoutedModel,
    ) -> None:
        self.state = state
        self.deps = deps
        self.champion = champion
        self.candidate = candidate
        self.book = EvidenceBook.from_dict(state.evidence, state.plan.analysis)
        self.shadow_errors = 0
        self.rollback_pending: str | None = None
        # one tick at a time (the scheduler's and a host's ``advance_rollouts`` may overlap),
        # and a serving-path rollback's registry half after the tick in flight
        self._busy = asyncio.Lock()

    # ------------------------------------------------------------------ views
    @property
    def model_name(self) -> str:
        return self.state.model_name

    def analysis(self) -> Analysis:
        return self.book.analyse()

    def period_of(self, at: datetime) -> int:
        return int(at.timestamp() // self.state.plan.period_seconds)

    # ------------------------------------------------------------------ routing
    def install_routes(self) -> None:
        """Swap the model's route table to match the state (one atomic assignment)."""
        s, router = self.state, self.deps.router
        champ, cand = self.champion, self.candidate
        if s.phase in (RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED):
            router.set_table(s.model_name, RouteTable(champion=champ))
        elif s.phase is RolloutPhase.PRODUCTION:
            router.set_table(s.model_name, RouteTable(champion=_as_champion(cand)))
        elif s.phase in (RolloutPhase.SHADOW, RolloutPhase.AWAITING_APPROVAL):
            router.set_table(s.model_name, RouteTable(
                champion=champ, rollout_id=s.rollout_id, shadow_of_champion=cand))
        else:
            old = router.table(s.model_name)
            buckets = old.buckets if old is not None and old.rollout_id == s.rollout_id else {}
            router.set_table(s.model_name, RouteTable(
                champion=champ, candidate=cand, threshold=threshold_for(s.traffic),
                rollout_id=s.rollout_id, shadow_of_champion=cand, shadow_of_candidate=champ,
                buckets=buckets))
        self._gauges()

    # ------------------------------------------------------------------ persistence
    def _record(self) -> StoredRecord:
        s = self.state
        s.evidence = self.book.to_dict()
        return StoredRecord(ROLLOUT_KIND, s.rollout_id, s.to_dict(), s.started_at,
                            self.deps.clock.now(), tag=s.model_name)

    def persist(self) -> None:
        """Write the state now (the synchronous rollback path)."""
        self.deps.store.put_record(self._record())

    async def save(self) -> None:
        """Write the state from a worker thread (snapshot taken here, on the caller's loop)."""
        await asyncio.to_thread(self.deps.store.put_record, self._record())

    def decide(self, action: str, reason: str, actor: str = "rollout",
               analysis: Analysis | None = None) -> RolloutDecision:
        s = self.state
        d = RolloutDecision(self.deps.clock.now(), action, s.phase, s.step, s.traffic, reason,
                            actor, analysis.to_dict() if analysis else None)
        s.decisions.append(d)
        return d

    # ------------------------------------------------------------------ the state machine
    async def tick(self) -> Move:
        """Close due periods, analyse, and apply the machine's move (at most one per tick)."""
        async with self._busy:
            return await self._tick()

    async def _tick(self) -> Move:
        s = self.state
        if s.phase.is_final:
            return Move(MoveKind.STAY, "finished")
        now = self.deps.clock.now()
        last_closed = int((now.timestamp() - s.plan.settle_seconds) // s.plan.period_seconds) - 1
        self.book.close_through(last_closed)
        analysis = self.book.analyse()
        move = next_move(s, now, analysis)
        if move.kind is MoveKind.STAY:
            await self.save()
            return move
        await self.apply(move, analysis)
        return move

    async def apply(self, move: Move, analysis: Analysis | None, actor: str = "rollout") -> None:
        """Apply one move inside a ``learning.rollout.step`` span."""
        s = self.state
        with rollout_step(self.deps.metrics.tracer, s.model_name, s.candidate, move.kind.value,
                          traffic=move.traffic):
            await self._apply(move, analysis, actor)

    async def _apply(self, move: Move, analysis: Analysis | None, actor: str) -> None:
        s = self.state
        if move.kind is MoveKind.ROLLBACK:
            await self.roll_back(RollbackReason.HARM, move.reason, actor, analysis)
            return
        if move.kind is MoveKind.AWAIT_APPROVAL:
            await self._parity("end of shadow")
            if s.phase.is_final:
                return  # rolled back while this tick waited (a failed served request)
            self._enter(RolloutPhase.AWAITING_APPROVAL)
            self.decide("await_approval", move.reason, actor, analysis)
        elif move.kind is MoveKind.START_CANARY:
            if s.phase is RolloutPhase.SHADOW:
                await self._parity("end of shadow")
            await self._stage(ModelStage.CANARY, move.reason, actor)
            if s.phase.is_final:
                return
            self._enter(RolloutPhase.CANARY, move.step, move.traffic)
            self.decide("start_canary", move.reason, actor, analysis)
        elif move.kind is MoveKind.NEXT_STEP:
            self._enter(RolloutPhase.CANARY, move.step, move.traffic)
            self.decide("advance", move.reason, actor, analysis)
        elif move.kind is MoveKind.SWITCH:
            if s.phase is RolloutPhase.SHADOW:
                await self._parity("end of shadow")
            if self.shadow_errors or s.shadow_compared == 0:
                why = (f"health check failed: {self.shadow_errors} shadow errors, "
                       f"{s.shadow_compared} shadow predictions compared")
                await self.roll_back(RollbackReason.HEALTH_CHECK, why, actor, analysis)
                return
            await self._stage(ModelStage.PRODUCTION, "blue-green switch: " + move.reason, actor)
            if s.phase.is_final:
                return
            self._enter(RolloutPhase.BLUE_GREEN, -1, 1.0)
            self.decide("switch", move.reason, actor, analysis)
        elif move.kind is MoveKind.PRODUCTION:
            await self._parity("end of canary")
            if s.phase is not RolloutPhase.BLUE_GREEN:
                try:
                    await self._stage(ModelStage.PRODUCTION, move.reason, actor)
                except LearningEngineError as exc:
                    await self.roll_back(RollbackReason.GATE_REFUSED,
                                         f"production refused: {exc}", actor, analysis)
                    return
            if s.phase.is_final:
                return
            self._enter(RolloutPhase.PRODUCTION, -1, 1.0)
            s.ended_at = self.deps.clock.now()
            self.decide("production", move.reason, actor, analysis)
        self.install_routes()
        await self.save()
        self.deps.audit.append(actor, f"rollout.{move.kind.value}", s.candidate, "allow",
                               move.reason, {"rollout_id": s.rollout_id, "step": s.step,
                                             "traffic": s.traffic})

    async def approve(self, approver: str) -> None:
        self.state.approved_by = approver
        self.decide("approve", f"approved by {approver}", approver)
        self.deps.audit.append(approver, "rollout.approve", self.state.candidate, "allow",
                               "approved", {"rollout_id": self.state.rollout_id})
        await self.save()

    async def roll_back(self, reason: RollbackReason, detail: str, actor: str = "rollout",
                        analysis: Analysis | None = None) -> None:
        """Restore the champion now (route swap first), then archive the candidate."""
        was = self.restore_champion(reason, detail, actor, analysis)
        if was is not None:
            await self.finish_rollback(was, actor)

    def restore_champion(self, reason: RollbackReason, detail: str, actor: str = "rollout",
                         analysis: Analysis | None = None) -> RolloutPhase | None:
        """The synchronous half of a rollback: state, routes, record, audit, metrics.

        Returns the phase rolled back from (None when there was nothing to roll back)."""
        s = self.state
        if s.phase in (RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED):
            return None
        if s.phase is RolloutPhase.PRODUCTION and reason is not RollbackReason.OPERATOR:
            return None
        was = s.phase
        final = RolloutPhase.ABORTED if reason is RollbackReason.OPERATOR else \
            RolloutPhase.ROLLED_BACK
        self._enter(final, -1, 0.0)
        s.rollback_reason = f"{reason.value}: {detail}"
        s.ended_at = self.deps.clock.now()
        self.install_routes()
        self.decide("rollback" if final is RolloutPhase.ROLLED_BACK else "abort",
                    s.rollback_reason, actor, analysis)
        self.persist()
        if was not in (RolloutPhase.BLUE_GREEN, RolloutPhase.PRODUCTION):
            # after a switch the registry's rollback counts it (same reason label)
            self.deps.metrics.model_rollbacks_total.labels(
                model_name=s.model_name, reason=reason.value).inc()
        self.deps.audit.append(actor, "rollout.rollback", s.candidate, "allow", s.rollback_reason,
                               {"rollout_id": s.rollout_id, "from_phase": was.value})
        return was

    async def finish_rollback_after_tick(self, was: RolloutPhase, actor: str = "rollout") -> None:
        """``finish_rollback`` once the tick in flight (if any) is done: a rollback from outside
        a tick (the serving path, an operator) must not archive the candidate before that
        tick's stage change lands."""
        async with self._busy:
            await self.finish_rollback(was, actor)

    async def finish_rollback(self, was: RolloutPhase, actor: str = "rollout") -> None:
        """The registry half: archive the candidate (switch back to blue after a switch)."""
        s = self.state
        registry = self.deps.registry
        reason = s.rollback_reason or "rolled back"
        production = registry.get_production_model(s.model_name)
        # the candidate may hold production in the registry though the rollout was not there
        # yet: a tick's switch landed after this rollback restored the champion's routes
        switched = production is not None and production.version_id == s.candidate
        try:
            if was in (RolloutPhase.BLUE_GREEN, RolloutPhase.PRODUCTION) or switched:
                await registry.rollback(s.model_name, reason, actor=actor)
            else:
                await registry.demote_model(s.model_name, s.candidate, ModelStage.ARCHIVED,
                                            actor=actor, reason=reason)
        except LearningEngineError as exc:
            log.error("rollback of %s: registry change failed: %s", s.candidate, exc)
            self.decide("registry_error", f"registry change failed: {exc}", actor)
            await self.save()

    # ------------------------------------------------------------------ helpers
    def _enter(self, phase: RolloutPhase, step: int = -1, traffic: float = 0.0) -> None:
        s = self.state
        s.phase = phase
        s.step = step
        s.traffic = traffic
        s.phase_started_at = self.deps.clock.now()
        s.step_started_periods = self.book.periods

    async def _stage(self, stage: ModelStage, reason: str, actor: str) -> None:
        await self.deps.registry.promote_model(
            self.state.model_name, self.state.candidate, stage,
            rollout_strategy=self.state.strategy, actor=actor, reason=reason)

    async def _parity(self, when: str) -> None:
        """ParityValidator on the candidate's live periods against its stored backtest (the
        host's, else the one the engine derived from its forward holdout), off the loop."""
        s = self.state
        live = list(self.book.candidate_periods)
        if len(live) < 10:
            self.decide("parity_skipped", f"{when}: {len(live)} live periods, parity needs 10")
            return
        outcome = await asyncio.to_thread(self._measure_parity, s.candidate, live)
        if isinstance(outcome, str):
            self.decide("parity_skipped", f"{when}: {outcome}")
            return
        result, source = outcome
        ratio = result.parity_ratio
        self.decide("parity", f"{when}: parity_ratio="
                    f"{ratio if math.isfinite(ratio) else 'undefined'} passed={result.passed} "
                    f"(backtest: {source})")
        await self.deps.record_parity(s.candidate, result)

    def _measure_parity(self, candidate: str, live: list[float]) -> tuple[ParityResult, str] | str:
        """The parity result and the backtest's source, or why there is none."""
        stored = self.deps.backtest_source(candidate)
        if stored is None:
            return no_backtest(candidate)
        try:
            return parity_of(stored, pd.Series(live), self.state.plan.period_seconds), \
                stored.source
        except LearningEngineError as exc:
            return str(exc)

    def _gauges(self) -> None:
        s, m = self.state, self.deps.metrics
        m.set_rollout_state(s.model_name, PHASE_CODES[s.phase])
        cand_share = s.traffic if s.phase in (RolloutPhase.CANARY, RolloutPhase.BLUE_GREEN) else (
            1.0 if s.phase is RolloutPhase.PRODUCTION else 0.0)
        m.set_canary_traffic(s.model_name, s.candidate, cand_share)
        agreement = s.shadow_agreement
        if agreement is not None:
            m.shadow_agreement_ratio.labels(model_name=s.model_name, version=s.candidate).set(
                agreement)


def _as_champion(routed: RoutedModel) -> RoutedModel:
    return RoutedModel(routed.model_name, routed.version_id, routed.model, "champion", None)
