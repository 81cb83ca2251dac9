"""A version's backtest for parity is stored: a restart in the middle of a rollout keeps it, so
parity is still measured at the end of canary; a bad record is refused and nothing is kept."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rollout_helpers import ScaleModel, champion_and_candidate, config, trade_day

from ordinis.engines.learning import LearningEngine, SimulatedClock
from ordinis.engines.learning.core.errors import NotFoundError, ValidationError
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy, StoredRecord
from ordinis.engines.learning.evaluation.backtest_record import BACKTEST_KIND, StoredBacktest
from ordinis.engines.learning.evaluation.parity import BacktestRecord
from ordinis.engines.learning.rollout import RolloutPhase

AT = datetime(2021, 1, 4, 21, tzinfo=UTC)


async def test_the_backtest_outlives_a_restart_in_the_middle_of_a_rollout(
    data_dir: Path,
) -> None:
    clock = SimulatedClock(AT)
    rng = np.random.default_rng(3)
    backtest = pd.Series(rng.normal(0.004, 0.01, 500))
    async with LearningEngine(config(data_dir), clock=clock) as engine:
        _, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        await engine.promote_model("alpha", v2, ModelStage.PRODUCTION,
                                   rollout_strategy=RolloutStrategy.CANARY)
        engine.set_backtest_record(v2, BacktestRecord(returns=backtest))
        for _ in range(3):
            await trade_day(engine, rng)
        assert engine.get_rollout("alpha").phase is RolloutPhase.CANARY
        assert [r.action for r in engine.audit_records()].count("model.backtest") == 1
    async with LearningEngine(config(data_dir), clock=clock) as engine:
        kept = engine.get_backtest_record(v2)
        assert kept is not None
        np.testing.assert_array_equal(kept.returns.to_numpy(), backtest.to_numpy())
        for _ in range(80):
            if engine.get_rollout("alpha").phase is RolloutPhase.PRODUCTION:
                break
            await trade_day(engine, rng)
        report = engine.get_rollout("alpha")
        assert report.phase is RolloutPhase.PRODUCTION, report.decisions[-1]
        parity = [d for d in report.decisions if d.action.startswith("parity")]
        assert parity[-1].action == "parity" and parity[-1].reason.endswith("(backtest: host)")
        stored = engine.get_parity(v2)
        assert stored is not None and stored.parity_ratio > 0


async def test_a_bad_backtest_is_refused_and_nothing_is_kept(data_dir: Path) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        _, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        with pytest.raises(ValidationError, match=r"record.returns.*at least 10 periods"):
            engine.set_backtest_record(v2, BacktestRecord(returns=pd.Series([0.01] * 3)))
        with pytest.raises(NotFoundError, match="version 'v9' of model 'alpha' is not registered"):
            engine.set_backtest_record("alpha:v9", BacktestRecord(pd.Series([0.01] * 30)))
        with pytest.raises(ValidationError, match="period_seconds"):
            engine.get_backtest_record(v2, period_seconds=0)
        assert engine.get_backtest_record(v2) is None
        assert "model.backtest" not in [r.action for r in engine.audit_records()]
        # without a backtest the rollout says why parity was not measured, and how to fix it
        await engine.promote_model("alpha", v2, ModelStage.PRODUCTION,
                                   rollout_strategy=RolloutStrategy.CANARY)
        rng = np.random.default_rng(4)
        for _ in range(80):
            if engine.get_rollout("alpha").phase.is_final:
                break
            await trade_day(engine, rng)
        why = (f"no backtest record for {v2}: judge it on the production gates "
               "(engine.evaluate_model keeps the forward holdout of a version the engine "
               "trained) or give one with engine.set_backtest_record")
        decisions = engine.get_rollout("alpha").decisions
        assert [(d.action, d.reason) for d in decisions[:2]] == [
            ("start", f"canary rollout of {v2} against alpha:v1"),
            ("parity_unmeasurable", why)]  # said at the start, while there is time
        skipped = [d.reason for d in decisions if d.action == "parity_skipped"]
        assert skipped[-1] == f"end of canary: {why}"


async def test_measure_parity_checks_its_input_and_compares_with_the_stored_backtest(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        _, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        with pytest.raises(ValidationError, match=r"version_id.*no backtest record for alpha:v2"):
            await engine.measure_parity(v2, [0.001] * 30)
        backtest = np.random.default_rng(6).normal(0.002, 0.01, 300)
        engine.set_backtest_record(v2, BacktestRecord(returns=pd.Series(backtest)))
        for bad, field in (("0.1,0.2", "live_returns"), ([0.01] * 11 + [math.inf], "live_returns"),
                           ([0.01] * 4, "live_returns"),
                           (pd.Series([0.01] * 12, index=pd.DatetimeIndex(  # a day repeated
                               ["2024-01-02"] * 2 + [f"2024-01-{d:02d}" for d in range(3, 13)])),
                            r"live_returns\.index.*2024-01-02 00:00:00 at position 1 is not "
                            "after 2024-01-02")):
            with pytest.raises(ValidationError, match=field):
                await engine.measure_parity(v2, bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="periods_per_year"):
            await engine.measure_parity(v2, backtest, periods_per_year=-1.0)
        assert engine.get_parity(v2) is None  # nothing recorded by a refused call
        evidence = await engine.measure_parity(v2, pd.Series(0.5 * backtest), actor="olga")
        assert evidence.passed and evidence.parity_ratio == pytest.approx(1.0)
        assert evidence.source == "olga" and engine.get_parity(v2) == evidence
        lost = await engine.measure_parity(v2, pd.Series(-backtest), actor="olga")
        assert not lost.passed
        audited = [r.reason for r in engine.audit_records() if r.action == "model.parity"]
        assert audited == ["parity_ratio = 1", "parity_ratio = -1; failed: sharpe_ratio, "
                           "win_rate_diff, drawdown_ratio"]  # which checks failed


async def test_a_damaged_backtest_record_is_not_used_and_the_other_source_serves(
    data_dir: Path,
) -> None:
    async with LearningEngine(config(data_dir), clock=SimulatedClock(AT)) as engine:
        _, v2 = await champion_and_candidate(engine, ScaleModel(1.0))
        store = engine._require().evaluation.store
        derived = StoredBacktest("alpha:v2", "forward_holdout", AT, None, (0.01,) * 12,
                                 (1,) * 12, 252.0, "derived")
        store.put_record(StoredRecord(BACKTEST_KIND, f"{v2}:forward_holdout", derived.to_dict(),
                                      AT, AT, v2))
        store.put_record(StoredRecord(BACKTEST_KIND, f"{v2}:host", {"source": "host"}, AT, AT,
                                      v2))  # written by something else, without its fields
        kept = engine.get_backtest(v2)
        assert kept is not None and kept.source == "forward_holdout"
        store.put_record(StoredRecord(BACKTEST_KIND, f"{v2}:forward_holdout",
                                      {"sums": "x"}, AT, AT, v2))
        assert engine.get_backtest(v2) is None
