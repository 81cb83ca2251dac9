"""Each version's backtest for parity, kept in the store so a rollout survives a restart.

One record per version and source (``host`` given by the host, ``forward_holdout`` derived by
the engine from its production verdict); the host's wins, since it knows its own strategy.
"""

from __future__ import annotations

import logging

from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.evaluation.backtest_record import BACKTEST_KIND, StoredBacktest
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.governance.audit import AuditLog

log = logging.getLogger(__name__)


class BacktestRecords:
    """Put and get the stored backtests of versions (typed records of kind ``backtest_record``)."""

    def __init__(self, store: EventStore, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit

    def put(self, backtest: StoredBacktest, actor: str) -> None:
        """Store (replacing the version's record of the same source), then audit it."""
        at = backtest.recorded_at
        self.store.put_record(StoredRecord(
            BACKTEST_KIND, f"{backtest.version_id}:{backtest.source}", backtest.to_dict(), at, at,
            backtest.version_id))
        self.audit.append(actor, "model.backtest", backtest.version_id, "allow",
                          f"{backtest.source}: {backtest.description}",
                          {"source": backtest.source, "rows": backtest.rows})

    def get(self, version_id: str) -> StoredBacktest | None:
        """The version's backtest for parity: the host's when given, else the derived one."""
        for source in ("host", "forward_holdout"):
            rec = self.store.get_record(BACKTEST_KIND, f"{version_id}:{source}")
            if rec is None:
                continue
            try:
                return StoredBacktest.from_dict(rec.body)
            except (KeyError, TypeError, ValueError) as exc:  # a damaged record is not used
                log.error("backtest record %s:%s is unreadable (%s); not used", version_id,
                          source, exc)
        return None
