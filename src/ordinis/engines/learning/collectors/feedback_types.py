"""Feedback types, the event type each is stored as, default priorities, account-level errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ordinis.engines.learning.core.models import EventType, FeedbackPriority


class FeedbackType(StrEnum):
    """Kinds of feedback; each value equals the EventType value it is stored under."""

    TRADE_OUTCOME = EventType.TRADE_OUTCOME.value
    SIGNAL_ACCURACY = EventType.SIGNAL_ACCURACY.value
    EXECUTION_FAILURE = EventType.EXECUTION_FAILURE.value
    ORDER_REJECTED = EventType.ORDER_REJECTED.value
    REGIME_CHANGE = EventType.REGIME_CHANGE.value
    RISK_BREACH = EventType.RISK_BREACH.value
    INSUFFICIENT_CAPITAL = EventType.INSUFFICIENT_CAPITAL.value
    POSITION_MISMATCH = EventType.POSITION_MISMATCH.value
    BROKER_SYNC_FAILURE = EventType.BROKER_SYNC_FAILURE.value
    SIGNAL_BATCH = EventType.SIGNAL_BATCH.value
    TRADING_CYCLE = EventType.TRADING_CYCLE.value
    ERROR_RATE_SPIKE = EventType.ERROR_RATE_SPIKE.value

    @property
    def event_type(self) -> EventType:
        return EventType(self.value)


FEEDBACK_EVENT_TYPES: tuple[EventType, ...] = tuple(f.event_type for f in FeedbackType)

DEFAULT_PRIORITY: dict[FeedbackType, FeedbackPriority] = {
    FeedbackType.TRADE_OUTCOME: FeedbackPriority.NORMAL,
    FeedbackType.SIGNAL_ACCURACY: FeedbackPriority.LOW,
    FeedbackType.EXECUTION_FAILURE: FeedbackPriority.HIGH,
    FeedbackType.ORDER_REJECTED: FeedbackPriority.HIGH,
    FeedbackType.REGIME_CHANGE: FeedbackPriority.NORMAL,
    FeedbackType.RISK_BREACH: FeedbackPriority.HIGH,
    FeedbackType.INSUFFICIENT_CAPITAL: FeedbackPriority.CRITICAL,
    FeedbackType.POSITION_MISMATCH: FeedbackPriority.CRITICAL,
    FeedbackType.BROKER_SYNC_FAILURE: FeedbackPriority.HIGH,
    FeedbackType.SIGNAL_BATCH: FeedbackPriority.LOW,
    FeedbackType.TRADING_CYCLE: FeedbackPriority.LOW,
    FeedbackType.ERROR_RATE_SPIKE: FeedbackPriority.HIGH,
}

# Failures of the account, not of one order: nothing will trade until a human acts.
ACCOUNT_LEVEL_MARKERS: tuple[str, ...] = (
    "buying_power",
    "insufficient_funds",
    "margin_call",
    "account_restricted",
    "account_blocked",
    "account_suspended",
    "account_disabled",
    "account_closed",
    "trading_blocked",
    "trading_restricted",
    "pattern_day_trad",
)


def is_account_level(*texts: str | None) -> bool:
    """True when an error type/message names an account-level failure (e.g. margin call)."""
    for text in texts:
        if not text:
            continue
        normalised = re.sub(r"[^a-z0-9]+", "_", text.lower())
        if any(marker in normalised for marker in ACCOUNT_LEVEL_MARKERS):
            return True
    return False


@dataclass(frozen=True, slots=True)
class TradeOutcome:
    """One closed trade for ``FeedbackCollector.record_trade_outcomes`` (the fields of
    ``record_trade_outcome``)."""

    symbol: str
    pnl: float
    return_pct: float | None = None
    signal_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    source_engine: str = "portfolio"
    metadata: dict[str, Any] | None = None
    equity: float | None = None
    record_id: str | None = None  # the idempotency key: a retried batch counts each trade once
