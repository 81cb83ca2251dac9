"""Only honest evidence reaches production (issue 10), on real S&P 500 data from skfolio.

A memoriser is refused or shows no skill once evaluations are point-in-time and out of its
training window; the best of 100 random rules never reaches PRODUCTION whatever gate set it
shops; a production verdict goes stale when 50 more candidates are registered; a planted edge
passes every production gate but parity, and is promoted once live parity evidence arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from honest_models import LinearRule, Memoriser

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    PolicyDeniedError,
    SimulatedClock,
)
from ordinis.engines.learning.core.errors import EvaluationError
from ordinis.engines.learning.evaluation import BenchmarkRegistry, ParityResult
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.evaluation.metrics import compute_trading_metrics
from ordinis.engines.learning.features.bar_features import next_return
from planted_edge import MomentumRule, planted_edge_close

LOOSE = {
    "name": "loose",
    "gates": [{"name": "min_sharpe", "metric": "sharpe", "comparison": "gte", "threshold": 0.1}],
}
PARITY_OK = ParityResult(passed=True, parity_ratio=0.97, checks=[])


def _config(data_dir: Path) -> LearningEngineConfig:
    # 200 resamples: the bootstrap is not what these tests test (its own tests use 2,000+)
    return LearningEngineConfig.create(data_dir=data_dir, bootstrap_resamples=200)


async def _engine(data_dir: Path, at: datetime) -> AsyncIterator[LearningEngine]:
    async with LearningEngine(_config(data_dir), clock=SimulatedClock(at)) as engine:
        yield engine


def _next_signs(start: str, end: str) -> dict[pd.Timestamp, float]:
    close = sp500_index_close()
    nxt = np.sign(next_return(close)).dropna()
    return {pd.Timestamp(t): float(v) for t, v in nxt[start:end].items()}


async def test_memoriser_at_1996_is_refused_for_lack_of_out_of_sample_data(
    data_dir: Path,
) -> None:
    """It knows every next-day return 1990-2022 (it scored Sharpe 11.8 before), was registered
    at 1996-06-28 with a 1990..1996 training window: every pack is in the future or inside it."""
    at = datetime(1996, 6, 28, 21, tzinfo=UTC)
    async for engine in _engine(data_dir, at):
        mv = await engine.register_model_version(
            "memo", "v1", model=Memoriser(_next_signs("1990", "2022")),
            lineage={"window_start": "1990-01-02T00:00:00+00:00",
                     "window_end": "1996-06-27T00:00:00+00:00"},
        )
        with pytest.raises(EvaluationError) as err:
            await engine.evaluate_model(mv.version_id, BenchmarkRegistry().builtin_names())
        text = str(err.value)
        assert "no out-of-sample data as of 1996-06-28" in text
        assert "never falls back to in-sample" in text
        assert "pack_01_bull: wholly after the clock's now" in text
        assert "pack_02_sideways: 0 out-of-sample rows" in text  # its 1994 window is in-sample
        assert engine.get_evaluations(mv.version_id) == []


async def test_in_window_memoriser_shows_chance_level_sharpe(data_dir: Path) -> None:
    """It memorised 2003-01-02..2009-12-31 exactly (Sharpe 1.65 on the packs before: they lie in
    its window); out of that window it only guesses."""
    at = datetime(2023, 1, 3, 21, tzinfo=UTC)
    async for engine in _engine(data_dir, at):
        mv = await engine.register_model_version(
            "memo", "v1", model=Memoriser(_next_signs("2003-01-02", "2009-12-31")),
            lineage={"window_start": "2003-01-02T00:00:00+00:00",
                     "window_end": "2009-12-31T00:00:00+00:00"},
        )
        packs = ["pack_01_bull", "pack_03_crash", "pack_04_bear"]
        result = await engine.evaluate_model(mv.version_id, packs)
        assert result.scope is not None
        cov = {p.name: p for p in result.scope.packs}
        # 2003-04..2007-06 and 2008-01..2009-03 are excluded; 2013-17, 2020 and 2000-02, 2022 stay
        assert cov["pack_01_bull"].rows_in_training_window > 1000
        assert cov["pack_03_crash"].rows_in_training_window > 300
        assert cov["pack_04_bear"].rows_in_training_window == 0
        assert all(not p.skipped and p.rows_used >= 60 for p in cov.values())
        assert abs(result.metrics["sharpe"]) < 0.5
        assert result.metrics["p_value"] > 0.05
        assert not result.passed and result.verdict is not None
        assert "min_sharpe" in result.verdict.blocked_by


@pytest.mark.slow  # 100 registrations in MLflow: about 30-50 s on the shared 2-core machine
async def test_best_of_100_random_rules_never_reaches_production(
    data_dir: Path, tmp_path: Path
) -> None:
    """100 random sign rules; the best is shopped through every gate set: none opens production.
    Half are registered under another name on the same feature set and data: trials stay 100."""
    at = datetime(2023, 1, 3, 21, tzinfo=UTC)
    loose = tmp_path / "loose.yaml"
    loose.write_text(yaml.safe_dump(LOOSE))
    packs = ["pack_01_bull", "pack_04_bear"]
    async for engine in _engine(data_dir, at):
        # pick the best rule by its Sharpe on the packs (the snooping the DSR deflates)
        evaluator = engine.evaluator
        datasets = [evaluator.benchmarks.get(p) for p in packs]
        sharpes = [
            float(np.mean([
                compute_trading_metrics(evaluator.backtest_dataset(LinearRule(k), ds)).sharpe
                for ds in datasets
            ]))
            for k in range(100)
        ]
        best = int(np.argmax(sharpes))
        lineage = {"feature_set": "bar_features_v1", "data_hash": "sp500-2003-2017"}
        for k in range(100):
            name = "rules" if k % 2 == 0 else "rules-renamed"
            await engine.register_model_version(
                name, f"r{k}", model=LinearRule(k) if k == best else None, lineage=lineage,
                metrics=None if k == best else {"sharpe": sharpes[k]},
            )
        name = "rules" if best % 2 == 0 else "rules-renamed"
        vid = f"{name}:r{best}"
        await engine.promote_model(name, vid, ModelStage.STAGING)
        attempts = [
            await engine.evaluate_model(vid, packs, gate_set="production"),
            await engine.evaluate_model(vid, packs, gate_set="staging"),
            await engine.evaluate_model(vid, packs, gate_set="demo"),
            await engine.evaluate_model(vid, packs, gate_set=str(loose)),
            await engine.evaluate_model(  # threshold overrides: the loop's path
                vid, packs, gate_set="production",
                threshold_overrides={"sharpe": 0.0, "dsr": 0.0, "p_value": 1.0,
                                     "win_rate": 0.0, "profit_factor": 0.0},
            ),
        ]
        assert attempts[0].metrics["trials"] == 100.0  # renaming does not reset the count
        assert attempts[3].passed  # the loose user file passes ...
        assert [a.verdict.opens_production for a in attempts if a.verdict] == [
            True, False, False, False, False,
        ]
        production = attempts[0].verdict
        assert production is not None and not production.passed
        assert "deflated_sharpe" in production.blocked_by
        await engine.record_parity(vid, PARITY_OK)  # even perfect live parity does not help
        with pytest.raises(PolicyDeniedError) as err:
            await engine.promote_model(name, vid, ModelStage.PRODUCTION)
        assert "production: blocked by" in str(err.value) and "deflated_sharpe" in str(err.value)
        assert engine.get_production_model(name) is None
        # ... and is kept and shown, never used for production
        labels = [e.verdict.gate_set for e in engine.get_evaluations(vid) if e.verdict]
        assert {"production", "staging", "demo", "loose"} <= set(labels)


async def test_planted_edge_waits_for_parity_then_is_promoted_and_goes_stale(
    data_dir: Path,
) -> None:
    at = datetime(2020, 6, 1, 21, tzinfo=UTC)
    async for engine in _engine(data_dir, at):
        engine.register_benchmark("planted_edge", planted_edge_close())
        mv = await engine.register_model_version(
            "edge", "v1", model=MomentumRule(),
            lineage={"window_start": "2005-01-03T00:00:00+00:00",
                     "window_end": "2009-12-31T00:00:00+00:00"},
        )
        vid = mv.version_id
        await engine.promote_model("edge", vid, ModelStage.STAGING)
        result = await engine.evaluate_model(vid, ["planted_edge"])
        report, verdict = result.gate_report, result.verdict
        assert report is not None and verdict is not None
        assert verdict.opens_production and verdict.gate_set == "production"
        assert {r.name: r.verdict.value for r in report.results if r.verdict.value != "PASS"} == {
            "parity": "WAIT"
        }
        assert "waiting for live evidence (parity)" in report.summary()
        assert verdict.trials == 1 and verdict.packs[0].startswith("planted_edge@")
        assert verdict.as_of == at
        with pytest.raises(PolicyDeniedError, match="waiting for live evidence"):
            await engine.promote_model("edge", vid, ModelStage.PRODUCTION)

        await engine.record_parity(vid, PARITY_OK)
        assert engine.production_blocker(vid) is None
        assert engine.get_model_version(vid).production_verdict.parity_ratio == 0.97
        dsr_before = engine.get_evaluations(vid)[-1].metrics["dsr"]

        # 50 more candidates: the stored verdict counted 1 trial and no longer opens production
        for k in range(50):
            await engine.register_model_version("edge", f"c{k}", metrics={"sharpe": 0.0})
        blocker = engine.production_blocker(vid)
        assert blocker is not None and "counted 1 trial(s) but 51 candidates" in blocker
        with pytest.raises(PolicyDeniedError, match="re-evaluate"):
            await engine.promote_model("edge", vid, ModelStage.PRODUCTION)

        again = await engine.evaluate_model(vid, ["planted_edge"])
        assert again.metrics["trials"] == 51.0 and again.metrics["parity_ratio"] == 0.97
        assert again.metrics["dsr"] <= dsr_before
        assert again.passed, again.gate_report.summary() if again.gate_report else ""
        await engine.promote_model("edge", vid, ModelStage.PRODUCTION)
        prod = engine.get_production_model("edge")
        assert prod is not None and prod.version_id == vid
        actions = [r.action for r in engine.audit_records()]
        assert "model.parity" in actions
