"""A FeedbackRecord is stored as a LearningEvent: one source of truth, the event store.

The event carries the record's data plus ``feedback_type`` in its payload, ``priority`` and
``feedback_type`` in its labels, and the record id as its event id.
"""

from __future__ import annotations

from ordinis.engines.learning.collectors.feedback_types import FeedbackType
from ordinis.engines.learning.core.models import FeedbackPriority, FeedbackRecord, LearningEvent


def record_to_event(record: FeedbackRecord) -> LearningEvent:
    """The event that persists ``record``."""
    payload = dict(record.data)
    payload["feedback_type"] = record.feedback_type
    return LearningEvent(
        event_type=FeedbackType(record.feedback_type).event_type,
        source_engine=record.source_engine,
        symbol=record.symbol,
        timestamp=record.timestamp,
        payload=payload,
        labels={"priority": record.priority.value, "feedback_type": record.feedback_type},
        outcome=record.outcome,
        event_id=record.record_id,
    )


def event_to_record(event: LearningEvent) -> FeedbackRecord:
    """The feedback record an event holds (events written by others get NORMAL priority)."""
    feedback_type = str(
        event.labels.get("feedback_type") or event.payload.get("feedback_type")
        or event.event_type.value
    )
    try:
        priority = FeedbackPriority(event.labels.get("priority", FeedbackPriority.NORMAL.value))
    except ValueError:
        priority = FeedbackPriority.NORMAL
    return FeedbackRecord(
        feedback_type=feedback_type,
        source_engine=event.source_engine,
        priority=priority,
        symbol=event.symbol,
        timestamp=event.timestamp,
        data={k: v for k, v in event.payload.items() if k != "feedback_type"},
        outcome=event.outcome,
        record_id=event.event_id,
        event_id=event.event_id,
    )
