"""FeedbackCollector: the ``record_*`` calls of the trading engines, stored as events.

Each call validates its input at the edge (nothing is stored when it is refused), feeds the
right circuit breaker, persists the FeedbackRecord as a LearningEvent through the sink and
tells the listeners (e.g. the live performance tracker).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ordinis.engines.learning.collectors.codec import event_to_record, record_to_event
from ordinis.engines.learning.collectors.feedback_types import (
    DEFAULT_PRIORITY,
    FEEDBACK_EVENT_TYPES,
    FeedbackType,
    TradeOutcome,
    is_account_level,
)
from ordinis.engines.learning.collectors.sink import EventSink
from ordinis.engines.learning.collectors.validation import Checker
from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.errors import (
    CallTimeoutError,
    FieldProblem,
    StoreError,
    ValidationError,
)
from ordinis.engines.learning.core.ids import new_id
from ordinis.engines.learning.core.models import FeedbackPriority, FeedbackRecord
from ordinis.engines.learning.events.store import EventQuery
from ordinis.engines.learning.features.similarity import SimilarSituation, SituationIndex
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.safety.manager import CircuitBreakerManager

log = logging.getLogger(__name__)

FeedbackListener = Callable[[FeedbackRecord], None]


class FeedbackCollector:
    """Records feedback from the trading engines; one event per record, in the event store.

    Errors feed breakers (via ``breakers.engine_for``): execution failures, rejected orders
    and broker sync failures the execution breaker, insufficient capital the risk breaker,
    position mismatches the portfolio breaker; trade outcomes feed the loss trips.

    Every ``record_*`` takes ``record_id=`` (the returned record's id; a retry with it is
    idempotent: stored once, counted once by the breakers) and ``timeout=`` (seconds, default
    ``call_timeout``): a call is wholly accepted or refused with CallTimeoutError, whose
    ``record_id`` is the one to retry with.
    """

    def __init__(
        self,
        sink: EventSink,
        breakers: CircuitBreakerManager,
        clock: Clock,
        metrics: LearningMetrics,
        source_engine_default: str = "learning",
        call_timeout: float = 5.0,
    ) -> None:
        if not isinstance(source_engine_default, str) or not source_engine_default.strip():
            raise ValidationError(
                "FeedbackCollector",
                [FieldProblem("source_engine_default", source_engine_default, "non-empty string")],
            )
        self.sink = sink
        self.breakers = breakers
        self.clock = clock
        self.metrics = metrics
        self.source_engine_default = source_engine_default
        self._listeners: list[FeedbackListener] = []
        self._counters: dict[tuple[str, str], Any] = {}  # labelled metric children
        self.situations: SituationIndex | None = None
        self.listener_errors: deque[tuple[FeedbackRecord, BaseException]] = deque(maxlen=100)
        self.breaker_errors: deque[StoreError] = deque(maxlen=100)  # breaker saves that failed
        self.call_timeout = call_timeout

    def add_listener(self, callback: FeedbackListener) -> None:
        """Call ``callback(record)`` after each record is persisted (errors are logged, kept)."""
        if not callable(callback):
            raise ValidationError(
                "feedback listener", [FieldProblem("callback", callback, "must be callable")]
            )
        self._listeners.append(callback)

    def remove_listener(self, callback: FeedbackListener) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    # ------------------------------------------------------------------ trades and signals
    async def record_trade_outcome(
        self,
        symbol: str,
        pnl: float,
        return_pct: float | None = None,
        signal_id: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        entry_price: float | None = None,
        exit_price: float | None = None,
        quantity: float | None = None,
        holding_period_seconds: float | None = None,
        source_engine: str = "portfolio",
        metadata: dict[str, Any] | None = None,
        *,
        equity: float | None = None,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """A closed trade. Outcome = ``return_pct`` when given, else ``pnl``.

        ``return_pct`` is the position's return on its capital slice after costs, already signed
        by the position (``PositionPolicy.trade_return``); the live tracker uses it as is.

        Feeds the loss trips (``equity`` enables the drawdown trip) and counts as an
        execution success (a half-open execution breaker closes on it).
        """
        c = Checker("trade outcome")
        pnl_value = c.number("pnl", pnl)
        ret = c.number("return_pct", return_pct, optional=True)
        equity_value = c.number("equity", equity, optional=True, positive=True)
        data = {
            "pnl": pnl_value,
            "return_pct": ret,
            "signal_id": c.text("signal_id", signal_id, optional=True),
            "model_name": c.text("model_name", model_name, optional=True),
            "model_version": c.text("model_version", model_version, optional=True),
            "entry_price": c.number("entry_price", entry_price, optional=True, positive=True),
            "exit_price": c.number("exit_price", exit_price, optional=True, positive=True),
            "quantity": c.number("quantity", quantity, optional=True),
            "holding_period_seconds": c.number(
                "holding_period_seconds", holding_period_seconds, optional=True, minimum=0
            ),
            "equity": equity_value,
        }
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        assert pnl_value is not None
        tripped = await self._call_breakers(
            common, self.breakers.record_trade_result, pnl_value, equity_value
        )
        execution = self.breakers.engine_for("execution_failure")
        if execution is not None:
            await self._call_breakers(common, self.breakers.record_success, execution)
        outcome = ret if ret is not None else pnl_value
        body: dict[str, Any] = dict(data)
        body["outcome_kind"] = "return_pct" if ret is not None else "pnl"
        body["breaker_tripped"] = tripped
        return await self._emit(FeedbackType.TRADE_OUTCOME, common, body, outcome)

    async def record_trade_outcomes(self, trades: Sequence[TradeOutcome]) -> list[FeedbackRecord]:
        """Many closed trades at once (a host's book at the close of a bar), in order.

        Each is validated as ``record_trade_outcome`` does (one bad entry refuses the batch,
        naming its index, and nothing is stored); the breakers see every trade in turn with a
        single store commit, so a book of many positions costs one round trip, not one each.
        """
        checked: list[tuple[TradeOutcome, dict[str, Any], dict[str, Any], float]] = []
        problems: list[FieldProblem] = []
        for i, t in enumerate(trades):
            c = Checker(f"trade outcome [{i}]")
            pnl_value = c.number("pnl", t.pnl)
            ret = c.number("return_pct", t.return_pct, optional=True)
            equity_value = c.number("equity", t.equity, optional=True, positive=True)
            data = {
                "pnl": pnl_value,
                "return_pct": ret,
                "signal_id": c.text("signal_id", t.signal_id, optional=True),
                "model_name": c.text("model_name", t.model_name, optional=True),
                "model_version": c.text("model_version", t.model_version, optional=True),
                "equity": equity_value,
            }
            common = self._common(c, t.symbol, t.source_engine, t.metadata, None, t.record_id,
                                  None, symbol_required=True)
            try:
                c.done()
            except ValidationError as exc:
                problems.extend(
                    FieldProblem(f"trades[{i}].{p.field}", p.value, p.problem)
                    for p in exc.problems
                )
                continue
            assert pnl_value is not None
            checked.append((t, common, data, ret if ret is not None else pnl_value))
        if problems:
            raise ValidationError("trade outcomes", problems)
        if not checked:
            return []
        execution = self.breakers.engine_for("execution_failure")
        results = [(t.pnl, t.equity) for t, *_ in checked]
        keys = [common["record_id"] for _, common, *_ in checked]
        deadline = min(common["deadline"] for _, common, *_ in checked)

        def breakers(timeout: float) -> list[bool]:  # one thread hop for the whole bar
            tripped = self.breakers.record_trade_results(results, keys=keys, timeout=timeout)
            if execution is not None:
                self.breakers.record_success(execution, key=keys[-1], timeout=timeout)
            return tripped

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout(checked[0][1], "feeding the circuit breakers")
        try:
            async with asyncio.timeout(remaining):
                tripped = await asyncio.to_thread(breakers, remaining)
        except StoreError as exc:  # kept by the manager, retried on its next change
            log.error("breaker state not saved (kept, retried on the next change): %s", exc)
            self.breaker_errors.append(exc)
            tripped = [False] * len(checked)
        except (TimeoutError, CallTimeoutError):
            raise self._timeout(checked[0][1], "feeding the circuit breakers") from None
        records: list[FeedbackRecord] = []
        for (_, common, data, outcome), trip in zip(checked, tripped, strict=True):
            body: dict[str, Any] = dict(data)
            body["outcome_kind"] = "return_pct" if data["return_pct"] is not None else "pnl"
            body["breaker_tripped"] = trip
            records.append(await self._emit(FeedbackType.TRADE_OUTCOME, common, body, outcome))
        return records

    async def record_signal_accuracy(
        self,
        symbol: str,
        predicted: float,
        actual_return: float,
        signal_id: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        confidence: float | None = None,
        horizon_seconds: float | None = None,
        source_engine: str = "signal",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """How a signal fared: ``predicted`` (signed signal) against ``actual_return`` (outcome)."""
        c = Checker("signal accuracy")
        pred = c.number("predicted", predicted)
        actual = c.number("actual_return", actual_return)
        data = {
            "predicted": pred,
            "actual_return": actual,
            "signal_id": c.text("signal_id", signal_id, optional=True),
            "model_name": c.text("model_name", model_name, optional=True),
            "model_version": c.text("model_version", model_version, optional=True),
            "confidence": c.number("confidence", confidence, optional=True, minimum=0, maximum=1),
            "horizon_seconds": c.number(
                "horizon_seconds", horizon_seconds, optional=True, positive=True
            ),
        }
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        assert pred is not None and actual is not None
        # correct: the signal's sign matched the realised move (undefined for a flat signal)
        data["correct"] = None if pred == 0 else (actual != 0 and (pred > 0) == (actual > 0))
        return await self._emit(FeedbackType.SIGNAL_ACCURACY, common, data, actual)

    # ------------------------------------------------------------------ execution errors
    async def record_execution_failure(
        self,
        symbol: str,
        error_type: str,
        message: str,
        order_id: str | None = None,
        broker_code: str | None = None,
        side: str | None = None,
        quantity: float | None = None,
        price: float | None = None,
        source_engine: str = "execution",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> tuple[FeedbackRecord, bool]:
        """An order that failed to execute; returns (record, whether a breaker tripped).

        Account-level failures (insufficient buying power, margin call, account restricted,
        ...) are CRITICAL; others HIGH. Feeds the execution breaker (10 in 60 s trips it).
        """
        c = Checker("execution failure")
        kind = c.text("error_type", error_type)
        text = c.text("message", message)
        data = self._order_data(c, order_id, broker_code, side, quantity, price)
        data.update(error_type=kind, message=text)
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        account = is_account_level(kind, text, broker_code)
        record, tripped = await self._error_record(
            FeedbackType.EXECUTION_FAILURE, "execution_failure", common, data, account,
            detail=f"{common['symbol']}: {kind}: {text}",
        )
        return record, tripped

    async def record_order_rejected(
        self,
        symbol: str,
        reason: str,
        order_id: str | None = None,
        broker_code: str | None = None,
        side: str | None = None,
        quantity: float | None = None,
        price: float | None = None,
        source_engine: str = "execution",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """An order the broker or a pre-trade check rejected (HIGH; CRITICAL if account-level)."""
        c = Checker("order rejection")
        why = c.text("reason", reason)
        data = self._order_data(c, order_id, broker_code, side, quantity, price)
        data["reason"] = why
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        record, _ = await self._error_record(
            FeedbackType.ORDER_REJECTED, "order_rejected", common, data,
            is_account_level(why, broker_code), detail=f"{common['symbol']}: {why}",
        )
        return record

    async def record_insufficient_capital(
        self,
        symbol: str,
        required: float,
        available: float,
        order_id: str | None = None,
        source_engine: str = "risk",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """Not enough capital for an order (CRITICAL); feeds the risk breaker (3 in 60 s)."""
        c = Checker("insufficient capital")
        data = {
            "required": c.number("required", required, positive=True),
            "available": c.number("available", available),
            "order_id": c.text("order_id", order_id, optional=True),
        }
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        record, _ = await self._error_record(
            FeedbackType.INSUFFICIENT_CAPITAL, "insufficient_capital", common, data, True,
            detail=f"{common['symbol']}: required {required:g}, available {available:g}",
        )
        return record

    async def record_position_mismatch(
        self,
        symbol: str,
        expected_quantity: float,
        actual_quantity: float,
        source_engine: str = "portfolio",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """Our position differs from the broker's (CRITICAL); one trips the portfolio breaker."""
        c = Checker("position mismatch")
        expected = c.number("expected_quantity", expected_quantity)
        actual = c.number("actual_quantity", actual_quantity)
        if expected is not None and actual is not None and expected == actual:
            c.fail("actual_quantity", actual_quantity, "equals expected_quantity: no mismatch")
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout, symbol_required=True
        )
        c.done()
        assert expected is not None and actual is not None
        data: dict[str, Any] = {
            "expected_quantity": expected, "actual_quantity": actual,
            "difference": actual - expected,
        }
        record, _ = await self._error_record(
            FeedbackType.POSITION_MISMATCH, "position_mismatch", common, data, True,
            detail=f"{common['symbol']}: expected {expected:g}, broker has {actual:g}",
        )
        return record

    async def record_broker_sync_failure(
        self,
        message: str,
        broker: str | None = None,
        source_engine: str = "execution",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """Positions/orders could not be synchronised with the broker (HIGH; 2 in 60 s trip)."""
        c = Checker("broker sync failure")
        data = {"message": c.text("message", message), "broker": c.text("broker", broker, True)}
        common = self._common(
            c, None, source_engine, metadata, priority, record_id, timeout
        )
        c.done()
        record, _ = await self._error_record(
            FeedbackType.BROKER_SYNC_FAILURE, "broker_sync_failure", common, data,
            is_account_level(message), detail=str(data["message"]),
        )
        return record

    # ------------------------------------------------------------------ market and operations
    async def record_regime_change(
        self,
        old_regime: str,
        new_regime: str,
        confidence: float,
        symbol: str | None = None,
        detector: str | None = None,
        source_engine: str = "signal",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """The market regime changed (e.g. "bull" → "bear") with ``confidence`` in [0, 1]."""
        c = Checker("regime change")
        old = c.text("old_regime", old_regime)
        new = c.text("new_regime", new_regime)
        if old is not None and old == new:
            c.fail("new_regime", new_regime, "equals old_regime: not a change")
        data = {
            "old_regime": old,
            "new_regime": new,
            "confidence": c.number("confidence", confidence, minimum=0, maximum=1),
            "detector": c.text("detector", detector, optional=True),
        }
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout
        )
        c.done()
        return await self._emit(FeedbackType.REGIME_CHANGE, common, data, None)

    async def record_risk_breach(
        self,
        rule: str,
        value: float,
        limit: float,
        symbol: str | None = None,
        action_taken: str | None = None,
        source_engine: str = "risk",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """A risk limit was breached (HIGH): ``rule`` measured ``value`` against ``limit``."""
        c = Checker("risk breach")
        data = {
            "rule": c.text("rule", rule),
            "value": c.number("value", value),
            "limit": c.number("limit", limit),
            "action_taken": c.text("action_taken", action_taken, optional=True),
        }
        common = self._common(
            c, symbol, source_engine, metadata, priority, record_id, timeout
        )
        c.done()
        return await self._emit(FeedbackType.RISK_BREACH, common, data, None)

    async def record_signal_batch(
        self,
        signal_count: int,
        symbols: list[str] | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        batch_id: str | None = None,
        duration_seconds: float | None = None,
        source_engine: str = "signal",
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """A batch of signals was produced (LOW)."""
        c = Checker("signal batch")
        data = {
            "signal_count": c.count("signal_count", signal_count),
            "symbols": c.texts("symbols", symbols),
            "model_name": c.text("model_name", model_name, optional=True),
            "model_version": c.text("model_version", model_version, optional=True),
            "batch_id": c.text("batch_id", batch_id, optional=True),
            "duration_seconds": c.number(
                "duration_seconds", duration_seconds, optional=True, minimum=0
            ),
        }
        common = self._common(
            c, None, source_engine, metadata, priority, record_id, timeout
        )
        c.done()
        return await self._emit(FeedbackType.SIGNAL_BATCH, common, data, None)

    async def record_trading_cycle(
        self,
        cycle_id: str | None = None,
        signals: int = 0,
        orders: int = 0,
        fills: int = 0,
        errors: int = 0,
        duration_seconds: float | None = None,
        pnl: float | None = None,
        source_engine: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """One pass of the trading loop (LOW; NORMAL when it had errors). Outcome = ``pnl``."""
        c = Checker("trading cycle")
        cycle_pnl = c.number("pnl", pnl, optional=True)
        data = {
            "cycle_id": c.text("cycle_id", cycle_id, optional=True),
            "signals": c.count("signals", signals),
            "orders": c.count("orders", orders),
            "fills": c.count("fills", fills),
            "errors": c.count("errors", errors),
            "duration_seconds": c.number(
                "duration_seconds", duration_seconds, optional=True, minimum=0
            ),
            "pnl": cycle_pnl,
        }
        common = self._common(
            c, None, source_engine, metadata, priority, record_id, timeout
        )
        c.done()
        if priority is None and data["errors"]:
            common["priority"] = FeedbackPriority.NORMAL
        return await self._emit(FeedbackType.TRADING_CYCLE, common, data, cycle_pnl)

    async def record_error_rate_spike(
        self,
        engine: str,
        error_rate: float,
        threshold: float | None = None,
        window_seconds: float | None = None,
        error_count: int | None = None,
        source_engine: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        priority: FeedbackPriority | str | None = None,
        record_id: str | None = None,
        timeout: float | None = None,
    ) -> FeedbackRecord:
        """An engine's error rate jumped (HIGH); recorded for analysis, trips no breaker."""
        c = Checker("error rate spike")
        name = c.text("engine", engine)
        data = {
            "engine": name,
            "error_rate": c.number("error_rate", error_rate, minimum=0),
            "threshold": c.number("threshold", threshold, optional=True, minimum=0),
            "window_seconds": c.number(
                "window_seconds", window_seconds, optional=True, positive=True
            ),
            "error_count": c.count("error_count", error_count, optional=True),
        }
        common = self._common(
            c, None, source_engine or name, metadata, priority, record_id, timeout
        )
        c.done()
        return await self._emit(FeedbackType.ERROR_RATE_SPIKE, common, data, None)

    # ------------------------------------------------------------------ similar situations
    def enable_similarity(self, situations: SituationIndex) -> None:
        """Index every record with features for :meth:`search_similar` (built on first use)."""
        self.situations = situations
        self.add_listener(situations.on_record)

    async def search_similar(
        self,
        record_or_features: FeedbackRecord | Mapping[str, Any],
        *,
        where: Mapping[str, Any] | None = None,
        k: int = 10,
        regime: str | None = None,
        before: datetime | None = None,
    ) -> list[SimilarSituation]:
        """Past situations most like this one (a record, or feature name -> value), nearest
        first, each with its outcome. ``where`` filters on outcome, regime, symbol,
        feedback_type, model_name (Chroma's where language); ``before`` keeps earlier ones.

        Runs in a worker thread; the first call builds the index from the stored feedback.
        """
        if self.situations is None:
            raise ValidationError("search_similar", [FieldProblem(
                "similarity", None, "similarity search is not enabled on this collector; the "
                "engine enables it (it needs the 'vectors' extra: pip install "
                "'ordinis-learning[vectors]')")])
        return await asyncio.to_thread(
            self.situations.search, record_or_features, regime=regime, where=where, k=k,
            before=before)

    # ------------------------------------------------------------------ reading back
    def query_feedback(
        self,
        feedback_type: FeedbackType | str | None = None,
        symbol: str | None = None,
        source_engine: str | None = None,
        priority: FeedbackPriority | str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
        descending: bool = False,
    ) -> list[FeedbackRecord]:
        """Stored feedback, oldest first (``descending`` for newest first); ``end`` is exclusive.

        Reads what the store has committed (flush the pipeline first for the latest).
        """
        c = Checker("feedback query")
        ftype = c.feedback_type(feedback_type)
        wanted = c.priority(priority)
        sym = c.text("symbol", symbol, optional=True)
        source = c.text("source_engine", source_engine, optional=True)
        lo, hi = c.when("start", start), c.when("end", end)
        if lo is not None and hi is not None and lo >= hi:
            c.fail("end", end, "must be after start")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            c.fail("limit", limit, "must be an integer >= 1")
        c.done()
        query = EventQuery(
            start=lo, end=hi, symbol=sym, source_engine=source, descending=descending,
            event_types=(ftype.event_type,) if ftype else FEEDBACK_EVENT_TYPES,
        )
        fetch = limit if wanted is None else limit * 4
        while True:
            query.limit = fetch
            events = self.sink.query(query)
            records = [event_to_record(e) for e in events]
            if wanted is not None:
                records = [r for r in records if r.priority is wanted]
            if len(records) >= limit or len(events) < fetch:
                return records[:limit]
            fetch *= 4  # the priority filter left too few: read further

    # ------------------------------------------------------------------ internals
    def _common(
        self,
        c: Checker,
        symbol: object,
        source_engine: object,
        metadata: object,
        priority: object,
        record_id: object,
        timeout: object,
        symbol_required: bool = False,
    ) -> dict[str, Any]:
        rid = c.text("record_id", record_id, optional=True) or new_id()
        limit = c.number("timeout", timeout, optional=True, positive=True)
        wait = self.call_timeout if limit is None else limit
        return {
            "record_id": rid,
            "deadline": time.monotonic() + wait,  # wall-clock bound of this call's waits
            "symbol": c.text("symbol", symbol, optional=not symbol_required),
            "source_engine": c.text(
                "source_engine",
                self.source_engine_default if source_engine is None else source_engine,
            ),
            "metadata": c.metadata(metadata),
            "priority": c.priority(priority),
        }

    @staticmethod
    def _order_data(
        c: Checker,
        order_id: object,
        broker_code: object,
        side: object,
        quantity: object,
        price: object,
    ) -> dict[str, Any]:
        side_text = c.text("side", side, optional=True)
        if side_text is not None and side_text.lower() not in ("buy", "sell"):
            c.fail("side", side, "must be 'buy' or 'sell'")
        return {
            "order_id": c.text("order_id", order_id, optional=True),
            "broker_code": c.text("broker_code", broker_code, optional=True),
            "side": None if side_text is None else side_text.lower(),
            "quantity": c.number("quantity", quantity, optional=True),
            "price": c.number("price", price, optional=True, positive=True),
        }

    async def _error_record(
        self,
        ftype: FeedbackType,
        error_type: str,
        common: dict[str, Any],
        data: dict[str, Any],
        account_level: bool,
        detail: str,
    ) -> tuple[FeedbackRecord, bool]:
        """Feed the breaker for ``error_type``, then persist the record (even if the breaker
        state could not be saved; that error is raised after)."""
        engine = self.breakers.engine_for(error_type)
        tripped = False
        if engine is not None:
            tripped = await self._call_breakers(
                common, self.breakers.record_error, engine, error_type, detail
            )
        data["account_level"] = account_level
        data["breaker_engine"] = engine
        data["breaker_tripped"] = tripped
        if common["priority"] is None and account_level:
            common["priority"] = FeedbackPriority.CRITICAL
        record = await self._emit(ftype, common, data, None)
        return record, tripped

    async def _call_breakers(
        self, common: dict[str, Any], fn: Callable[..., bool], *args: Any
    ) -> bool:
        """Feed a breaker in a worker thread, bounded by the call's deadline.

        The record id is the breaker's idempotency key, so a retry after a timeout never
        counts twice. A breaker state that could not be saved is logged and kept for the
        next save, never raised after the event is recorded (a retry would duplicate it).
        """
        remaining = common["deadline"] - time.monotonic()
        if remaining <= 0:
            raise self._timeout(common, "feeding the circuit breakers")
        call = asyncio.to_thread(fn, *args, key=common["record_id"], timeout=remaining)
        try:
            async with asyncio.timeout(remaining):
                return await call
        except StoreError as exc:
            log.error("breaker state not saved (kept, retried on the next change): %s", exc)
            self.breaker_errors.append(exc)
            return False
        except (TimeoutError, CallTimeoutError):
            raise self._timeout(common, "feeding the circuit breakers") from None

    @staticmethod
    def _timeout(common: dict[str, Any], what: str) -> CallTimeoutError:
        error = CallTimeoutError(
            f"feedback record {common['record_id']!r} was NOT recorded: the call's timeout "
            f"ran out while {what}. Retry with record_id={common['record_id']!r} (idempotent: "
            "it is stored and counted once), or pass a larger timeout=."
        )
        error.record_id = common["record_id"]
        return error

    def _counter_of(self, feedback_type: str, priority: str) -> Any:
        """The labelled child of ``feedback_records_total`` (looked up once per label pair)."""
        key = (feedback_type, priority)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = self.metrics.feedback_records_total.labels(
                feedback_type=feedback_type, priority=priority
            )
        return child

    async def _emit(
        self,
        ftype: FeedbackType,
        common: dict[str, Any],
        data: dict[str, Any],
        outcome: float | None,
    ) -> FeedbackRecord:
        body = {k: v for k, v in data.items() if v is not None}
        if common["metadata"]:
            body["metadata"] = common["metadata"]
        record = FeedbackRecord(
            feedback_type=ftype.value,
            source_engine=common["source_engine"],
            priority=common["priority"] or DEFAULT_PRIORITY[ftype],
            symbol=common["symbol"],
            timestamp=self.clock.now(),
            data=body,
            outcome=outcome,
            record_id=common["record_id"],
            event_id=common["record_id"],
        )
        remaining = common["deadline"] - time.monotonic()
        if remaining <= 0:
            raise self._timeout(common, "waiting for event buffer space")
        try:
            await self.sink.record_async(record_to_event(record), timeout=remaining)
        except CallTimeoutError as exc:
            exc.record_id = record.record_id
            raise
        self._counter_of(record.feedback_type, record.priority.value).inc()
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception as exc:  # a listener bug must not lose feedback
                log.exception("feedback listener %r failed", listener)
                self.listener_errors.append((record, exc))
        return record

