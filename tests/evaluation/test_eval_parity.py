"""Parity between backtest and live: performance checks and prediction/feature agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_helpers import SklearnSignal
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.evaluation import (
    BacktestRecord,
    LiveRecord,
    ParityValidator,
    Verdict,
    replay_live_features,
    validate_parity,
)
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)


def _returns(n: int, mean: float, seed: int) -> pd.Series:
    idx = pd.bdate_range("2021-01-01", periods=n)
    return pd.Series(np.random.default_rng(seed).normal(mean, 0.01, n), index=idx)


def test_matching_live_performance_passes_with_intervals() -> None:
    bt = _returns(1500, 0.001, 1)
    x = bt.iloc[-400:]
    live = (x - x.mean()) / x.std() * bt.std() + bt.mean()  # same Sharpe, fresh path
    res = validate_parity(None, BacktestRecord(bt), LiveRecord(live))
    checks = {c.name: c for c in res.checks}
    assert 0.8 <= res.parity_ratio <= 1.2 and checks["sharpe_ratio"].verdict is Verdict.PASS
    assert checks["sharpe_ratio"].lower < res.parity_ratio < checks["sharpe_ratio"].upper
    assert res.passed and res.metrics()["parity_ratio"] == res.parity_ratio


def test_degraded_live_performance_fails_each_rule() -> None:
    bt = _returns(1500, 0.001, 2)
    live = _returns(300, -0.003, 3) * 2.5  # worse Sharpe, lower win rate, deeper drawdown
    res = ParityValidator().validate(None, BacktestRecord(bt), LiveRecord(live))
    verdicts = {c.name: c.verdict for c in res.checks}
    assert verdicts == {
        "sharpe_ratio": Verdict.FAIL,
        "win_rate_diff": Verdict.FAIL,
        "drawdown_ratio": Verdict.FAIL,
    }
    assert not res.passed and res.parity_ratio < 0


def test_undefined_ratio_when_backtest_lost_money() -> None:
    res = validate_parity(
        None, BacktestRecord(_returns(500, -0.002, 4)), LiveRecord(_returns(100, 0.001, 5))
    )
    assert not res.passed and np.isnan(res.parity_ratio) and "undefined" in res.problems[0]


def test_lookahead_feature_is_caught_by_prediction_parity() -> None:
    """A model trained with a feature holding the next return looks perfect in batch. Live, the
    feature is computed from prices up to now only, so inputs and predictions differ."""
    close = sp500_index_close()["1995":"2000"]

    def leaky_features(c: pd.Series) -> pd.DataFrame:
        return compute_bar_features(c).assign(fwd=next_return(c).fillna(0.0))

    batch = leaky_features(close)
    y = next_return(close)
    ok = batch.notna().all(axis=1) & y.notna()
    cols = [*FEATURE_NAMES, "fwd"]
    clf = LogisticRegression(max_iter=500).fit(batch.loc[ok, cols], (y[ok] > 0).astype(int))
    model = SklearnSignal(clf, cols)
    stamps = batch.index[ok][-30:]
    bt_pred = pd.Series(model.predict(batch.loc[stamps, cols]), index=stamps)
    live_feat = replay_live_features(leaky_features, close, stamps, lookback=100)
    live_pred = pd.Series(model.predict(live_feat[cols]), index=stamps)
    pnl_bt = pd.Series(np.sign(bt_pred.to_numpy()) * y.loc[stamps].to_numpy(), index=stamps)
    res = validate_parity(
        model,
        BacktestRecord(pnl_bt, features=batch.loc[stamps, cols], predictions=bt_pred),
        LiveRecord(pnl_bt, features=live_feat[cols], predictions=live_pred),
    )
    assert res.prediction is not None and not res.prediction.passed and not res.passed
    columns = {m.column for m in res.prediction.mismatches}
    assert "fwd" in columns and "prediction" in columns
    assert not (columns & set(FEATURE_NAMES))  # the honest features agree exactly


def test_live_served_predictions_must_equal_the_batch_path() -> None:
    close = sp500_index_close()["1995":"1999"]
    X = compute_bar_features(close).dropna()
    y = next_return(close).loc[X.index].fillna(0.0)
    model = SklearnSignal(LogisticRegression(max_iter=300).fit(X, (y > 0).astype(int)))
    pred = pd.Series(model.predict(X), index=X.index)
    r = pd.Series(pred.to_numpy() * y.to_numpy(), index=X.index)
    same = validate_parity(model, BacktestRecord(r), LiveRecord(r, features=X, predictions=pred))
    assert same.prediction is not None and same.prediction.passed
    served = pred.copy()
    served.iloc[[3, 7]] += 0.01
    res = validate_parity(model, BacktestRecord(r), LiveRecord(r, features=X, predictions=served))
    assert res.prediction is not None
    assert [m.timestamp for m in res.prediction.mismatches] == [str(X.index[3]), str(X.index[7])]
    assert res.prediction.mismatches[0].diff == pytest.approx(0.01)


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"live\.returns"):
        validate_parity(
            None, BacktestRecord(_returns(100, 0.001, 1)), LiveRecord(_returns(5, 0, 2))
        )
    with pytest.raises(ValueError, match="sharpe_ratio_bounds"):
        ParityValidator(sharpe_ratio_bounds=(1.1, 1.2))
