"""RetrainingPolicy safeguards: each refuses with its reason, the refusal is stored and counted,
and the state survives a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from feedback_loop_helpers import Loop, SklearnLoopActions

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.feedback import (
    TRIGGER_RECORD_KIND,
    PipelineSpec,
    RetrainingPolicy,
    RetrainingTrigger,
    Safeguard,
    TriggerStatus,
    TriggerType,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics

MakeLoop = Callable[..., Loop]


def _trigger(clock: SimulatedClock, kind: TriggerType = TriggerType.DRIFT) -> RetrainingTrigger:
    return RetrainingTrigger.create("m", kind, f"test {kind.value}", clock)


def _stored(store: EventStore, trigger: RetrainingTrigger) -> RetrainingTrigger:
    rec = store.get_record(TRIGGER_RECORD_KIND, trigger.trigger_id)
    assert rec is not None and rec.tag == trigger.model_name
    return RetrainingTrigger.from_body(rec.body)


def _refused(loop: Loop, safeguard: str) -> float:
    """Refusals by ``safeguard``; each is also one ``refused`` outcome of its trigger type."""
    by_safeguard = loop.metrics.sample(
        "retrain_refusals_total", {"model_name": "m", "safeguard": safeguard}
    )
    assert by_safeguard <= loop.metrics.sample(
        "retrain_triggers_total", {"model_name": "m", "trigger_type": "drift", "outcome": "refused"}
    )
    return by_safeguard


async def test_cooldown_refuses_with_next_allowed_time_then_allows(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    loop = make_loop()  # retrain_cooldown_seconds = 6 h
    first = await loop.pipeline.handle_trigger(_trigger(clock))
    assert first.status is TriggerStatus.PROMOTED
    start = first.training_started_at
    assert start is not None

    clock.advance(timedelta(hours=2))
    second = await loop.pipeline.handle_trigger(_trigger(clock))
    assert second.status is TriggerStatus.REFUSED and second.safeguard == Safeguard.COOLDOWN
    assert "next allowed at " + (start + timedelta(hours=6)).isoformat() in str(
        second.refusal_reason
    )
    stored = _stored(store, second)
    assert stored.status is TriggerStatus.REFUSED and stored.refusal_reason == second.refusal_reason
    assert _refused(loop, "cooldown") == 1
    assert len(loop.actions.jobs) == 1  # nothing was trained

    clock.advance(timedelta(hours=4, seconds=1))
    third = await loop.pipeline.handle_trigger(_trigger(clock))
    assert third.status is TriggerStatus.PROMOTED


async def test_max_retrains_per_day(make_loop: MakeLoop, clock: SimulatedClock) -> None:
    loop = make_loop(
        config=LearningEngineConfig.create(retrain_cooldown_seconds=0, max_retrains_per_day=2)
    )
    results = []
    for _ in range(3):
        results.append(await loop.pipeline.handle_trigger(_trigger(clock)))
        clock.advance(timedelta(hours=1))
    assert [t.status for t in results] == [
        TriggerStatus.PROMOTED, TriggerStatus.PROMOTED, TriggerStatus.REFUSED,
    ]
    assert results[2].safeguard == Safeguard.MAX_PER_DAY
    assert "2 retrains of m in the last 24 h" in str(results[2].refusal_reason)
    assert "max_retrains_per_day=2" in str(results[2].refusal_reason)
    clock.advance(timedelta(hours=21, seconds=1))  # 24 h after the first retrain
    assert (await loop.pipeline.handle_trigger(_trigger(clock))).status is TriggerStatus.PROMOTED


async def test_one_pending_retrain_per_model_and_stale_release(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    loop = make_loop()
    a = _trigger(clock)
    assert loop.policy.consider(a).approved
    loop.policy.mark(a, TriggerStatus.TRAINING, job_id="job-a")  # still running
    b = _trigger(clock, TriggerType.MANUAL)
    decision = loop.policy.consider(b)
    assert not decision.approved and decision.safeguard == Safeguard.ONE_PENDING
    assert a.trigger_id in decision.reason
    assert _stored(store, b).safeguard == Safeguard.ONE_PENDING
    other = RetrainingTrigger.create("other", TriggerType.MANUAL, "x", clock)
    assert loop.policy.consider(other).approved  # per model

    # no progress for 2 x training timeout (2 h): the crashed retrain is released as FAILED
    clock.advance(timedelta(hours=2, minutes=1))
    loop.policy.config.retrain_cooldown_seconds = 0
    c = _trigger(clock, TriggerType.MANUAL)
    assert loop.policy.consider(c).approved
    stale = _stored(store, a)
    assert stale.status is TriggerStatus.FAILED and "abandoned" in str(stale.error)


async def test_min_samples(make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec],
                           clock: SimulatedClock, store: EventStore) -> None:
    loop = make_loop(pipeline_config=make_pipeline_config(data_collection={"min_samples": 10_000}))
    t = await loop.pipeline.handle_trigger(_trigger(clock))
    assert t.status is TriggerStatus.REFUSED and t.safeguard == Safeguard.MIN_SAMPLES
    available = t.details["training_samples"]
    assert 2000 < available < 10_000  # ten years of daily bars before 2012
    assert f"{available} training samples of m since" in str(t.refusal_reason)
    assert "10000 needed" in str(t.refusal_reason)
    assert _stored(store, t).status is TriggerStatus.REFUSED
    start, end = loop.actions.counted[-1]
    assert end == clock.now() and end - start == timedelta(days=3650)
    assert _refused(loop, "min_samples") == 1


async def test_min_samples_defaults_to_engine_config_and_count_errors_refuse(
    make_loop: MakeLoop, make_pipeline_config: Callable[..., PipelineSpec],
    clock: SimulatedClock,
) -> None:
    cfg = make_pipeline_config(data_collection={"min_samples": None, "window": "30d"})
    loop = make_loop(pipeline_config=cfg)  # engine default: 1000 samples; 30 days hold ~20
    assert loop.policy.min_samples == 1000
    t = await loop.pipeline.handle_trigger(_trigger(clock))
    assert t.safeguard == Safeguard.MIN_SAMPLES and "1000 needed" in str(t.refusal_reason)

    def broken(*_: object) -> int:
        raise ConnectionError("feature store offline")

    loop.actions.count_training_samples = broken  # type: ignore[method-assign]
    t2 = await loop.pipeline.handle_trigger(_trigger(clock))
    assert t2.safeguard == Safeguard.MIN_SAMPLES and "feature store offline" in str(
        t2.refusal_reason
    )


async def test_auto_retrain_disabled_refuses_automatic_but_not_manual(
    make_loop: MakeLoop, clock: SimulatedClock, store: EventStore
) -> None:
    loop = make_loop(config=LearningEngineConfig.create(auto_retrain_enabled=False))
    t = await loop.pipeline.handle_trigger(_trigger(clock))
    assert t.status is TriggerStatus.REFUSED and t.safeguard == Safeguard.AUTO_RETRAIN_DISABLED
    assert "auto_retrain_enabled=false" in str(t.refusal_reason)
    assert _stored(store, t).safeguard == Safeguard.AUTO_RETRAIN_DISABLED
    manual = await loop.pipeline.request_retrain("m", "operator asked")
    assert manual.status is TriggerStatus.PROMOTED


def _with_nulls(f: pd.DataFrame) -> pd.DataFrame:
    out = f.copy()
    out.iloc[::10, out.columns.get_loc("ret_20")] = np.nan
    return out


@pytest.mark.parametrize(
    ("window", "reference", "check", "text"),
    [
        (lambda f: f.drop(columns=["rsi_14"]), None, "schema", "missing required feature(s)"),
        (_with_nulls, None, "null_rate", "ret_20=10.0"),
        (lambda f: f.loc["2005":"2006"], lambda f: f.loc["2008-09":"2009-06"], "feature_drift",
         "vol_20="),
    ],
)
async def test_data_validation_refuses_before_training(
    make_loop: MakeLoop, make_actions: Callable[..., SklearnLoopActions],
    sp500_features: pd.DataFrame, clock: SimulatedClock, store: EventStore,
    window: Callable[[pd.DataFrame], pd.DataFrame],
    reference: Callable[[pd.DataFrame], pd.DataFrame] | None, check: str, text: str,
) -> None:
    actions = make_actions()
    actions.window = window(sp500_features.loc["2004":"2011"])
    actions.reference = reference(sp500_features) if reference else None
    loop = make_loop(actions=actions)
    t = await loop.pipeline.handle_trigger(_trigger(clock))
    assert t.status is TriggerStatus.REFUSED and t.safeguard == Safeguard.DATA_VALIDATION
    assert text in str(t.refusal_reason)
    assert actions.jobs == {}  # nothing trained on bad data
    stored = _stored(store, t)
    assert stored.status is TriggerStatus.REFUSED and stored.data_validation == t.refusal_reason
    assert loop.policy.pending_trigger("m") is None  # the slot is released
    assert loop.policy.last_retrain_at("m") is None  # and no cooldown starts
    assert _refused(loop, "data_validation") == 1
    steps = [(e.step.value, e.outcome) for e in loop.events]
    assert ("data_validation", "failed") in steps


async def test_restart_keeps_cooldown_and_pending_state(
    make_loop: MakeLoop, clock: SimulatedClock, store_url: str,
    make_pipeline_config: Callable[..., PipelineSpec],
) -> None:
    store1 = open_store(store_url)
    loop = make_loop(store_override=store1)
    done = await loop.pipeline.handle_trigger(_trigger(clock))
    assert done.status is TriggerStatus.PROMOTED
    running = RetrainingTrigger.create("n", TriggerType.MANUAL, "x", clock)
    assert loop.policy.consider(running).approved
    loop.policy.mark(running, TriggerStatus.TRAINING, job_id="job-n")
    store1.close()  # the engine stops

    clock.advance(timedelta(hours=1))
    store2 = open_store(store_url)
    try:
        cfg = LearningEngineConfig.create()
        policy = RetrainingPolicy(cfg, store2, clock, LearningMetrics(), make_pipeline_config())
        policy.attach(loop.actions)
        assert policy.last_retrain_at("m") == done.training_started_at
        assert policy.pending_trigger("n") == running.trigger_id
        refused = policy.consider(_trigger(clock))
        assert refused.safeguard == Safeguard.COOLDOWN
        blocked = policy.consider(RetrainingTrigger.create("n", TriggerType.MANUAL, "y", clock))
        assert blocked.safeguard == Safeguard.ONE_PENDING
    finally:
        store2.close()


def test_only_pending_triggers_are_considered(
    make_loop: MakeLoop, clock: SimulatedClock
) -> None:
    loop = make_loop()
    t = _trigger(clock)
    t.status = TriggerStatus.PROMOTED
    with pytest.raises(ValueError, match="only a pending trigger"):
        loop.policy.consider(t)


def test_policy_without_actions_says_how_to_fix(
    store: EventStore, clock: SimulatedClock, make_pipeline_config: Callable[..., PipelineSpec]
) -> None:
    policy = RetrainingPolicy(
        LearningEngineConfig.create(), store, clock, LearningMetrics(), make_pipeline_config()
    )
    t = _trigger(clock)
    with pytest.raises(RuntimeError, match="attach"):
        policy.consider(t)
    assert store.get_record(TRIGGER_RECORD_KIND, t.trigger_id) is None  # nothing recorded
