"""FeedbackCollector: the ``record_*`` methods other engines call, stored as events."""

from ordinis.engines.learning.collectors.codec import event_to_record, record_to_event
from ordinis.engines.learning.collectors.feedback import FeedbackCollector, FeedbackListener
from ordinis.engines.learning.collectors.feedback_types import (
    ACCOUNT_LEVEL_MARKERS,
    DEFAULT_PRIORITY,
    FEEDBACK_EVENT_TYPES,
    FeedbackType,
    TradeOutcome,
    is_account_level,
)
from ordinis.engines.learning.collectors.sink import EventSink

__all__ = [
    "ACCOUNT_LEVEL_MARKERS",
    "DEFAULT_PRIORITY",
    "FEEDBACK_EVENT_TYPES",
    "EventSink",
    "FeedbackCollector",
    "FeedbackListener",
    "FeedbackType",
    "TradeOutcome",
    "event_to_record",
    "is_account_level",
    "record_to_event",
]
