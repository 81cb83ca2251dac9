"""Turns the host's per-cycle results into the events and feedback records they stand for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.cycle_results import CycleResult, parse_cycle_results
from ordinis.engines.learning.core.models import EventType, LearningEvent

if TYPE_CHECKING:
    from ordinis.engines.learning.collectors.feedback import FeedbackCollector


class CycleIngest:
    """``update(results)`` with a list: signals, fills and outcomes of each cycle, recorded."""

    def __init__(
        self,
        record_event: Callable[[LearningEvent], str],
        collector: FeedbackCollector,
        clock: Clock,
        source_engine: str = "orchestration",
    ) -> None:
        self.record_event = record_event
        self.collector = collector
        self.clock = clock
        self.source_engine = source_engine

    async def ingest(self, results: Sequence[Any]) -> int:
        """Validate every entry first (nothing is recorded from a malformed list), then record.

        Returns how many cycles were recorded.
        """
        cycles = parse_cycle_results(results)
        for cycle in cycles:
            await self._record(cycle)
        return len(cycles)

    async def _record(self, cycle: CycleResult) -> None:
        at = cycle.timestamp or self.clock.now()
        labels = {"cycle_id": cycle.cycle_id} if cycle.cycle_id else {}
        for s in cycle.signals:
            payload: dict[str, Any] = {"signal": s.signal}
            if s.model_name:
                payload["model_name"] = s.model_name
            if s.model_version:
                payload["model_version"] = s.model_version
            if s.features:
                payload["features"] = dict(s.features)
            self.record_event(
                LearningEvent(
                    EventType.SIGNAL_GENERATED,
                    "signal",
                    symbol=s.symbol,
                    timestamp=at,
                    payload=payload,
                    labels=dict(labels),
                )
            )
        for f in cycle.fills:
            fill: dict[str, Any] = {"side": f.side, "quantity": f.quantity, "price": f.price}
            if f.order_id:
                fill["order_id"] = f.order_id
            self.record_event(
                LearningEvent(
                    EventType.ORDER_FILLED,
                    "execution",
                    symbol=f.symbol,
                    timestamp=at,
                    payload=fill,
                    labels=dict(labels),
                )
            )
        for o in cycle.outcomes:
            await self.collector.record_trade_outcome(
                o.symbol,
                pnl=o.pnl,
                return_pct=o.return_pct,
                model_name=o.model_name,
                model_version=o.model_version,
                equity=o.equity,
                source_engine=self.source_engine,
            )
        await self.collector.record_trading_cycle(
            cycle_id=cycle.cycle_id,
            signals=len(cycle.signals),
            fills=len(cycle.fills),
            errors=cycle.errors,
            pnl=cycle.pnl,
            source_engine=self.source_engine,
        )
