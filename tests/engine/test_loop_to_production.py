"""The whole last mile on the real engine, with the production gates on: a retrain the loop
runs by itself goes through its gates to staging, into the pipeline's rollout (shadow, an
operator's approval, the canary ramp) and to production, on parity the engine measures from
the candidate's own forward holdout; no backtest from the host anywhere.

The world has a planted edge (each stock's daily return is 0.35 x yesterday's plus noise), so
an honest model can pass the production gates; the live days continue the same process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from test_production_gates import PARITY_OK

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    ModelStage,
    SimulatedClock,
    TrainingStatus,
)
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant
from ordinis.engines.learning.rollout.state import RolloutPhase
from planted_edge import planted_edge_close

SYMBOLS = [f"E{i}" for i in range(6)]
LIVE_FROM = pd.Timestamp("2016-07-01")
PACK = "pack_90_planted_edge"


def _world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and next-day returns of the planted-edge stocks, one row per (day, stock)."""
    rng = np.random.default_rng(23)
    days = pd.bdate_range("2010-01-01", "2016-12-30")
    frames, targets = [], []
    for sym in SYMBOLS:
        eps = rng.normal(0.0, 0.01, size=len(days))
        r = np.zeros(len(days))
        for t in range(1, len(days)):
            r[t] = 0.35 * r[t - 1] + eps[t]
        close = pd.Series(100.0 * np.cumprod(1.0 + r), index=days)
        frames.append(compute_bar_features(close).assign(symbol=sym))
        targets.append(next_return(close).rename(sym))
    feats = pd.concat(frames).dropna().sort_index(kind="stable")
    return feats, pd.concat(targets, axis=1)


def _at(day: pd.Timestamp) -> datetime:
    return datetime(day.year, day.month, day.day, 21, tzinfo=UTC)


async def test_a_retrain_of_the_loop_reaches_production_on_parity_it_measured_itself(
    data_dir: Path, tmp_path: Path
) -> None:
    feats, nxt = _world()
    history = feats[feats.index < LIVE_FROM]
    live_days = sorted(set(feats.index[feats.index >= LIVE_FROM]))
    pipeline = write_pipeline_variant(tmp_path / "pipeline.yaml", stages={
        "data_collection": {"window": "730d"},
        "training": {"algorithm": "logistic", "params": {}},
        "evaluation": {"benchmarks": [PACK], "thresholds": {}},
    })
    cfg = LearningEngineConfig.create(
        data_dir=data_dir, bootstrap_resamples=200, pipeline_config_path=pipeline,
        enable_drift_detection=False, event_retention_days=36500,
    )
    clock = SimulatedClock(_at(history.index[-1]) + timedelta(hours=1))
    async with LearningEngine(cfg, clock=clock) as engine:
        engine.register_benchmark(PACK, planted_edge_close())
        for day, row in history.iterrows():
            engine.record_event(LearningEvent(
                EventType.SIGNAL_GENERATED, "signal", symbol=str(row["symbol"]),
                timestamp=_at(pd.Timestamp(day)),
                payload={"features": {k: float(row[k]) for k in FEATURE_NAMES}},
                outcome=float(nxt.loc[day, row["symbol"]])))
        await engine.flush_events()

        # the first production version: trained by the host, its parity from the host's own
        # staging run (a first version has no champion to be compared with live)
        job = await engine.submit_training_job("edge", "signal", {
            "algorithm": "logistic", "start": "2013-01-01T00:00:00+00:00",
            "end": "2015-06-30T00:00:00+00:00"})
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        v1 = job.model_version_id
        assert v1 is not None
        first = await engine.evaluate_model(v1)
        assert first.verdict is not None and first.verdict.waiting_for == ("parity",)
        await engine.promote_model("edge", v1, ModelStage.STAGING)
        await engine.record_parity(v1, PARITY_OK)
        await engine.promote_model("edge", v1, ModelStage.PRODUCTION)

        # the loop retrains by itself and takes the candidate as far as the evidence allows
        trigger = await engine.trigger_retraining("edge", "quarterly refresh")
        v2 = trigger.version_id
        assert v2 is not None and trigger.details["rollout"].startswith("canary rollout"), \
            trigger.details
        assert engine.get_rollout("edge").phase is RolloutPhase.SHADOW
        backtest = engine.get_backtest_record(v2)
        assert backtest is not None and len(backtest.returns) > 50  # its forward holdout

        # live: the host trades every stock through the engine each day; returns come a day later
        pending: list[tuple[str, float]] = []
        approved = False
        for day in live_days:
            clock.set(_at(pd.Timestamp(day)))
            for pid, r in pending:
                engine.record_prediction_outcome(pid, r)
            await engine.advance_rollouts()
            report = engine.get_rollout("edge")
            if report.phase.is_final:
                break
            if report.phase is RolloutPhase.AWAITING_APPROVAL and not approved:
                await engine.approve_rollout("edge", "alice")
                approved = True
            rows = feats.loc[[day]]
            preds = engine.predict_batch("edge", list(rows["symbol"]), rows[list(FEATURE_NAMES)])
            pending = [(p.prediction_id, float(nxt.loc[day, sym]))
                       for p, sym in zip(preds, rows["symbol"], strict=True)]
            await engine.drain()

        report = engine.get_rollout("edge")
        assert report.phase is RolloutPhase.PRODUCTION, report.decisions[-3:]
        assert approved
        parity = [d for d in report.decisions if d.action == "parity"]
        assert parity and parity[-1].reason.endswith("(backtest: forward_holdout)")
        measured = engine.get_parity(v2)
        assert measured is not None and measured.parity_ratio >= 0.8
        assert measured.source == "rollout"  # audited with the rollout as actor
        assert any(r.action == "model.parity" and r.actor == "rollout" and r.target == v2
                   for r in engine.audit_records())
        assert engine.get_production_model("edge").version_id == v2  # type: ignore[union-attr]
        assert engine.get_model_version(v1).stage is ModelStage.ARCHIVED
        verdict = engine.get_model_version(v2).production_verdict
        assert verdict is not None and verdict.passed and verdict.waiting_for == ()
