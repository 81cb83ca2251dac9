"""The engine's own backtest for parity: a version it trained, judged on the production gates,
keeps its forward holdout traded the way the live evidence book trades (position for the
signal times the realised return), so its rollout can measure parity without the host."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from market_events import signal_events

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    SimulatedClock,
    TrainingStatus,
)
from ordinis.engines.learning.evaluation.oos import OutOfSample
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

SYMBOLS = ["AAPL", "JPM", "XOM"]


async def test_a_trained_version_keeps_its_forward_holdout_as_its_backtest(
    data_dir: Path,
) -> None:
    events = signal_events(SYMBOLS, "2004-01-01", "2006-12-31")
    now = events[-1].timestamp + timedelta(hours=1)
    cfg = LearningEngineConfig.create(data_dir=data_dir, bootstrap_resamples=200,
                                      min_samples_for_training=500)
    async with LearningEngine(cfg, clock=SimulatedClock(now)) as engine:
        for ev in events:
            engine.record_event(ev)
        await engine.flush_events()
        job = await engine.submit_training_job("hold", "signal", {
            "algorithm": "logistic", "start": "2004-01-01T00:00:00+00:00",
            "end": "2006-03-31T00:00:00+00:00"})
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        version = job.model_version_id
        assert version is not None
        # a verdict of another gate set keeps nothing: only the production verdict's holdout
        await engine.evaluate_model(version, gate_set="staging")
        assert engine.get_backtest_record(version) is None
        result = await engine.evaluate_model(version)
        assert result.scope is not None
        assert not {p.name: p for p in result.scope.packs}["forward_holdout"].skipped
        record = engine.get_backtest_record(version)
        assert record is not None
        mv = engine.get_model_version(version)
        model = engine.load_model(version)
        policy = engine.position_policy(version)
        oos = OutOfSample.for_version(now, mv.lineage, mv.parameters)
        assert oos.excluded_end is not None
        # by hand: every held-out event, its position times its own outcome, mean per day;
        # the last day has no realised return on the holdout's grid
        held = [e for e in events if oos.excluded_end < e.timestamp < events[-1].timestamp]
        frame = pd.DataFrame([e.payload["features"] for e in held], columns=list(FEATURE_NAMES))
        positions = policy.positions(np.asarray(model.predict(frame), dtype=float))
        by_day: dict[datetime, list[float]] = defaultdict(list)
        for e, pos in zip(held, positions, strict=True):
            assert e.outcome is not None
            by_day[e.timestamp].append(float(pos) * e.outcome)
        days = sorted(by_day)
        assert len(days) > 100
        assert list(record.returns.index) == [
            pd.Timestamp(d.replace(hour=0)) for d in days]
        np.testing.assert_allclose(record.returns.to_numpy(),
                                   [np.mean(by_day[d]) for d in days], rtol=1e-9, atol=1e-15)
        assert 240 < record.periods_per_year < 260  # trading days, measured on the record
        backtests = [r for r in engine.audit_records() if r.action == "model.backtest"]
        assert [(r.actor, r.target) for r in backtests] == [("engine", version)]
        assert backtests[0].reason.startswith(f"forward_holdout: {sum(map(len, by_day.values()))}"
                                              " held-out signal events")
