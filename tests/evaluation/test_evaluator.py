"""ModelEvaluator on real benchmark packs: reports with intervals, DSR over trials, rejection of
leaky and data-mined models, comparisons, storage round trip and metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from evaluation_helpers import RandomSignal, SklearnSignal
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.errors import EvaluationError, NotFoundError, ValidationError
from ordinis.engines.learning.evaluation import (
    GateSet,
    ModelEvaluator,
    evaluation_from_dict,
    evaluation_to_dict,
    load_gate_set,
    mlflow_metrics,
)
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.evaluation.metrics import compute_trading_metrics
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES

GATE_METRICS = {
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "profit_factor",
    "hit_rate",
    "turnover",
    "n_trades",
    "exposure",
    "p_value",
    "psr",
    "dsr",
    "sharpe_lower",
    "sharpe_upper",
}


async def test_sound_model_report_has_figures_with_intervals(
    evaluator: ModelEvaluator, logit_model: SklearnSignal
) -> None:
    res = await evaluator.evaluate(logit_model, "logit:1", ["pack_01_bull", "pack_06_multi_asset"])
    assert set(res.metrics) >= GATE_METRICS
    assert res.benchmark_name == "pack_01_bull,pack_06_multi_asset"
    sharpe = res.intervals["sharpe"]
    assert sharpe.lower < sharpe.value < sharpe.upper and 0 <= sharpe.p_value <= 1
    assert res.metrics["sharpe_lower"] == sharpe.lower
    for name in ("max_drawdown", "win_rate", "profit_factor", "hit_rate", "calmar"):
        est = res.intervals[name]
        assert est.lower <= est.upper, name
    packs = res.details["packs"]
    assert set(packs) == {"pack_01_bull", "pack_06_multi_asset"}
    bull = packs["pack_01_bull"]
    assert len(bull["version"]) == 64 and bull["block_size"] >= 1
    assert (
        bull["intervals"]["sharpe"]["lower"]
        < bull["metrics"]["sharpe"]
        < bull["intervals"]["sharpe"]["upper"]
    )
    assert res.metrics["max_drawdown"] == max(p["metrics"]["max_drawdown"] for p in packs.values())
    assert res.metrics["sharpe"] == pytest.approx(
        np.mean([p["metrics"]["sharpe"] for p in packs.values()])
    )
    assert len(res.data_hash) == 64
    # p-value and PSR tell the same story about the same aggregate
    assert (res.metrics["p_value"] < 0.5) == (res.metrics["psr"] > 0.5)
    assert (
        evaluator.metrics.sample(
            "model_evaluations_total", {"model_name": "logit", "passed": str(res.passed).lower()}
        )
        == 1
    )


async def test_result_survives_json_round_trip(
    evaluator: ModelEvaluator, logit_model: SklearnSignal
) -> None:
    res = await evaluator.evaluate(logit_model, "logit:1", "pack_03_crash")
    back = evaluation_from_dict(json.loads(json.dumps(evaluation_to_dict(res), allow_nan=False)))
    assert back.metrics.keys() == res.metrics.keys()
    for k, v in res.metrics.items():
        assert (math.isnan(v) and math.isnan(back.metrics[k])) or back.metrics[k] == v
    assert back.intervals["sharpe"] == res.intervals["sharpe"]
    assert (
        back.details["packs"]["pack_03_crash"]["version"]
        == res.details["packs"]["pack_03_crash"]["version"]
    )
    assert back.evaluated_at == res.evaluated_at and back.evaluation_id == res.evaluation_id
    assert all(math.isfinite(v) for v in mlflow_metrics(res).values())


async def test_best_of_many_random_models_is_rejected_by_the_deflated_sharpe(
    evaluator: ModelEvaluator,
) -> None:
    """Pick the best of 200 no-skill models on one pack: its Sharpe looks significant until
    the DSR counts the 200 trials."""
    pack = evaluator.benchmarks.get("pack_02_sideways")
    sharpes = []
    for seed in range(200):
        m = compute_trading_metrics(evaluator.backtest_dataset(RandomSignal(seed), pack), 252.0)
        sharpes.append(m.sharpe)
    best = RandomSignal(int(np.argmax(sharpes)))
    naive = await evaluator.evaluate(best, "mined:1", "pack_02_sideways", trials=1)
    honest = await evaluator.evaluate(best, "mined:200", "pack_02_sideways", trials=200)
    assert naive.metrics["psr"] > 0.95  # looks like a discovery ...
    assert honest.metrics["dsr"] < 0.5  # ... that is selection luck
    gate = GateSet.from_dict(
        {
            "name": "dsr",
            "gates": [
                {"name": "deflated", "metric": "dsr", "type": "statistical", "threshold": 0.95}
            ],
        }
    )
    assert gate.evaluate(naive.metrics).passed
    assert not gate.evaluate(honest.metrics).passed
    assert not honest.passed  # without gates, passing needs dsr >= eval_benchmark_threshold


async def test_model_trained_with_a_future_feature_is_refused(evaluator: ModelEvaluator) -> None:
    cols = [*FEATURE_NAMES, "fwd"]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, len(cols))), columns=cols)
    model = SklearnSignal(LogisticRegression().fit(X, (X["fwd"] > 0).astype(int)), cols)
    with pytest.raises(EvaluationError, match=r"\['fwd'\].*bar_features"):
        await evaluator.evaluate(model, "leaky:1", "pack_01_bull")


async def test_gates_decide_passed_and_are_counted(
    evaluator: ModelEvaluator, logit_model: SklearnSignal
) -> None:
    res = await evaluator.evaluate(
        logit_model, "logit:2", "pack_01_bull", gates=load_gate_set("production")
    )
    assert not res.passed  # no parity run yet: parity_ratio waits for live evidence
    assert res.gate_report is not None
    waiting = [r.metric for r in res.gate_report.results if r.verdict.value == "WAIT"]
    assert waiting == ["parity_ratio"]
    assert res.thresholds["sharpe"] == 1.5
    assert (
        evaluator.metrics.sample(
            "evaluation_gate_results_total", {"gate": "parity", "verdict": "WAIT"}
        )
        == 1
    )


async def test_holdout_and_input_errors(
    evaluator: ModelEvaluator, logit_model: SklearnSignal
) -> None:
    holdout = sp500_index_close()["2018":"2019"]
    res = await evaluator.evaluate(logit_model, "logit:1", "pack_03_crash", holdout=holdout)
    assert set(res.details["packs"]) == {"pack_03_crash", "holdout"}
    with pytest.raises(ValidationError, match="trials"):
        await evaluator.evaluate(logit_model, "logit:1", "pack_03_crash", trials=0)
    with pytest.raises(NotFoundError, match="pack_nope"):
        await evaluator.evaluate(logit_model, "logit:1", "pack_nope")
    with pytest.raises(ValidationError, match="sort_index"):
        await evaluator.evaluate(
            logit_model, "logit:1", "pack_03_crash", holdout=holdout.iloc[::-1]
        )

    class Wild:
        feature_names = list(FEATURE_NAMES)

        def predict(self, X: pd.DataFrame) -> np.ndarray:
            return np.full(len(X), 3.0)

    with pytest.raises(EvaluationError, match=r"outside \[-1, 1\]"):
        await evaluator.evaluate(Wild(), "wild:1", "pack_03_crash")


async def test_compare_challenger_with_champion(
    evaluator: ModelEvaluator, logit_model: SklearnSignal, train_xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    packs = ["pack_01_bull", "pack_07_recovery"]
    same = await evaluator.compare_models(logit_model, "a:1", logit_model, "a:2", packs)
    assert same.sharpe_diff == 0 and not same.a_better
    assert set(same.per_pack) == set(packs)
    noise = RandomSignal(1)
    cmp = await evaluator.compare_models(logit_model, "logit:1", noise, "noise:1", packs)
    assert cmp.lower <= cmp.sharpe_diff <= cmp.upper and 0 <= cmp.p_value <= 1
    many = await evaluator.compare_many(
        [(noise, "noise:1"), (logit_model, "logit:1"), (RandomSignal(2), "noise:2")],
        "pack_07_recovery",
        reps=300,
    )
    assert many.champion == "noise:1" and many.candidates == ["logit:1", "noise:2"]
    assert 0 <= many.overall.pvalue_consistent <= 1 and "pack_07_recovery" in many.per_pack
    with pytest.raises(ValidationError, match="champion"):
        await evaluator.compare_many([(noise, "noise:1")], "pack_07_recovery")
