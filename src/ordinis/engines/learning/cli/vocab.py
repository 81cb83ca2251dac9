"""Names the CLI checks before it reaches an engine (kept equal to the library's by a test)."""

EVENT_TYPES: tuple[str, ...] = (
    "signal_generated", "signal_accuracy", "order_submitted", "order_filled", "order_rejected",
    "rebalance_executed", "position_opened", "position_closed", "risk_breach", "drawdown_event",
    "pnl_snapshot", "metric_recorded", "model_prediction", "drift_detected", "trade_outcome",
    "execution_failure", "regime_change", "insufficient_capital", "position_mismatch",
    "signal_batch", "trading_cycle", "error_rate_spike", "broker_sync_failure",
)
STAGES: tuple[str, ...] = (
    "development", "staging", "shadow", "canary", "production", "archived",
)
