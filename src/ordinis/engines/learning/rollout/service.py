"""RolloutService: serving through the engine (route, predict, outcomes) and every rollout.

It owns the router, the shadow runner, the prediction ledger and one RolloutController per
model under rollout; it restores them from the store on start. The host's hot path is
``route`` and ``predict``: memory only, the event is buffered, shadow work is queued.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    FieldProblem,
    LearningEngineError,
    NotFoundError,
    PolicyDeniedError,
    ValidationError,
)
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import (
    DriftAlert,
    DriftSeverity,
    EventType,
    FeedbackRecord,
    LearningEvent,
    ModelStage,
    RolloutStrategy,
)
from ordinis.engines.learning.core.strategy import PositionPolicy
from ordinis.engines.learning.evaluation.backtest_record import no_backtest
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec
from ordinis.engines.learning.registry.history import StageChange
from ordinis.engines.learning.rollout.controller import ControllerDeps, RolloutController
from ordinis.engines.learning.rollout.evidence import PendingPrediction, PredictionLedger, position
from ordinis.engines.learning.rollout.machine import Move
from ordinis.engines.learning.rollout.plan import build_plan
from ordinis.engines.learning.rollout.report import (
    RolloutReport,
    latest_states,
    report_of,
    stored_report,
)
from ordinis.engines.learning.rollout.router import RoutedModel, RouteTable
from ordinis.engines.learning.rollout.sequential import SequentialSettings
from ordinis.engines.learning.rollout.shadow import (
    ShadowRequest,
    ShadowResult,
    ShadowRunner,
    scalar,
)
from ordinis.engines.learning.rollout.state import (
    ROLLOUT_KIND,
    RollbackReason,
    RolloutPhase,
    RolloutState,
)
from ordinis.engines.learning.safety.breaker import CircuitBreaker, TripRule

log = logging.getLogger(__name__)

SOURCE = "learning.rollout"
Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]
# A candidate's breaker: this many serving errors within the window trip it (and roll back).
SERVING_ERROR_RULE = TripRule("serving_error", 5, 300.0)
# Queued predictions that start a background drain (events and shadows) between host cycles.
_DRAIN_AT = 2_000
_FLAT_POSITION = 1e-12  # below this a served position is flat: its trade says nothing


class PredictionFailedError(Exception):
    """The serving version raised or returned a non-finite value and no champion could stand in."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """A served prediction: which version gave it, in which role, under which id."""

    prediction_id: str
    model_name: str
    key: str
    version_id: str
    value: float
    role: str
    rollout_id: str | None


class RolloutService:
    """Every rollout of one engine, the router and the serving path."""

    def __init__(
        self,
        deps: ControllerDeps,
        config: LearningEngineConfig,
        spec: PipelineSpec,
        record: Callable[[LearningEvent], str],
        spawn: Spawn,
        analysis: SequentialSettings | None = None,
    ) -> None:
        self.deps = deps
        self.config = config
        self.spec = spec
        self._record = record
        self._spawn = spawn
        self.analysis = analysis or SequentialSettings()
        self.router = deps.router
        self.shadows = ShadowRunner()
        self.ledger = PredictionLedger()
        self.controllers: dict[str, RolloutController] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._shadow_lock = threading.Lock()
        self._policies: dict[str, PositionPolicy] = {}  # version id -> its position policy
        self._drain_scheduled = False

    # ------------------------------------------------------------------ restore
    def load(self) -> int:
        """Resume every unfinished rollout from the store; returns how many."""
        latest: dict[str, RolloutState] = {}
        for rec in self.deps.store.list_records(ROLLOUT_KIND):
            st = RolloutState.from_dict(rec.body)
            latest[st.model_name] = st
        resumed = 0
        for name, st in latest.items():
            if st.phase.is_final:
                continue
            try:
                self._attach(st)
            except Exception as exc:  # the rollout stays stored; routing falls back to production
                log.error("cannot resume rollout %s of %s: %s", st.rollout_id, name, exc)
                continue
            resumed += 1
        return resumed

    def _attach(self, state: RolloutState) -> RolloutController:
        reg = self.deps.registry
        champion = (RoutedModel(state.model_name, state.champion,
                                reg.load_model(state.champion), "champion", state.rollout_id)
                    if state.champion else None)
        candidate = RoutedModel(state.model_name, state.candidate,
                                reg.load_model(state.candidate), "candidate", state.rollout_id)
        ctl = RolloutController(state, self.deps, champion, candidate)
        self.controllers[state.model_name] = ctl
        self.breakers[state.model_name] = CircuitBreaker(
            f"rollout:{state.candidate}", [SERVING_ERROR_RULE], self.deps.clock, 300.0)
        ctl.install_routes()
        return ctl

    # ------------------------------------------------------------------ serving
    def route(self, model_name: str, key: str) -> RoutedModel:
        """The version serving ``key``; the production version when no rollout runs."""
        routed = self.router.route(model_name, key)
        if routed is None:
            routed = self._route_production(model_name, key)
        return routed

    def _route_production(self, model_name: str, key: str) -> RoutedModel:
        mv = self.deps.registry.get_production_model(model_name)
        if mv is None:
            raise NotFoundError(
                f"model_name={model_name!r} has no production version to serve; promote one "
                "to production (or start a rollout) first")
        self.router.set_table(model_name, RouteTable(champion=RoutedModel(
            model_name, mv.version_id, self.deps.registry.load_model(mv.version_id))))
        routed = self.router.route(model_name, key)
        assert routed is not None
        return routed

    def predict(self, model_name: str, key: str, features: Any) -> Prediction:
        """Route and predict; the MODEL_PREDICTION event and the shadow's prediction follow off
        this path (``run_shadows``), so neither adds to the host's latency."""
        routed = self.route(model_name, key)
        value, problem = _run(routed, features)
        if problem is not None:
            routed, value = self._candidate_failed(model_name, routed, features, problem)
        pid = new_id()
        rid = routed.rollout_id
        shadow = None
        if rid is not None:
            table = self.router.table(model_name)
            if table is not None and table.rollout_id == rid:
                shadow = (table.shadow_of_candidate if routed.role == "candidate"
                          else table.shadow_of_champion)
        queued = self.shadows.submit(ShadowRequest(
            pid, model_name, key, features if shadow else None, self.deps.clock.now(), routed,
            value, shadow))
        if queued >= _DRAIN_AT and not self._drain_scheduled:
            self._drain_scheduled = True
            self._spawn(self._drain(), "rollout-shadows")
        return Prediction(pid, model_name, key, routed.version_id, value, routed.role, rid)

    def predict_batch(
        self, model_name: str, keys: Sequence[str], features: Any
    ) -> list[Prediction]:
        """One prediction per key from ``features``, a 2-D batch with one row per key (a
        DataFrame or array): each version predicts its keys' rows in one call.

        Routing, events, shadows and ids are those of ``predict`` key by key. A candidate that
        fails any of its rows is rolled back and the champion answers all of them."""
        n = len(keys)
        rows = _n_rows(features)
        if rows != n:
            raise ValidationError("predict batch", [FieldProblem(
                "features", rows, f"must hold one row per key ({n} keys)")])
        routed = [self.route(model_name, k) for k in keys]
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(routed):
            groups.setdefault(id(r), []).append(i)
        values = [math.nan] * n
        for idx in groups.values():
            served = routed[idx[0]]
            part = features if len(idx) == n else _take(features, idx)
            got, problem = _run_many(served, part, len(idx))
            if problem is not None:
                served, got = self._candidate_failed_batch(model_name, served, part, idx, problem)
            for j, i in enumerate(idx):
                values[i] = got[j]
                routed[i] = served
        now = self.deps.clock.now()
        table = self.router.table(model_name)
        out: list[Prediction] = []
        queued = 0
        for i, key in enumerate(keys):
            served = routed[i]
            pid = new_id()
            rid = served.rollout_id
            shadow = None
            if rid is not None and table is not None and table.rollout_id == rid:
                shadow = (table.shadow_of_candidate if served.role == "candidate"
                          else table.shadow_of_champion)
            queued = self.shadows.submit(ShadowRequest(
                pid, model_name, key, features if shadow else None, now, served, values[i],
                shadow, row=i if shadow else None))
            out.append(Prediction(pid, model_name, key, served.version_id, values[i],
                                  served.role, rid))
        if queued >= _DRAIN_AT and not self._drain_scheduled:
            self._drain_scheduled = True
            self._spawn(self._drain(), "rollout-shadows")
        return out

    def _candidate_failed_batch(
        self, model_name: str, routed: RoutedModel, features: Any, idx: list[int], problem: str
    ) -> tuple[RoutedModel, list[float]]:
        """A candidate failed rows of a batch: roll back at once, the champion answers them."""
        ctl = self.controllers.get(model_name)
        if routed.role != "candidate" or ctl is None or ctl.champion is None:
            raise PredictionFailedError(f"{routed.version_id} failed to predict: {problem}")
        reason = (RollbackReason.NON_FINITE_OUTPUT if problem.startswith("non-finite")
                  else RollbackReason.PREDICTION_ERROR)
        self._roll_back_now(ctl, reason, f"served request failed: {problem}")
        champion = ctl.champion
        values, again = _run_many(champion, features, len(idx))
        if again is not None:
            raise PredictionFailedError(f"{champion.version_id} failed to predict: {again}")
        return champion, values

    async def _drain(self) -> None:
        """Run the queued shadow work in a worker thread (the queue passed ``_DRAIN_AT``)."""
        try:
            await asyncio.to_thread(self.run_shadows)
        finally:
            self._drain_scheduled = False

    def _candidate_failed(
        self, model_name: str, routed: RoutedModel, features: Any, problem: str
    ) -> tuple[RoutedModel, float]:
        """A candidate failed a request: roll back at once and serve the champion instead."""
        ctl = self.controllers.get(model_name)
        if routed.role != "candidate" or ctl is None or ctl.champion is None:
            raise PredictionFailedError(f"{routed.version_id} failed to predict: {problem}")
        reason = (RollbackReason.NON_FINITE_OUTPUT if problem.startswith("non-finite")
                  else RollbackReason.PREDICTION_ERROR)
        self._roll_back_now(ctl, reason, f"served request failed: {problem}")
        champion = ctl.champion
        value, again = _run(champion, features)
        if again is not None:
            raise PredictionFailedError(f"{champion.version_id} failed to predict: {again}")
        return champion, value

    def _roll_back_now(self, ctl: RolloutController, reason: RollbackReason, detail: str) -> None:
        was = ctl.restore_champion(reason, detail)
        if was is not None:
            self._spawn(ctl.finish_rollback_after_tick(was), f"rollback:{ctl.model_name}")

    # ------------------------------------------------------------------ shadows and outcomes
    def run_shadows(self, limit: int | None = None) -> int:
        """Record queued predictions, give them to their shadow versions, keep them for their
        outcomes; a failing candidate in shadow rolls back. Returns how many were handled."""
        with self._shadow_lock:
            results = self.shadows.run(limit)
            for res in results:
                self._handle(res)
        return len(results)

    def _handle(self, res: ShadowResult) -> None:
        req = res.request
        served = req.served
        self._record(LearningEvent(
            EventType.MODEL_PREDICTION, SOURCE, req.key, req.at,
            {"prediction": req.served_value, "version_id": served.version_id,
             "role": served.role, "mode": "served", "rollout_id": served.rollout_id},
            {"model_name": req.model_name, "version_id": served.version_id, "mode": "served"},
            None, req.prediction_id))
        shadow = req.shadow
        if shadow is None:
            return
        ctl = self.controllers.get(req.model_name)
        current = (ctl is not None and ctl.state.rollout_id == shadow.rollout_id
                   and not ctl.state.phase.is_final)
        if not current or ctl is None:
            return  # the rollout ended meanwhile: its shadow's answers are not evidence
        if res.value is None:
            if shadow.role == "candidate":
                ctl.shadow_errors += 1
                reason = (RollbackReason.NON_FINITE_OUTPUT if res.non_finite
                          else RollbackReason.PREDICTION_ERROR)
                self._roll_back_now(ctl, reason, f"shadow prediction failed: {res.error}")
            return
        self._record(LearningEvent(
            EventType.MODEL_PREDICTION, SOURCE, req.key, req.at,
            {"prediction": res.value, "version_id": shadow.version_id, "role": shadow.role,
             "mode": "shadow", "rollout_id": shadow.rollout_id,
             "served_prediction_id": req.prediction_id},
            {"model_name": req.model_name, "version_id": shadow.version_id, "mode": "shadow"}))
        self.ledger.add(req.prediction_id, PendingPrediction(
            req.model_name, ctl.state.rollout_id, req.key, ctl.period_of(req.at),
            served.version_id, {served.version_id: req.served_value, shadow.version_id: res.value}))
        if shadow.role == "candidate":
            ctl.state.shadow_compared += 1
            ctl.state.shadow_agree += int(res.agrees)

    def record_outcome(self, prediction_id: str, realised_return: float) -> bool:
        """The delayed realised return of a prediction, attributed to every version that
        predicted it; False when the prediction is unknown (no rollout, or too old)."""
        if not isinstance(realised_return, int | float) or not math.isfinite(realised_return):
            raise ValidationError("prediction outcome", [FieldProblem(
                "realised_return", realised_return, "must be a finite number (a return)")])
        self.run_shadows()
        pending = self.ledger.pop(prediction_id)
        return pending is not None and self._settle(pending, float(realised_return))

    def _settle(self, pending: PendingPrediction, r: float) -> bool:
        """Book one prediction's outcome (the asset's return ``r``) for candidate and champion;
        False when its rollout moved on or a side is missing."""
        ctl = self.controllers.get(pending.model_name)
        if ctl is None or ctl.state.rollout_id != pending.rollout_id or ctl.state.phase.is_final:
            return False
        champ = ctl.state.champion
        cand = ctl.state.candidate
        if champ is None or cand not in pending.values or champ not in pending.values:
            return False
        return ctl.book.add(pending.period, self._position(cand, pending.values[cand]) * r,
                            self._position(champ, pending.values[champ]) * r)

    def _position(self, version_id: str, signal: float) -> float:
        """The position a version takes on a signal: its own position policy (the one its
        backtest and the host use), else the evidence's default (the signal clipped)."""
        policy = self._policies.get(version_id)
        if policy is None:
            try:
                policy = self.deps.registry.position_policy_of(version_id)
            except LearningEngineError:
                return position(signal)
            self._policies[version_id] = policy
        return policy.position(signal)

    def on_feedback(self, record: FeedbackRecord) -> None:
        """A trade outcome whose ``signal_id`` is a prediction id is that prediction's outcome.

        Its ``return_pct`` is already signed by the served version's position, so the asset's
        return is that divided by the position; a flat position tells nothing and is skipped.
        A host that calls ``record_prediction_outcome`` with the asset's return first has
        already settled the prediction, and the trade is then ignored here.
        """
        if record.feedback_type != "trade_outcome":
            return
        pid = record.data.get("signal_id")
        ret = record.data.get("return_pct")
        if not isinstance(pid, str) or not isinstance(ret, int | float):
            return
        self.run_shadows()  # the prediction's shadow may still be queued
        pending = self.ledger.get(pid)
        if pending is None or pending.served not in pending.values:
            return
        held = self._position(pending.served, pending.values[pending.served])
        if abs(held) < _FLAT_POSITION or not math.isfinite(float(ret)):
            return
        self.ledger.pop(pid)  # the shadows already ran above
        self._settle(pending, float(ret) / held)

    # ------------------------------------------------------------------ triggers
    def report_serving_error(self, model_name: str, key: str, error_type: str,
                             detail: str = "") -> bool:
        """An error on a served request; on the candidate's traffic it feeds the candidate's
        breaker, whose trip rolls back. Returns True when this rolled the candidate back."""
        ctl = self.controllers.get(model_name)
        if ctl is None or ctl.state.phase.is_final:
            return False
        if self.route(model_name, key).role != "candidate":
            return False
        breaker = self.breakers[model_name]
        if breaker.record_error(SERVING_ERROR_RULE.error_type, f"{error_type}: {detail}"):
            self._roll_back_now(ctl, RollbackReason.BREAKER_TRIP,
                                f"breaker tripped on the candidate's traffic ({error_type})")
            return True
        return False

    def on_drift_alert(self, alert: DriftAlert) -> None:
        """A critical drift alert on a candidate rolls its rollout back."""
        if alert.severity is not DriftSeverity.CRITICAL:
            return
        for ctl in list(self.controllers.values()):
            s = ctl.state
            if s.phase.is_final:
                continue
            about = {alert.model_name, str(alert.details.get("version_id", "")),
                     str(alert.details.get("model_version", ""))}
            if s.candidate in about:
                self._roll_back_now(ctl, RollbackReason.CRITICAL_DRIFT,
                                    f"critical {alert.drift_type.value} drift on {alert.metric}")

    async def on_stage_change(self, change: StageChange) -> None:
        """A stage change made outside a rollout: serve the new production version."""
        ctl = self.controllers.get(change.model_name)
        if ctl is not None and not ctl.state.phase.is_final:
            return
        if change.to_stage is ModelStage.PRODUCTION or change.from_stage is ModelStage.PRODUCTION:
            self.router.remove(change.model_name)

    # ------------------------------------------------------------------ rollouts
    async def start(self, model_name: str, version_id: str, strategy: RolloutStrategy | None,
                    actor: str, reason: str) -> RolloutReport | None:
        """Start a rollout of ``version_id``; IMMEDIATE or no champion cut over at once (None)."""
        reg = self.deps.registry
        self.check_can_start(model_name)
        candidate_mv = reg.get_model_version(version_id)
        champion_mv = reg.get_production_model(model_name)
        plan = build_plan(self.spec, self.config, strategy, analysis=self.analysis)
        if plan.strategy is RolloutStrategy.IMMEDIATE or champion_mv is None:
            if plan.strategy is RolloutStrategy.IMMEDIATE:
                self._check_immediate(model_name, version_id, actor, reason)
            why = reason or ("first production version: no champion to compare with"
                             if champion_mv is None else "immediate")
            try:
                await reg.promote_model(model_name, version_id, ModelStage.PRODUCTION,
                                        rollout_strategy=plan.strategy, actor=actor, reason=why)
            except PolicyDeniedError as exc:
                if champion_mv is None and plan.strategy is not RolloutStrategy.IMMEDIATE:
                    raise PolicyDeniedError(exc.action, exc.policy, (
                        f"{model_name} has no production version to run a "
                        f"{plan.strategy.value} rollout against, so starting one promotes "
                        f"{version_id} to production at once, and that is refused: "
                        f"{exc.reason}")) from None
                raise
            self.router.remove(model_name)
            return None
        now = self.deps.clock.now()
        state = RolloutState(new_id(), model_name, candidate_mv.version_id,
                             champion_mv.version_id, plan, RolloutPhase.SHADOW, now, now)
        ctl = self._attach(state)
        await reg.promote_model(model_name, version_id, ModelStage.SHADOW,
                                rollout_strategy=plan.strategy, actor=actor,
                                reason=reason or "rollout starts in shadow")
        ctl.decide("start", f"{plan.strategy.value} rollout of {version_id} against "
                   f"{champion_mv.version_id}" + (f": {reason}" if reason else ""), actor)
        if await asyncio.to_thread(self.deps.backtest_source, version_id) is None:
            ctl.decide("parity_unmeasurable", no_backtest(version_id), actor)
        await ctl.save()
        self.deps.audit.append(actor, "rollout.start", version_id, "allow", reason or "start",
                               {"rollout_id": state.rollout_id, "strategy": plan.strategy.value,
                                "champion": champion_mv.version_id})
        return self.report(model_name)

    def check_can_start(self, model_name: str) -> None:
        """ValidationError when the model has a rollout in progress: one at a time per model."""
        active = self.controllers.get(model_name)
        if active is not None and not active.state.phase.is_final:
            raise ValidationError("start rollout", [FieldProblem(
                "model_name", model_name, f"already has rollout {active.state.rollout_id} of "
                f"{active.state.candidate} in {active.state.phase.value}; approve, wait for or "
                "abort it first")])

    def _check_immediate(self, model_name: str, version_id: str, actor: str, reason: str) -> None:
        problem = None
        if not self.config.allow_immediate_rollout:
            problem = ("IMMEDIATE rollouts are for emergencies and disabled by policy; set "
                       "allow_immediate_rollout=True in the config to allow them")
        elif not reason.strip():
            problem = "an IMMEDIATE rollout needs a reason naming the emergency"
        self.deps.audit.append(actor, "rollout.immediate", version_id,
                               "deny" if problem else "allow", problem or reason,
                               {"model_name": model_name})
        if problem:
            raise PolicyDeniedError("promote", "immediate_rollout", problem)

    @property
    def has_work(self) -> bool:
        """True when a tick has something to do: a live rollout or queued shadow predictions."""
        return len(self.shadows) > 0 or any(
            not ctl.state.phase.is_final for ctl in self.controllers.values()
        )

    async def tick(self) -> dict[str, Move]:
        """Advance every active rollout once (after running queued shadows, off the loop)."""
        await asyncio.to_thread(self.run_shadows)
        moves: dict[str, Move] = {}
        for name, ctl in list(self.controllers.items()):
            if not ctl.state.phase.is_final:
                moves[name] = await ctl.tick()
        return moves

    async def approve(self, model_name: str, approver: str) -> RolloutReport:
        ctl = self._active(model_name)
        if ctl.state.phase not in (RolloutPhase.SHADOW, RolloutPhase.AWAITING_APPROVAL):
            raise ValidationError("approve rollout", [FieldProblem(
                "model_name", model_name, f"rollout is in {ctl.state.phase.value}; only a "
                "rollout in shadow or awaiting approval can be approved")])
        if not approver.strip():
            raise ValidationError("approve rollout", [FieldProblem(
                "approver", approver, "must name who approves")])
        starter = next((d.actor for d in ctl.state.decisions if d.action == "start"), None)
        if approver == starter:  # four eyes: who started the rollout does not approve it
            why = (f"{approver!r} started rollout {ctl.state.rollout_id} and cannot approve it; "
                   "another approver must approve")
            self.deps.audit.append(approver, "rollout.approve", ctl.state.candidate, "deny", why,
                                   {"rollout_id": ctl.state.rollout_id})
            raise PolicyDeniedError("approve rollout", "approval_required", why)
        await ctl.approve(approver)
        await ctl.tick()
        return self.report(model_name)

    async def abort(self, model_name: str, actor: str, reason: str) -> RolloutReport:
        """An operator's rollback: the champion serves again at once."""
        ctl = self._active(model_name)
        was = ctl.restore_champion(RollbackReason.OPERATOR, reason or "aborted by operator", actor)
        if was is not None:
            await ctl.finish_rollback_after_tick(was, actor)
        return self.report(model_name)

    def _active(self, model_name: str) -> RolloutController:
        ctl = self.controllers.get(model_name)
        if ctl is None or ctl.state.phase.is_final:
            raise NotFoundError(f"model_name={model_name!r} has no rollout in progress")
        return ctl

    def reports(self) -> list[RolloutReport]:
        """Every model's current (or last) rollout, by model name."""
        stored = latest_states(self.deps.store)
        return [self.report(name) if name in self.controllers else report_of(stored[name])
                for name in sorted(set(self.controllers) | set(stored))]

    def report(self, model_name: str) -> RolloutReport:
        ctl = self.controllers.get(model_name)
        if ctl is None:
            return stored_report(self.deps.store, model_name)
        return report_of(ctl.state, ctl.book)


def _n_rows(features: Any) -> int:
    """Rows of a 2-D batch (a DataFrame, an array or a list of rows)."""
    shape = getattr(features, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[0])
    if isinstance(features, list | tuple):
        return len(features)
    return -1


def _take(features: Any, idx: list[int]) -> Any:
    """The rows ``idx`` of a batch, of the same kind."""
    iloc = getattr(features, "iloc", None)
    if iloc is not None:
        return iloc[idx]
    if isinstance(features, list | tuple):
        return [features[i] for i in idx]
    return features[idx]


def _run_many(routed: RoutedModel, features: Any, n: int) -> tuple[list[float], str | None]:
    """The model's signals for ``n`` rows in one call, or the problem (an exception, a wrong
    number of values, a non-finite value)."""
    try:
        out = np.asarray(routed.model.predict(features), dtype=float).reshape(-1)
    except Exception as exc:
        return [math.nan] * n, f"{type(exc).__name__}: {exc}"
    if out.shape[0] != n:
        return [math.nan] * n, f"returned {out.shape[0]} values for {n} rows"
    finite = np.isfinite(out)
    if not finite.all():
        return out.tolist(), f"non-finite output {out[~finite][0]}"
    return out.tolist(), None


def _run(routed: RoutedModel, features: Any) -> tuple[float, str | None]:
    """The model's signal, or the problem (an exception, a non-finite value)."""
    try:
        value = scalar(routed.model.predict(features))
    except Exception as exc:
        return math.nan, f"{type(exc).__name__}: {exc}"
    if value != value or value in (math.inf, -math.inf):
        return value, f"non-finite output {value}"
    return value, None
