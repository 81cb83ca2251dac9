"""The full chain with a real scikit-learn model: approved -> trained -> gated -> promoted, and
the ways it stops (gated out, failed training, failed promotion); reports over a period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from feedback_loop_helpers import Loop, SklearnLoopActions

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity, DriftType, ModelStage
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback import (
    TRIGGER_RECORD_KIND,
    LoopEvent,
    PipelineSpec,
    RetrainingTrigger,
    RolloutStart,
    TriggerStatus,
    TriggerType,
)

MakeLoop = Callable[..., Loop]


def _alert(clock: SimulatedClock, severity: DriftSeverity = DriftSeverity.CRITICAL) -> DriftAlert:
    return DriftAlert(
        model_name="m", drift_type=DriftType.CONCEPT, severity=severity, metric="hit_rate",
        current_value=0.44, baseline_value=0.56, threshold=0.1, detected_at=clock.now(),
    )


def _stored(store: EventStore, trigger_id: str) -> RetrainingTrigger:
    rec = store.get_record(TRIGGER_RECORD_KIND, trigger_id)
    assert rec is not None
    return RetrainingTrigger.from_body(rec.body)


async def test_drift_alert_runs_the_whole_chain_to_staging(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    loop = make_loop()
    t = await loop.pipeline.handle_drift_alert(_alert(clock))
    assert t is not None and t.status is TriggerStatus.PROMOTED
    assert t.trigger_type is TriggerType.DRIFT and t.version_id == "m:1"
    assert t.gate_passed and t.gate_metrics["accuracy"] >= 0.6  # real holdout accuracy
    assert t.training_metrics["train_accuracy"] > 0.6
    assert t.promoted_to == "staging"
    assert loop.actions.stages == {"m:1": ModelStage.STAGING}
    _, _, stage, reason = loop.actions.promotions[0]
    assert stage is ModelStage.STAGING and t.trigger_id in reason

    stored = _stored(store, t.trigger_id)
    assert stored == t  # every field persisted, final state included
    assert stored.job_id in loop.actions.jobs
    assert "data validation passed" in str(stored.data_validation)
    assert loop.actions.commits == 2  # buffered events committed before validation and evaluation

    steps = [(e.step.value, e.outcome) for e in loop.events]
    assert steps == [
        ("drift_alert", "drift"),
        ("trigger", "drift"),
        ("policy", "approved"),
        ("data_validation", "passed"),
        ("training", "started"),
        ("training", "completed"),
        ("evaluation", "passed"),
        ("promotion", "promoted"),
    ]
    assert all(e.trigger_id == t.trigger_id for e in loop.events)
    assert "m drift_alert: drift - critical concept drift on hit_rate" in str(loop.events[0])
    assert loop.metrics.sample(
        "retrain_triggers_total",
        {"model_name": "m", "trigger_type": "drift", "outcome": "promoted"},
    ) == 1


async def test_failing_candidate_is_gated_out_with_its_report(
    make_loop: MakeLoop, make_actions: Callable[..., SklearnLoopActions],
    clock: SimulatedClock, store: EventStore,
) -> None:
    loop = make_loop(actions=make_actions(label_mode="coin", min_accuracy=0.6))
    t = await loop.pipeline.request_retrain("m", "weekly review")
    assert t.status is TriggerStatus.GATED_OUT
    assert t.gate_passed is False and t.gate_metrics["accuracy"] < 0.6
    assert "FAIL" in str(t.gate_summary) and t.evaluation_id
    assert loop.actions.promotions == []  # stays out
    stored = _stored(store, t.trigger_id)
    assert stored.status is TriggerStatus.GATED_OUT and stored.gate_summary == t.gate_summary
    assert "gate accuracy" in stored.details["gate_report"]
    assert loop.events[-1].step.value == "evaluation" and loop.events[-1].outcome == "gated_out"
    assert loop.policy.pending_trigger("m") is None
    assert loop.policy.last_retrain_at("m") == t.training_started_at  # it did cost a retrain


async def test_failed_training_and_failed_promotion_are_recorded(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    loop = make_loop(config=LearningEngineConfig.create(retrain_cooldown_seconds=0))
    loop.actions.fail_training = True
    t = await loop.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.FAILED and "out of memory (injected)" in str(t.error)
    assert t.job_id is not None and t.version_id is None
    assert _stored(store, t.trigger_id).status is TriggerStatus.FAILED

    loop.actions.fail_training = False

    async def refuse_promotion(*_: object) -> None:
        raise PermissionError("governance: promotions frozen")

    loop.actions.promote = refuse_promotion  # type: ignore[method-assign]
    clock.advance(60)
    t2 = await loop.pipeline.request_retrain("m")
    assert t2.status is TriggerStatus.FAILED and "promotions frozen" in str(t2.error)
    assert t2.gate_passed is True and t2.version_id == "m:1"
    assert loop.events[-1].step.value == "promotion"


async def test_without_auto_promote_a_passing_candidate_waits(
    make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec]
) -> None:
    loop = make_loop(pipeline_config=make_pipeline_config(staging={"auto_promote": False}))
    t = await loop.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.COMPLETED and t.gate_passed
    assert loop.actions.promotions == []
    assert loop.events[-1].outcome == "awaiting_approval"


async def test_warning_alerts_count_until_more_than_k_in_the_window(
    make_loop: MakeLoop, clock: SimulatedClock
) -> None:
    loop = make_loop()  # max_alerts 3 within 6 h
    results = []
    for _ in range(4):
        results.append(await loop.pipeline.handle_drift_alert(_alert(clock, DriftSeverity.WARNING)))
        clock.advance(timedelta(minutes=20))
    assert results[:3] == [None, None, None]
    assert results[3] is not None and results[3].trigger_type is TriggerType.ALERT_COUNT
    assert results[3].status is TriggerStatus.PROMOTED
    assert [e.outcome for e in loop.events[:3]] == ["counted"] * 3


async def test_live_metrics_losses_and_schedule_feed_the_loop(
    make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec],
    clock: SimulatedClock,
) -> None:
    cfg = make_pipeline_config(
        triggers={"schedule": {"enabled": True, "every": "weekly", "models": ["s"]},
                  "consecutive_losses": {"count": 3}}
    )
    loop = make_loop(
        config=LearningEngineConfig.create(retrain_cooldown_seconds=0, max_retrains_per_day=10),
        pipeline_config=cfg,
    )
    loop.pipeline.set_baseline("m", {"sharpe": 1.5})
    assert await loop.pipeline.on_live_metrics("m", {"sharpe": 1.4}) is None
    degraded = await loop.pipeline.on_live_metrics("m", {"sharpe": 0.9})
    assert degraded is not None and degraded.trigger_type is TriggerType.PERFORMANCE_DEGRADATION
    assert degraded.status is TriggerStatus.PROMOTED

    for pnl in (-1.0, -2.0):
        assert await loop.pipeline.on_trade_outcome("m", pnl) is None
    losses = await loop.pipeline.on_trade_outcome("m", -0.5)
    assert losses is not None and losses.trigger_type is TriggerType.CONSECUTIVE_LOSSES

    assert await loop.pipeline.tick() == []  # Tuesday: not due
    clock.advance(timedelta(days=6))  # past Monday 00:00
    fired = await loop.pipeline.tick()
    assert [(t.model_name, t.trigger_type, t.status) for t in fired] == [
        ("s", TriggerType.SCHEDULED, TriggerStatus.PROMOTED)
    ]
    assert await loop.pipeline.tick() == []


async def test_schedule_resumes_from_stored_triggers_after_restart(
    make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec],
    clock: SimulatedClock,
) -> None:
    cfg = make_pipeline_config(triggers={"schedule": {"enabled": True, "models": ["s"]}})
    loop = make_loop(pipeline_config=cfg)
    clock.advance(timedelta(days=6))
    assert len(await loop.pipeline.tick()) == 1
    clock.advance(timedelta(hours=1))
    restarted = make_loop(pipeline_config=cfg)  # same store, new pipeline
    assert await restarted.pipeline.tick() == []  # this week's run is already done
    assert restarted.pipeline.rules.schedule.next_run("s") == clock.now().replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=7)


async def test_a_follower_hands_triggers_over_and_the_leader_runs_or_expires_them(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    """Run on a follower, the chain does nothing but store the trigger for the leader; the
    leader runs the fresh one to its end and fails the one no leader took within a day."""
    follower = make_loop()
    follower.pipeline.leads = lambda: False
    old = await follower.pipeline.handle_drift_alert(_alert(clock))
    assert old is not None and old.status is TriggerStatus.PENDING
    clock.advance(timedelta(hours=25))
    fresh = await follower.pipeline.handle_drift_alert(_alert(clock))
    assert fresh is not None and fresh.status is TriggerStatus.PENDING
    assert [(e.step.value, e.outcome) for e in follower.events] == [
        ("drift_alert", "drift"), ("trigger", "handed_to_leader")] * 2
    assert follower.actions.jobs == {}  # nothing trained on the follower

    leader = make_loop()  # the same store
    done = {t.trigger_id: t for t in await leader.pipeline.take_handed_triggers()}
    assert done[fresh.trigger_id].status is TriggerStatus.PROMOTED
    assert done[old.trigger_id].status is TriggerStatus.FAILED
    assert str(done[old.trigger_id].error).startswith("expired: raised on a follower at ")
    assert _stored(store, old.trigger_id).status is TriggerStatus.FAILED
    assert await leader.pipeline.take_handed_triggers() == []  # each is taken once


async def test_broken_listener_does_not_stop_the_loop(
    make_loop: MakeLoop, clock: SimulatedClock
) -> None:
    loop = make_loop()
    seen: list[LoopEvent] = []

    def listener(event: LoopEvent) -> None:
        seen.append(event)
        raise RuntimeError("console closed")

    loop.pipeline.on_event = listener
    t = await loop.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.PROMOTED and len(seen) == len(loop.pipeline.events) == 7


async def test_report_says_what_triggered_trained_scored_promoted_or_refused(
    make_loop: MakeLoop, make_actions: Callable[..., SklearnLoopActions],
    clock: SimulatedClock,
) -> None:
    loop = make_loop(config=LearningEngineConfig.create(retrain_cooldown_seconds=3600))
    t0 = clock.now()
    promoted = await loop.pipeline.handle_drift_alert(_alert(clock))
    clock.advance(600)
    refused = await loop.pipeline.request_retrain("m", "again")
    clock.advance(7200)
    loop.actions.label_mode = "coin"
    gated = await loop.pipeline.request_retrain("m", "after cooldown")
    other = await loop.pipeline.request_retrain("other", "another model")  # coin too: gated
    clock.advance(60)

    report = loop.pipeline.report(t0, clock.now())
    assert [t.trigger_id for t in report.triggers] == [
        x.trigger_id for x in (promoted, refused, gated, other) if x is not None
    ]
    assert report.by_status == {"promoted": 1, "refused": 1, "gated_out": 2}
    assert report.by_type == {"drift": 1, "manual": 3}
    assert report.refusals_by_safeguard == {"cooldown": 1}
    assert len(report.trained) == 3 and len(report.promoted) == 1

    text = report.render()
    assert "triggers: 4 (drift 1, manual 3)" in text
    assert "trained: 3, promoted: 1, gated out: 2, failed: 0, refused: 1 (cooldown 1)" in text
    assert "refused by cooldown: cooldown: last retrain of m" in text
    assert "promoted to staging" in text and "version m:1" in text
    assert "gates: holdout accuracy" in text and "scores: accuracy=" in text

    only_other = loop.pipeline.report(t0, clock.now(), model_name="other")
    assert [t.model_name for t in only_other.triggers] == ["other"]
    empty = loop.pipeline.report(clock.now(), clock.now() + timedelta(days=1))
    assert empty.triggers == [] and "nothing triggered" in empty.render()
    with pytest.raises(ValueError, match="must be after start"):
        loop.pipeline.report(clock.now(), t0)


async def test_drift_listener_schedules_alerts_from_the_loop_and_other_threads(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    import asyncio

    loop = make_loop()
    listener = loop.pipeline.drift_listener()
    listener(_alert(clock))  # from the event loop's thread, as a DriftMonitor check would
    await asyncio.to_thread(listener, _alert(clock))  # from a worker thread
    await loop.pipeline.drain()
    stored = loop.policy.list_triggers("m")
    assert sorted(t.status.value for t in stored) == ["promoted", "refused"]
    # the second alert meets the first retrain still running, or just finished: either way
    # a safeguard stops a second retrain of the same model
    refused = next(t for t in stored if t.status is TriggerStatus.REFUSED)
    assert refused.safeguard in ("one_pending", "cooldown")


async def test_a_staged_candidate_goes_on_to_the_production_rollout(
    make_loop: MakeLoop, store: EventStore
) -> None:
    loop = make_loop()
    loop.actions.rollout_answer = RolloutStart(
        True, "canary rollout R1 of m:1 against m:0 started in shadow", "R1"
    )
    t = await loop.pipeline.request_retrain("m", "weekly review")
    assert t.status is TriggerStatus.PROMOTED and t.promoted_to == "staging"
    [(model, version, reason)] = loop.actions.rollout_calls
    assert (model, version) == ("m", "m:1") and t.trigger_id in reason
    assert t.details["rollout"] == "canary rollout R1 of m:1 against m:0 started in shadow"
    assert t.details["rollout_id"] == "R1"
    assert _stored(store, t.trigger_id) == t  # the rollout is persisted with the trigger
    last = loop.events[-1]
    assert (last.step.value, last.outcome) == ("rollout", "started") and "R1" in last.message
    text = loop.pipeline.report(t.created_at, t.created_at + timedelta(days=1)).render()
    assert "    rollout: canary rollout R1 of m:1 against m:0 started in shadow" in text
    # counted once, as promoted
    assert loop.metrics.sample(
        "retrain_triggers_total",
        {"model_name": "m", "trigger_type": "manual", "outcome": "promoted"},
    ) == 1


async def test_a_candidate_the_production_gates_refuse_stays_staged(
    make_loop: MakeLoop, store: EventStore
) -> None:
    loop = make_loop()
    refusal = "m:1 stays staged: production: blocked by dsr"
    loop.actions.rollout_answer = RolloutStart(False, refusal)
    t = await loop.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.PROMOTED and "rollout_id" not in t.details
    assert _stored(store, t.trigger_id).details["rollout"] == (
        "m:1 stays staged: production: blocked by dsr"
    )
    last = loop.events[-1]
    assert (last.step.value, last.outcome) == ("rollout", "not_started")
    assert last.message == "m:1 stays staged: production: blocked by dsr"


async def test_a_rollout_that_cannot_start_leaves_the_promotion_standing(
    make_loop: MakeLoop,
) -> None:
    loop = make_loop()
    loop.actions.rollout_answer = RuntimeError("router unavailable")
    t = await loop.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.PROMOTED and t.error is None
    assert loop.actions.stages == {"m:1": ModelStage.STAGING}
    assert t.details["rollout"] == (
        "m:1 stays staged: rollout could not start: router unavailable"
    )
    assert (loop.events[-1].step.value, loop.events[-1].outcome) == ("rollout", "not_started")


async def test_without_a_production_version_the_loop_stops_at_staging_silently(
    make_loop: MakeLoop,
) -> None:
    loop = make_loop()  # the default answer: no production version to compare with
    t = await loop.pipeline.request_retrain("m")
    assert len(loop.actions.rollout_calls) == 1
    assert t.details["rollout"] == "no production version"
    assert loop.events[-1].step.value == "promotion"  # nothing to decide: no rollout event


async def test_with_auto_rollout_off_the_loop_does_not_ask(
    make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec]
) -> None:
    off = make_loop(pipeline_config=make_pipeline_config(production={"auto_rollout": False}))
    off.actions.rollout_answer = RolloutStart(True, "would start", "R9")
    t = await off.pipeline.request_retrain("m")
    assert t.status is TriggerStatus.PROMOTED and off.actions.rollout_calls == []
    assert "rollout" not in t.details
