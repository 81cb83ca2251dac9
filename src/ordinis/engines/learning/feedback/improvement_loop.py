"""ImprovementLoop: the acting side of the closed loop.

trigger -> policy safeguards -> data validation -> training -> evaluation and gates ->
promotion to the staging stage. Every step is persisted on the trigger and announced as a
``LoopEvent`` so the demo can print it and the engine can audit it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.models import DriftAlert, TrainingStatus
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback.actions import LoopActions, RolloutStart
from ordinis.engines.learning.feedback.pipeline_spec import PipelineSpec
from ordinis.engines.learning.feedback.policy import RetrainingPolicy, Safeguard
from ordinis.engines.learning.feedback.report import ImprovementReport
from ordinis.engines.learning.feedback.rule_state import (
    RuleState,
    load_rule_state,
    save_rule_state,
)
from ordinis.engines.learning.feedback.triggers import (
    RetrainingTrigger,
    TriggerEvaluator,
    TriggerStatus,
    TriggerType,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import (
    ATTR_JOB,
    ATTR_OUTCOME,
    ATTR_VERSION,
    span,
)

log = logging.getLogger(__name__)

# Wall-clock grace on top of the training timeout before the loop stops waiting for a job
# (the executor enforces the timeout itself; this only guards the loop against a lost job).
_WAIT_GRACE_SECONDS = 60.0


HANDED_TO_LEADER = "handed_to_leader"  # details flag: a follower stored it for the leader
HANDED_MAX_AGE = timedelta(days=1)


class LoopStep(StrEnum):
    """The steps of the chain, as reported in LoopEvents."""

    DRIFT_ALERT = "drift_alert"
    TRIGGER = "trigger"
    POLICY = "policy"
    DATA_VALIDATION = "data_validation"
    TRAINING = "training"
    EVALUATION = "evaluation"
    PROMOTION = "promotion"
    ROLLOUT = "rollout"


@dataclass(slots=True, frozen=True)
class LoopEvent:
    """One thing the loop did, for the demo's console and the engine's audit log."""

    at: datetime
    model_name: str
    trigger_id: str | None
    step: LoopStep
    outcome: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.model_name} {self.step.value}: "
            f"{self.outcome} - {self.message}"
        )


class ImprovementLoop:
    """Turns observations into triggers and runs each approved trigger through the chain."""

    def __init__(
        self,
        policy: RetrainingPolicy,
        actions: LoopActions,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        pipeline: PipelineSpec,
        on_event: Callable[[LoopEvent], None] | None = None,
        baseline_of: Callable[[str], Mapping[str, float]] | None = None,
        leads: Callable[[], bool] | None = None,
    ) -> None:
        """``baseline_of(model_name)``: the stored baseline live metrics are compared with (the
        drift monitor's, so a restarted engine compares with it too); without it,
        ``set_baseline`` keeps one in memory. ``leads()``: whether this engine may act; a
        follower on a shared store hands its triggers to the leader instead (None: always)."""
        self.policy = policy
        self.actions = actions
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.pipeline = pipeline
        self.on_event = on_event
        self.rules = TriggerEvaluator(pipeline.triggers, clock, baseline_of)
        self._saved_rules = RuleState()
        self.leads = leads
        self._taking: set[str] = set()
        self.events: deque[LoopEvent] = deque(maxlen=1000)
        self._tasks: set[asyncio.Task[RetrainingTrigger | None]] = set()
        if policy.actions is None:
            policy.attach(actions)
        for model_name in pipeline.triggers.schedule.models:
            self.watch(model_name)

    # ------------------------------------------------------------------ observations
    async def handle_drift_alert(self, alert: DriftAlert) -> RetrainingTrigger | None:
        """Feed a drift alert to the rules; run the trigger it raises, if any."""
        trigger = self.rules.on_drift_alert(alert)
        self._emit(
            alert.model_name,
            trigger.trigger_id if trigger else None,
            LoopStep.DRIFT_ALERT,
            trigger.trigger_type.value if trigger else "counted",
            alert.describe(),
        )
        return await self.handle_trigger(trigger) if trigger is not None else None

    async def on_live_metrics(
        self,
        model_name: str,
        live_metrics: Mapping[str, float],
        baseline: Mapping[str, float] | None = None,
    ) -> RetrainingTrigger | None:
        """Compare live metrics with the baseline (``set_baseline`` or ``baseline``); act on it."""
        trigger = self.rules.on_live_metrics(model_name, live_metrics, baseline)
        return await self.handle_trigger(trigger) if trigger is not None else None

    async def on_trade_outcome(self, model_name: str, pnl: float) -> RetrainingTrigger | None:
        """Feed one closed trade; N consecutive losses raise a trigger."""
        trigger = self.trade_trigger(model_name, pnl)
        return await self.handle_trigger(trigger) if trigger is not None else None

    def trade_trigger(self, model_name: str, pnl: float) -> RetrainingTrigger | None:
        """Feed one closed trade to the loss rule without awaiting: the trigger it raises, if
        any, for ``handle_trigger`` (a book of many trades a bar costs no task per trade)."""
        return self.rules.on_trade_outcome(model_name, pnl)

    async def tick(self) -> list[RetrainingTrigger]:
        """Run the scheduled triggers due on the clock (the engine's Scheduler calls this),
        then store what the rules have counted."""
        done = [await self.handle_trigger(t) for t in self.rules.on_tick()]
        state = RuleState.of(self.rules)
        if state != self._saved_rules:  # a store round trip only then
            await asyncio.to_thread(self._store_rule_state, state)
        return done

    def load_rule_state(self) -> None:
        """Take up the losing streaks and alert counts a stopped engine had reached."""
        self._saved_rules = load_rule_state(self.store, self.rules)

    def save_rule_state(self) -> None:
        """Store the rules' counts when they changed since the last save."""
        state = RuleState.of(self.rules)
        if state != self._saved_rules:
            self._store_rule_state(state)

    def _store_rule_state(self, state: RuleState) -> None:
        save_rule_state(self.store, state, self.clock.now())
        self._saved_rules = state

    async def request_retrain(self, model_name: str, reason: str = "") -> RetrainingTrigger:
        """An operator's manual retrain (passes auto_retrain_enabled, not the other safeguards)."""
        return await self.handle_trigger(RetrainingTrigger.manual(model_name, reason, self.clock))

    def open_manual_trigger(self, model_name: str, reason: str = "") -> RetrainingTrigger:
        """A manual trigger recorded as pending, for ``handle_trigger`` to run later: a caller
        that cannot wait for the chain (an HTTP request) gets its id at once."""
        trigger = RetrainingTrigger.manual(model_name, reason, self.clock)
        self.policy.record(trigger)
        return trigger

    def drift_listener(
        self, loop: asyncio.AbstractEventLoop | None = None
    ) -> Callable[[DriftAlert], None]:
        """A synchronous callback for ``DriftMonitor.add_listener``: each alert is scheduled as
        ``handle_drift_alert`` on ``loop`` (default: the running loop), from any thread."""
        target = loop or asyncio.get_running_loop()

        def start(alert: DriftAlert) -> None:
            task = target.create_task(self.handle_drift_alert(alert))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

        def listener(alert: DriftAlert) -> None:
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is target:
                start(alert)
            else:
                target.call_soon_threadsafe(start, alert)

        return listener

    async def drain(self) -> None:
        """Wait until every alert handed to a ``drift_listener`` has run through the chain."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _task_done(self, task: asyncio.Task[RetrainingTrigger | None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("drift alert handling failed", exc_info=task.exception())

    def set_baseline(self, model_name: str, metrics: Mapping[str, float]) -> None:
        """The metrics live results are compared with (typically the promoted version's)."""
        self.rules.degradation.set_baseline(model_name, metrics)

    def watch(self, model_name: str) -> None:
        """Put ``model_name`` on the retraining schedule, resuming after its last scheduled run."""
        last = None
        for t in self.policy.list_triggers(model_name):
            if t.trigger_type is TriggerType.SCHEDULED:
                last = t.created_at
        self.rules.schedule.watch(model_name, last)

    # ------------------------------------------------------------------ the chain
    async def handle_trigger(self, trigger: RetrainingTrigger) -> RetrainingTrigger:
        """Run one trigger through the chain; returns it with its final status (all persisted).

        On a follower it is stored PENDING, handed to the leader (``take_handed_triggers``)."""
        if self.leads is not None and not self.leads():
            return self._hand_to_leader(trigger)
        with span(self.metrics.tracer, "learning.retrain", model=trigger.model_name,
                  trigger_id=trigger.trigger_id,
                  trigger_type=trigger.trigger_type.value) as sp:
            done = await self._run_chain(trigger)
            sp.set_attribute(ATTR_OUTCOME, done.status.value)
            if done.version_id:
                sp.set_attribute(ATTR_VERSION, done.version_id)
            if done.job_id:
                sp.set_attribute(ATTR_JOB, done.job_id)
            return done

    def _hand_to_leader(self, trigger: RetrainingTrigger) -> RetrainingTrigger:
        """Store the trigger PENDING, marked for the leader: one engine runs the loop."""
        trigger.details[HANDED_TO_LEADER] = True
        self.policy.record(trigger)
        self._emit_t(trigger, LoopStep.TRIGGER, "handed_to_leader",
                     f"{trigger.reason} (raised on a follower; the leader runs it)")
        return trigger

    async def take_handed_triggers(self) -> list[RetrainingTrigger]:
        """Run the triggers followers handed over, oldest first (the leader's schedule calls
        this). One no leader took within ``HANDED_MAX_AGE`` fails as expired instead."""
        now = self.clock.now()
        stored = await asyncio.to_thread(self.policy.list_triggers, None, now - 7 * HANDED_MAX_AGE)
        done: list[RetrainingTrigger] = []
        for trigger in stored:
            if (trigger.status is not TriggerStatus.PENDING
                    or not trigger.details.get(HANDED_TO_LEADER)
                    or trigger.trigger_id in self._taking):
                continue
            self._taking.add(trigger.trigger_id)
            try:
                if now - trigger.created_at > HANDED_MAX_AGE:
                    hours = HANDED_MAX_AGE.total_seconds() / 3600.0
                    done.append(self._fail(
                        trigger, LoopStep.TRIGGER,
                        f"expired: raised on a follower at {trigger.created_at.isoformat()} and "
                        f"taken by no leader within {hours:g} h"))
                else:
                    done.append(await self.handle_trigger(trigger))
            finally:
                self._taking.discard(trigger.trigger_id)
        return done

    async def _run_chain(self, trigger: RetrainingTrigger) -> RetrainingTrigger:
        model = trigger.model_name
        self._emit_t(trigger, LoopStep.TRIGGER, trigger.trigger_type.value, trigger.reason)
        # the safeguards count samples and validation reads the window: both see all of
        # [start, now), whatever the writer has committed so far (the same result every run)
        await self.actions.commit_events()
        decision = self.policy.consider(trigger)
        if not decision.approved:
            self._emit_t(trigger, LoopStep.POLICY, f"refused:{decision.safeguard}", decision.reason)
            return trigger
        self._emit_t(trigger, LoopStep.POLICY, "approved", decision.reason)

        try:
            report = await asyncio.to_thread(self.policy.validate_data, trigger)
        except Exception as exc:
            reason = f"data validation could not run: {exc}"
            self.policy.refuse(trigger, Safeguard.DATA_VALIDATION, reason)
            self._emit_t(trigger, LoopStep.DATA_VALIDATION, "error", reason)
            return trigger
        trigger.data_validation = report.summary()
        if not report.passed:
            self.policy.refuse(trigger, Safeguard.DATA_VALIDATION, report.summary())
            self._emit_t(trigger, LoopStep.DATA_VALIDATION, "failed", report.summary())
            return trigger
        self._emit_t(trigger, LoopStep.DATA_VALIDATION, "passed", report.summary())

        # training
        self.policy.mark(trigger, TriggerStatus.TRAINING)
        try:
            job = await self.actions.start_training(model, trigger)
            self.policy.mark(trigger, TriggerStatus.TRAINING, job_id=job.job_id)
            self._emit_t(trigger, LoopStep.TRAINING, "started", f"job {job.job_id}")
            timeout = self.pipeline.training.timeout_seconds + _WAIT_GRACE_SECONDS
            job = await asyncio.wait_for(self.actions.wait_for_training(job.job_id), timeout)
        except TimeoutError:
            return self._fail(trigger, LoopStep.TRAINING, "training timed out: no result within "
                              f"{self.pipeline.training.timeout_seconds:g} s")
        except Exception as exc:
            return self._fail(trigger, LoopStep.TRAINING, f"training could not run: {exc}")
        if job.status is not TrainingStatus.COMPLETED:
            return self._fail(
                trigger, LoopStep.TRAINING,
                f"training job {job.job_id} {job.status.value}: "
                f"{job.error_message or 'no message'}",
            )
        if not job.model_version_id:
            return self._fail(
                trigger, LoopStep.TRAINING,
                f"training job {job.job_id} completed without registering a model version",
            )
        version_id = job.model_version_id
        self.policy.mark(
            trigger, TriggerStatus.EVALUATING, version_id=version_id,
            training_metrics={k: float(v) for k, v in job.metrics.items()},
        )
        self._emit_t(trigger, LoopStep.TRAINING, "completed", f"version {version_id}")

        # evaluation and gates
        try:
            await self.actions.commit_events()  # the forward holdout up to now, all of it
            outcome = await self.actions.evaluate_and_gate(model, version_id)
        except Exception as exc:
            return self._fail(trigger, LoopStep.EVALUATION, f"evaluation could not run: {exc}")
        trigger.gate_passed = outcome.passed
        trigger.gate_summary = outcome.report_summary
        trigger.gate_metrics = {k: float(v) for k, v in outcome.metrics.items()}
        trigger.evaluation_id = outcome.evaluation_id
        if outcome.report_text:
            trigger.details["gate_report"] = outcome.report_text
        if not outcome.passed:
            self.policy.mark(trigger, TriggerStatus.GATED_OUT)
            self._emit_t(trigger, LoopStep.EVALUATION, "gated_out", outcome.report_summary)
            return trigger
        self._emit_t(trigger, LoopStep.EVALUATION, "passed", outcome.report_summary)

        # promotion to the next stage
        staging = self.pipeline.staging
        if not staging.auto_promote:
            self.policy.mark(trigger, TriggerStatus.COMPLETED)
            self._emit_t(trigger, LoopStep.PROMOTION, "awaiting_approval",
                         f"version {version_id} passed; staging.auto_promote is off")
            return trigger
        reason = f"retrain {trigger.trigger_id} ({trigger.trigger_type.value}) passed the gates"
        try:
            await self.actions.promote(model, version_id, staging.target_stage, reason)
        except Exception as exc:
            return self._fail(trigger, LoopStep.PROMOTION, f"promotion failed: {exc}")
        self._emit_t(trigger, LoopStep.PROMOTION, "promoted",
                     f"version {version_id} -> {staging.target_stage.value}")
        start = None
        if self.pipeline.production.auto_rollout:
            # decided before the trigger turns PROMOTED: whoever follows the trigger sees its
            # end whole (the decision may take a production evaluation)
            start = await self._start_rollout(model, version_id, reason)
            trigger.details["rollout"] = start.message
            if start.rollout_id:
                trigger.details["rollout_id"] = start.rollout_id
        self.policy.mark(trigger, TriggerStatus.PROMOTED, promoted_to=staging.target_stage.value)
        if start is not None and start.considered:
            self._emit_t(trigger, LoopStep.ROLLOUT,
                         "started" if start.started else "not_started", start.message)
        return trigger

    async def _start_rollout(self, model: str, version_id: str, reason: str) -> RolloutStart:
        """The staged candidate goes on to the production rollout (shadow, then the ramp) when
        the production gates allow it; otherwise it stays staged, and the answer says why."""
        try:
            return await self.actions.start_rollout(model, version_id, reason)
        except Exception as exc:  # the promotion stands; the rollout is the operator's call
            log.exception("rollout of %s could not start", version_id)
            return RolloutStart(False, f"{version_id} stays staged: rollout could not start: "
                                f"{exc}")

    def _fail(self, trigger: RetrainingTrigger, step: LoopStep, error: str) -> RetrainingTrigger:
        self.policy.mark(trigger, TriggerStatus.FAILED, error=error)
        self._emit_t(trigger, step, "failed", error)
        return trigger

    # ------------------------------------------------------------------ reporting
    def report(
        self, start: datetime, end: datetime, model_name: str | None = None
    ) -> ImprovementReport:
        """What triggered, trained, scored, was promoted or refused in ``[start, end)``."""
        if end <= start:
            raise ValueError(
                f"report: end={end.isoformat()} must be after start={start.isoformat()}"
            )
        return ImprovementReport(
            start=start,
            end=end,
            model_name=model_name,
            triggers=self.policy.list_triggers(model_name, start, end),
        )

    # ------------------------------------------------------------------ events
    def _emit_t(
        self, trigger: RetrainingTrigger, step: LoopStep, outcome: str, message: str
    ) -> None:
        self._emit(trigger.model_name, trigger.trigger_id, step, outcome, message)

    def _emit(
        self, model_name: str, trigger_id: str | None, step: LoopStep, outcome: str, message: str
    ) -> None:
        event = LoopEvent(self.clock.now(), model_name, trigger_id, step, outcome, message)
        self.events.append(event)
        log.info("%s", event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken listener must not stop the loop
                log.exception("on_event listener failed for %s", event)
