"""Which event types the config's ``collect_*`` switches turn off."""

from __future__ import annotations

from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.models import EventType

# Which collect_* switch governs which event types.
_SWITCHES: dict[str, tuple[EventType, ...]] = {
    "collect_signals": (
        EventType.SIGNAL_GENERATED,
        EventType.SIGNAL_ACCURACY,
        EventType.SIGNAL_BATCH,
    ),
    "collect_executions": (
        EventType.ORDER_SUBMITTED,
        EventType.ORDER_FILLED,
        EventType.ORDER_REJECTED,
        EventType.EXECUTION_FAILURE,
        EventType.INSUFFICIENT_CAPITAL,
        EventType.BROKER_SYNC_FAILURE,
    ),
    "collect_portfolio_events": (
        EventType.REBALANCE_EXECUTED,
        EventType.POSITION_OPENED,
        EventType.POSITION_CLOSED,
        EventType.PNL_SNAPSHOT,
        EventType.TRADE_OUTCOME,
        EventType.POSITION_MISMATCH,
    ),
    "collect_risk_events": (
        EventType.RISK_BREACH,
        EventType.DRAWDOWN_EVENT,
        EventType.REGIME_CHANGE,
    ),
    "collect_predictions": (EventType.MODEL_PREDICTION,),
    "collect_metrics": (
        EventType.METRIC_RECORDED,
        EventType.DRIFT_DETECTED,
        EventType.TRADING_CYCLE,
        EventType.ERROR_RATE_SPIKE,
    ),
}


def disabled_event_types(config: LearningEngineConfig) -> frozenset[EventType]:
    """Event types switched off by the config's collect_* switches."""
    off: set[EventType] = set()
    for switch, types in _SWITCHES.items():
        if not getattr(config, switch):
            off.update(types)
    return frozenset(off)
