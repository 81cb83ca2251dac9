"""Packs compute a model's own features; packs that cannot are skipped with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_helpers import SklearnSignal
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import EvaluationError
from ordinis.engines.learning.evaluation import BenchmarkRegistry, ModelEvaluator
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.features import FeatureFunction
from ordinis.engines.learning.observability.metrics import LearningMetrics

HOST = ("ret_0", "ret_4", "vol_10")


def host_features(close: pd.Series) -> pd.DataFrame:
    r = close.pct_change()
    return pd.DataFrame({"ret_0": r, "ret_4": r.shift(4), "vol_10": r.rolling(10).std()})


HOST_FN = FeatureFunction("host_fn", host_features, HOST, warmup_rows=11)


@pytest.fixture
def evaluator(sim_clock: SimulatedClock) -> ModelEvaluator:
    registry = BenchmarkRegistry()
    close = sp500_index_close()["2010":"2014"]
    registry.register_dataframe("host_pack", close, feature_function=HOST_FN)
    return ModelEvaluator(LearningEngineConfig.create(bootstrap_resamples=200), sim_clock,
                          LearningMetrics(), registry)


@pytest.fixture
def host_model() -> SklearnSignal:
    close = sp500_index_close()["2000":"2009"]
    X = host_features(close)
    y = close.shift(-1) / close - 1
    ok = X.notna().all(axis=1) & y.notna()
    clf = LogisticRegression(max_iter=500).fit(X[ok], (y[ok] > 0).astype(int))
    return SklearnSignal(clf, HOST)


async def test_user_pack_computes_the_models_features(
    evaluator: ModelEvaluator, host_model: SklearnSignal
) -> None:
    pack = evaluator.benchmarks.get("host_pack")
    assert pack.feature_function == "host_fn"
    assert list(pack.features.columns) == list(HOST)
    assert pack.features.notna().all().all()  # the warm-up rows sit before the window
    res = await evaluator.evaluate(host_model, "host:1", ["host_pack", "pack_01_bull"])
    assert res.benchmark_name == "host_pack"
    skipped = res.details["skipped_packs"]
    assert list(skipped) == ["pack_01_bull"]
    assert "['ret_0', 'ret_4', 'vol_10']" in skipped["pack_01_bull"]
    assert "'bar_features'" in skipped["pack_01_bull"]
    assert np.isfinite(res.metrics["sharpe"])


async def test_no_pack_with_the_features_is_an_error_naming_them(
    evaluator: ModelEvaluator, host_model: SklearnSignal
) -> None:
    with pytest.raises(EvaluationError) as err:
        await evaluator.evaluate(host_model, "host:1", ["pack_01_bull", "pack_04_bear"])
    msg = str(err.value)
    # each reason once, for the packs it covers, then the fix once
    assert ("it needs ['ret_0', 'ret_4', 'vol_10'], which pack_01_bull and pack_04_bear do not "
            "compute (feature function 'bar_features')") in msg
    assert msg.count("ret_0") == 1
    assert "no forward holdout yet" in msg
    assert msg.count("engine.register_benchmark(name, closes, feature_function=") == 1


async def test_a_holdout_without_the_features_is_named_with_the_packs(
    evaluator: ModelEvaluator, host_model: SklearnSignal
) -> None:
    with pytest.raises(EvaluationError) as err:
        await evaluator.evaluate(host_model, "host:1", "pack_01_bull",
                                 holdout=sp500_index_close()["2015":"2016"])
    msg = str(err.value)
    assert "which pack_01_bull and holdout do not compute" in msg
    assert "forward holdout" not in msg  # one was given; the fix is a pack that computes them


async def test_built_in_pack_computes_the_versions_own_function(
    evaluator: ModelEvaluator, host_model: SklearnSignal
) -> None:
    res = await evaluator.evaluate(host_model, "host:1", "pack_01_bull", feature_function=HOST_FN)
    assert res.benchmark_name == "pack_01_bull" and "skipped_packs" not in res.details
    bar = evaluator.benchmarks.get("pack_01_bull")
    again = evaluator.benchmarks.computed_with(bar, HOST_FN)
    assert again is not None and again.feature_function == "host_fn"
    assert again.close.equals(bar.close)  # same bars, same windows: only the features differ
    assert list(again.features.columns) == list(HOST)
    user = evaluator.benchmarks.get("host_pack")
    assert evaluator.benchmarks.computed_with(user, HOST_FN) is user
