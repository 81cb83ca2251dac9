"""The durable event pipeline: validation, the bounded buffer, group commit, stores, retention."""

from ordinis.engines.learning.events.buffer import EventBuffer
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.events.pipeline import EventPipeline, PipelineStats
from ordinis.engines.learning.events.retention import (
    RetentionJob,
    purge_expired,
    retention_cutoff,
    schedule_retention,
)
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.events.store import (
    EVENT_ROW_FIELDS,
    AuditConflictError,
    EventQuery,
    EventRow,
    EventStats,
    EventStore,
)

__all__ = [
    "EVENT_ROW_FIELDS",
    "AuditConflictError",
    "EventBuffer",
    "EventPipeline",
    "EventQuery",
    "EventRow",
    "EventStats",
    "EventStore",
    "PipelineStats",
    "RetentionJob",
    "SQLiteEventStore",
    "encode_event",
    "open_store",
    "purge_expired",
    "retention_cutoff",
    "schedule_retention",
]
