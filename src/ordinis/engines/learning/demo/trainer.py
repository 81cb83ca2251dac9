"""The demo's model type: the built-in signal trainer under its own name, so its production
gates are its own entry in production.yaml's ``model_types`` (a daily equity strategy)."""

from __future__ import annotations

from ordinis.engines.learning import SignalTrainer

MODEL_TYPE = "equity_daily_signal"
SPEC = "ordinis.engines.learning.demo.trainer:EquityDailySignalTrainer"


class EquityDailySignalTrainer(SignalTrainer):
    """LightGBM on the next day's sign of single large-cap US stocks (the built-in trainer)."""

    model_type = MODEL_TYPE
