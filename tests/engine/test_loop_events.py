"""LoopEventLog: every loop step is audited and reaches each subscriber, failing or not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.engine.loop_events import LoopEventLog
from ordinis.engines.learning.events.factory import open_store
from ordinis.engines.learning.feedback.improvement_loop import LoopEvent, LoopStep
from ordinis.engines.learning.governance.audit import AuditLog
from ordinis.engines.learning.observability.metrics import LearningMetrics

AT = datetime(2020, 1, 2, tzinfo=UTC)


def _event(n: int) -> LoopEvent:
    return LoopEvent(AT, "alpha", f"t{n}", LoopStep.TRAINING, "completed", f"job {n} done")


def test_publish_audits_and_fans_out_even_past_a_failing_subscriber(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        log = LoopEventLog(AuditLog(store, SimulatedClock(AT), LearningMetrics()))
        seen: list[str] = []

        def broken(_: LoopEvent) -> None:
            raise RuntimeError("subscriber bug")

        log.subscribe(broken)
        unsubscribe = log.subscribe(lambda e: seen.append(e.trigger_id or ""))
        log.publish(_event(1))
        unsubscribe()
        log.publish(_event(2))
        assert seen == ["t1"]
        records = log.audit.records()
        assert [(r.action, r.target, r.reason) for r in records] == [
            ("loop.training", "alpha", "job 1 done"),
            ("loop.training", "alpha", "job 2 done"),
        ]
        assert records[0].details["trigger_id"] == "t1"
    finally:
        store.close()
