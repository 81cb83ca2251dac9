"""The durable event pipeline: validation, the bounded buffer, group commit, stores, retention.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "EventBuffer": "ordinis.engines.learning.events.buffer",
    "encode_event": "ordinis.engines.learning.events.encoding",
    "open_store": "ordinis.engines.learning.events.factory",
    "EventPipeline": "ordinis.engines.learning.events.pipeline",
    "PipelineStats": "ordinis.engines.learning.events.pipeline",
    "RetentionJob": "ordinis.engines.learning.events.retention",
    "purge_expired": "ordinis.engines.learning.events.retention",
    "retention_cutoff": "ordinis.engines.learning.events.retention",
    "schedule_retention": "ordinis.engines.learning.events.retention",
    "SQLiteEventStore": "ordinis.engines.learning.events.sqlite_store",
    "EVENT_ROW_FIELDS": "ordinis.engines.learning.events.store",
    "AuditConflictError": "ordinis.engines.learning.events.store",
    "EventQuery": "ordinis.engines.learning.events.store",
    "EventRow": "ordinis.engines.learning.events.store",
    "EventStats": "ordinis.engines.learning.events.store",
    "EventStore": "ordinis.engines.learning.events.store",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
