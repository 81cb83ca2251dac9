"""One strategy definition: the same trades through the live path and the backtest agree.

20 S&P 500 stocks (skfolio), a momentum rule traded with a SIGN position policy and costs. The
backtest's net returns, Sharpe and drawdown equal the live tracker's, fed the same trades through
``record_trade_outcome`` (the staging path: no production version is needed to be watched).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning import (
    LearningEngine,
    LearningEngineConfig,
    ModelStage,
    PositionMapping,
    PositionPolicy,
    SimulatedClock,
)
from ordinis.engines.learning.evaluation.backtest import backtest
from ordinis.engines.learning.evaluation.benchmarks import sp500_stocks_close
from ordinis.engines.learning.evaluation.metrics import compute_trading_metrics

POLICY = PositionPolicy(mapping=PositionMapping.SIGN, cost_bps=2.0, slippage_bps=1.0)


async def test_same_trades_give_equal_numbers_live_and_in_the_backtest(data_dir: Path) -> None:
    close = sp500_stocks_close()["2019-01-01":"2019-06-30"]
    returns = close.pct_change()
    signals = np.sign(close.pct_change(5)).fillna(0.0)  # known at each close
    result = backtest(signals, returns, policy=POLICY)
    expected = compute_trading_metrics(result)

    config = LearningEngineConfig.create(data_dir=data_dir, live_metrics_window=1000)
    clock = SimulatedClock(datetime(2019, 1, 2, 21, tzinfo=UTC))
    async with LearningEngine(config, clock=clock) as engine:
        mv = await engine.register_model_version(
            "mom", "v1", metrics={"sharpe": 0.0},
            lineage={"position_policy": POLICY.to_json()},
        )
        await engine.promote_model("mom", mv.version_id, ModelStage.STAGING)
        assert PositionPolicy.of_lineage(mv.lineage, PositionPolicy()) == POLICY
        assets = list(close.columns)
        previous = np.zeros(len(assets))
        for k, at in enumerate(result.index):
            clock.set(pd.Timestamp(at).tz_localize("UTC").to_pydatetime())
            held = POLICY.positions(signals.iloc[k].to_numpy())
            for i, sym in enumerate(assets):
                trade = POLICY.trade_return(held[i], previous[i], float(returns.iloc[k + 1, i]))
                await engine.feedback.record_trade_outcome(
                    sym, pnl=trade, return_pct=trade, model_name="mom",
                    model_version=mv.version_id, metadata={"signal": float(held[i])},
                )
            previous = held
        live = engine.live_metrics("mom")

    assert live.n == result.n_periods
    assert live.mean_return == pytest.approx(float(np.mean(result.net_returns)), rel=1e-9)
    assert live.sharpe == pytest.approx(expected.sharpe, rel=1e-9)
    assert live.max_drawdown == pytest.approx(expected.max_drawdown, rel=1e-9)


async def test_promotion_and_rollback_start_the_serving_versions_own_live_window(
    data_dir: Path,
) -> None:
    """The live window holds the production version's trades only: a promotion starts it
    afresh, and so does a rollback (the restored version's earlier trades are not brought
    back either: the window is live evidence since it began serving again)."""
    config = LearningEngineConfig.create(data_dir=data_dir, require_eval_pass=False)
    clock = SimulatedClock(datetime(2019, 1, 2, 21, tzinfo=UTC))
    async with LearningEngine(config, clock=clock) as engine:

        async def serve(version: str) -> None:
            mv = await engine.register_model_version("mom", version, metrics={"sharpe": 0.0})
            await engine.promote_model("mom", mv.version_id, ModelStage.STAGING)
            await engine.promote_model("mom", mv.version_id, ModelStage.PRODUCTION)

        async def trade(days: int, ret: float) -> None:
            for _ in range(days):
                clock.advance(86_400)
                await engine.feedback.record_trade_outcome(
                    "AAPL", pnl=ret, return_pct=ret, model_name="mom")

        await serve("v1")
        await trade(3, 0.01)
        assert engine.live_metrics("mom").n == 3
        await serve("v2")
        assert engine.live_metrics("mom").n == 0
        await trade(2, -0.01)
        v2 = engine.live_metrics("mom")
        assert v2.n == 2 and v2.mean_return == pytest.approx(-0.01)
        await engine.rollback("mom", "v2 loses")
        assert engine.get_production_model("mom").version == "v1"
        assert engine.live_metrics("mom").n == 0

