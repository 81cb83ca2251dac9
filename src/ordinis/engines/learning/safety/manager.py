"""The breakers of all trading engines, persisted in the event store, and the trading gates.

Every state change is written (``put_record`` commits) before the call that caused it
returns, so a process that dies with a breaker open comes back open. Signals are blocked
while any breaker is open; execution while any breaker but the signal breaker is open.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    CallTimeoutError,
    ConfigError,
    FieldProblem,
    SignalBlockedError,
    StoreError,
    ValidationError,
)
from ordinis.engines.learning.core.models import StoredRecord
from ordinis.engines.learning.events.store import EventStore
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.safety.breaker import CircuitBreaker
from ordinis.engines.learning.safety.losses import LossState, LossTracker
from ordinis.engines.learning.safety.rules import (
    DEFAULT_ERROR_ENGINES,
    DEFAULT_TRIP_RULES,
    TripRule,
)
from ordinis.engines.learning.safety.state import BreakerChange, BreakerSnapshot, BreakerState

log = logging.getLogger(__name__)

BREAKER_RECORD_KIND = "circuit_breaker"
LOSS_RECORD_KIND = "circuit_breaker_losses"
SIGNAL_ENGINE = "signal"
DEFAULT_ENGINES: tuple[str, ...] = ("signal", "risk", "execution", "portfolio")


class CircuitBreakerManager:
    """One ``CircuitBreaker`` per engine, loss trips on the signal breaker, persistence and gates.

    Call ``load()`` at start (the first use loads anyway, so a stored OPEN state is never
    overwritten). All methods are synchronous and thread-safe; they write to the store only
    when something changed (errors recorded, a state change, a trade result).
    """

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        metrics: LearningMetrics,
        config: LearningEngineConfig,
        engines: tuple[str, ...] = DEFAULT_ENGINES,
        rules: dict[str, list[TripRule]] | None = None,
        on_change: Callable[[BreakerChange], None] | None = None,
        half_open_successes: int = 1,
    ) -> None:
        engines = tuple(engines)
        _check_engines(engines, rules)
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.config = config
        self.on_change = on_change
        rules = rules or {}
        self._breakers: dict[str, CircuitBreaker] = {
            engine: CircuitBreaker(
                engine,
                tuple(rules.get(engine, DEFAULT_TRIP_RULES)),
                clock,
                config.breaker_recovery_timeout_seconds,
                half_open_successes,
            )
            for engine in engines
        }
        self._losses = LossTracker(
            config.breaker_max_consecutive_losses, config.breaker_max_drawdown_pct
        )
        # error type -> engine whose breaker it feeds, limited to the engines we have
        self.error_engines: dict[str, str] = {
            t: e for t, e in DEFAULT_ERROR_ENGINES.items() if e in self._breakers
        }
        self.callback_errors: deque[tuple[BreakerChange, BaseException]] = deque(maxlen=100)
        self._lock = threading.RLock()
        # results of calls made with an idempotency key: a retry returns, never re-counts
        self._applied: OrderedDict[tuple[str, str | None], bool] = OrderedDict()
        self._loaded = False
        self._persisted: dict[str, BreakerSnapshot] = {}
        self._dirty: set[str] = set()
        self._unreported: dict[str, list[BreakerChange]] = {e: [] for e in engines}
        self._loss_dirty = False
        self._opened_at: dict[str, datetime] = {}  # engine -> clock time its breaker opened
        for engine in engines:
            metrics.circuit_breaker_state.labels(engine=engine).set(0)

    # ------------------------------------------------------------------ lifecycle
    @property
    def engines(self) -> tuple[str, ...]:
        return tuple(self._breakers)

    def load(self) -> None:
        """Restore every breaker and the loss streak from the store (kind ``circuit_breaker``)."""
        with self._lock:
            for engine, breaker in self._breakers.items():
                record = self.store.get_record(BREAKER_RECORD_KIND, engine)
                if record is None:
                    self._persisted.pop(engine, None)
                else:
                    try:
                        snapshot = BreakerSnapshot.from_body(record.body)
                        breaker.restore(replace(snapshot, engine=engine))
                        self._persisted[engine] = snapshot
                        if snapshot.is_open and snapshot.opened_at is not None:
                            self._opened_at[engine] = snapshot.opened_at
                    except (KeyError, ValueError, TypeError) as exc:
                        # Fail safe: unreadable state means we do not know it is safe to trade.
                        log.error("breaker %s: stored state unreadable (%s); opening", engine, exc)
                        breaker.restore(BreakerSnapshot(engine, BreakerState.CLOSED))
                        breaker.trip(
                            f"stored breaker state unreadable ({exc}); check and reset by hand",
                            error_type="corrupt_state",
                            latched=True,
                        )
                        self._dirty.add(engine)
                self._set_gauge(engine)
            loss_record = self.store.get_record(LOSS_RECORD_KIND, SIGNAL_ENGINE)
            if loss_record is not None:
                try:
                    self._losses.state = LossState.from_body(loss_record.body)
                except (KeyError, ValueError, TypeError) as exc:
                    log.error("loss tracker: stored state unreadable (%s); starting afresh", exc)
                    self._loss_dirty = True
            self._loaded = True
            self._commit(self._breakers, raise_errors=True)

    # ------------------------------------------------------------------ recording
    def record_error(
        self,
        engine: str,
        error_type: str,
        detail: str = "",
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Count an error against ``engine``'s breaker; True when this call opened it.

        ``key`` makes a retry idempotent (counted once); ``timeout`` bounds the wait for the
        manager's lock (CallTimeoutError, nothing changed).
        """
        with self._locked(timeout, "record_error", self.config.call_timeout_seconds):
            done = self._applied.get(("error", key)) if key is not None else None
            if done is not None:
                return done
            breaker = self._breaker(engine)
            self._ensure_loaded()
            tripped = breaker.record_error(error_type, detail)
            self._remember(("error", key), tripped)
            self._dirty.add(engine)  # the error window changed: keep it across a restart
            self._commit([engine], raise_errors=True)
            return tripped

    def record_success(
        self, engine: str, *, key: str | None = None, timeout: float | None = None
    ) -> bool:
        """A success of ``engine``'s guarded work; True when it closed a half-open breaker."""
        with self._locked(timeout, "record_success", self.config.call_timeout_seconds):
            done = self._applied.get(("success", key)) if key is not None else None
            if done is not None:
                return done
            breaker = self._breaker(engine)
            self._ensure_loaded()
            closed = breaker.record_success()
            self._remember(("success", key), closed)
            self._commit([engine], raise_errors=True)
            return closed

    def record_trade_result(
        self,
        pnl: float,
        equity: float | None = None,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """A closed trade; True when a losing streak, the drawdown or a failed probe opened signals.

        ``breaker_max_consecutive_losses`` losing trades in a row, or equity falling
        ``breaker_max_drawdown_pct`` below its peak, trips the signal breaker. In HALF_OPEN a
        winning trade closes it and a losing one re-opens it. A trip restarts the counts.
        """
        problems: list[FieldProblem] = []
        if not _is_finite(pnl):
            problems.append(FieldProblem("pnl", pnl, "must be a finite number"))
        if equity is not None and not _is_finite(equity):
            problems.append(FieldProblem("equity", equity, "must be a finite number or None"))
        if problems:
            raise ValidationError("trade result", problems)
        with self._locked(timeout, "record_trade_result", self.config.call_timeout_seconds):
            done = self._applied.get(("trade", key)) if key is not None else None
            if done is not None:
                return done
            self._ensure_loaded()
            tripped = self._trade_locked(float(pnl), None if equity is None else float(equity))
            self._remember(("trade", key), tripped)
            self._commit([SIGNAL_ENGINE] if SIGNAL_ENGINE in self._breakers else [],
                         raise_errors=True)
            return tripped

    def record_trade_results(
        self,
        trades: Sequence[tuple[float, float | None]],
        *,
        keys: Sequence[str | None] | None = None,
        timeout: float | None = None,
    ) -> list[bool]:
        """Many closed trades ``(pnl, equity)`` in order, with one store commit for all of them.

        The same rules as ``record_trade_result`` apply to each trade in turn (``keys``, one per
        trade, make each idempotent); the result says, per trade, whether it opened signals.
        Validated first: one bad entry refuses them all.
        """
        problems: list[FieldProblem] = []
        if keys is not None and len(keys) != len(trades):
            problems.append(FieldProblem("keys", len(keys), f"needs one per trade ({len(trades)})"))
        for i, (pnl, equity) in enumerate(trades):
            if not _is_finite(pnl):
                problems.append(FieldProblem(f"trades[{i}].pnl", pnl, "must be a finite number"))
            if equity is not None and not _is_finite(equity):
                problems.append(
                    FieldProblem(f"trades[{i}].equity", equity, "must be a finite number or None")
                )
        if problems:
            raise ValidationError("trade results", problems)
        with self._locked(timeout, "record_trade_results", self.config.call_timeout_seconds):
            self._ensure_loaded()
            out: list[bool] = []
            for i, (p, e) in enumerate(trades):
                key = keys[i] if keys is not None else None
                done = self._applied.get(("trade", key)) if key is not None else None
                if done is not None:
                    out.append(done)
                    continue
                tripped = self._trade_locked(float(p), None if e is None else float(e))
                self._remember(("trade", key), tripped)
                out.append(tripped)
            self._commit([SIGNAL_ENGINE] if SIGNAL_ENGINE in self._breakers else [],
                         raise_errors=True)
            return out

    def _trade_locked(self, pnl: float, equity: float | None) -> bool:
        """One trade's effect on the loss counts and the signal breaker (lock held, no commit)."""
        loss_trip = self._losses.update(pnl, equity)
        self._loss_dirty = True
        signal = self._breakers.get(SIGNAL_ENGINE)
        if signal is None:
            return False
        tripped = False
        state = signal.state
        if state is BreakerState.HALF_OPEN and pnl > 0:
            signal.record_success()
        elif state is BreakerState.HALF_OPEN and pnl < 0:
            tripped = signal.record_error("losing_trade", f"pnl={pnl:g}")
        if loss_trip is not None and signal.state is not BreakerState.OPEN:
            tripped = signal.trip(loss_trip.reason, loss_trip.error_type, latched=False)
        if tripped:
            self._losses.rebase()
        return tripped

    # ------------------------------------------------------------------ gates
    def should_allow_signals(
        self, consume_probe: bool = True, timeout: float | None = None
    ) -> tuple[bool, str]:
        """(allowed, reason): blocked while any breaker is open.

        A half-open signal breaker's probe is taken here; pass ``consume_probe=False`` to
        only look (health checks, dashboards). Waits at most ``timeout`` seconds (default
        ``gate_timeout_seconds``) for the manager's lock, then raises CallTimeoutError.
        """
        with self._locked(timeout, "should_allow_signals"):
            self._refresh_all()
            blocked = self._open_reasons(self._breakers)
            if blocked:
                return False, "signals blocked: " + "; ".join(blocked)
            signal = self._breakers.get(SIGNAL_ENGINE)
            if signal is not None and signal.last_state is BreakerState.HALF_OPEN:
                return signal.allow(consume=consume_probe)
            return True, self._allowed_reason(self._breakers)

    def should_allow_execution(
        self, consume_probe: bool = True, timeout: float | None = None
    ) -> tuple[bool, str]:
        """(allowed, reason): blocked while any breaker but the signal breaker is open.

        A losing streak stops new signals but not the orders that manage open positions.
        Half-open execution, risk and portfolio breakers take their probe here (unless
        ``consume_probe=False``). Bounded by ``timeout`` like ``should_allow_signals``.
        """
        with self._locked(timeout, "should_allow_execution"):
            self._refresh_all()
            guarded = [e for e in self._breakers if e != SIGNAL_ENGINE]
            blocked = self._open_reasons(guarded)
            if blocked:
                return False, "execution blocked: " + "; ".join(blocked)
            for engine in guarded:
                breaker = self._breakers[engine]
                if breaker.last_state is BreakerState.HALF_OPEN:
                    ok, why = breaker.allow(consume=consume_probe)
                    if not ok:
                        return False, "execution blocked: " + why
            return True, self._allowed_reason(guarded)

    def require_signals_allowed(self) -> None:
        """Raise SignalBlockedError(reason) when ``should_allow_signals`` says no."""
        ok, why = self.should_allow_signals()
        if not ok:
            raise SignalBlockedError(why)

    # ------------------------------------------------------------------ operator actions
    def reset(self, engine: str, by: str, reason: str) -> BreakerSnapshot:
        """Close ``engine``'s breaker by hand; ``by`` and ``reason`` are stored and reported."""
        with self._lock:
            breaker = self._breaker(engine)
            self._ensure_loaded()
            breaker.reset(by, reason)
            self._dirty.add(engine)
            if engine == SIGNAL_ENGINE:
                self._losses.rebase()
                self._loss_dirty = True
            self._commit([engine], raise_errors=True)
            return breaker.snapshot()

    def trip(self, engine: str, reason: str, by: str) -> bool:
        """Open ``engine``'s breaker by hand; it stays open until ``reset`` (latched)."""
        if not isinstance(by, str) or not by.strip():
            raise ValidationError("manual trip", [FieldProblem("by", by, "must name who trips")])
        with self._lock:
            breaker = self._breaker(engine)
            self._ensure_loaded()
            opened = breaker.trip(reason, error_type="manual", latched=True, by=by)
            self._commit([engine], raise_errors=True)
            return opened

    # ------------------------------------------------------------------ reading
    def states(self) -> dict[str, BreakerSnapshot]:
        """A snapshot of every breaker, after applying the clock (OPEN may become HALF_OPEN)."""
        with self._lock:
            self._refresh_all()
            return {e: b.snapshot() for e, b in self._breakers.items()}

    def state(self, engine: str) -> BreakerState:
        """The state of one breaker now."""
        with self._lock:
            breaker = self._breaker(engine)
            self._refresh_all()
            return breaker.state

    def poll(self) -> None:
        """Apply the clock to every breaker and persist what changed (schedule it periodically)."""
        with self._lock:
            self._refresh_all()

    def engine_for(self, error_type: str) -> str | None:
        """The engine whose breaker ``error_type`` feeds by default, if that engine is managed."""
        return self.error_engines.get(error_type)

    @property
    def loss_state(self) -> LossState:
        """A copy of the losing streak and equity peak."""
        with self._lock:
            return replace(self._losses.state)

    # ------------------------------------------------------------------ internals
    @contextlib.contextmanager
    def _locked(
        self, timeout: float | None, call: str, default: float | None = None
    ) -> Iterator[None]:
        """Hold the manager's lock, waiting at most ``timeout`` s (else ``default``, else the
        gate timeout) for it."""
        if timeout is None:
            timeout = self.config.gate_timeout_seconds if default is None else default
        limit = timeout
        if not self._lock.acquire(timeout=max(limit, 0.0)):
            raise CallTimeoutError(
                f"{call}: the circuit breakers were busy for {limit:g} s (another call is "
                "saving breaker state to a slow store); nothing was changed. Treat it as "
                "blocked, retry, or raise gate_timeout_seconds / pass a larger timeout=."
            )
        try:
            yield
        finally:
            self._lock.release()

    def _remember(self, key: tuple[str, str | None], result: bool) -> None:
        """Keep the result of an idempotent call (the most recent 10,000 keys)."""
        if key[1] is None:
            return
        self._applied[key] = result
        if len(self._applied) > 10_000:
            self._applied.popitem(last=False)

    def _breaker(self, engine: str) -> CircuitBreaker:
        breaker = self._breakers.get(engine)
        if breaker is None:
            raise ValidationError(
                "circuit breaker",
                [
                    FieldProblem(
                        "engine", engine, f"unknown engine; known: {', '.join(self._breakers)}"
                    )
                ],
            )
        return breaker

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.load()

    def _refresh_all(self) -> None:
        self._ensure_loaded()
        for breaker in self._breakers.values():
            breaker.refresh()
        # a gate must answer even when the store is down: failures revert to the safer state
        self._commit(self._breakers, raise_errors=False)

    def _open_reasons(self, engines: Iterable[str]) -> list[str]:
        reasons = []
        for engine in engines:
            breaker = self._breakers[engine]
            if breaker.last_state is BreakerState.OPEN:  # callers refreshed just before
                reasons.append(breaker.allow(consume=False)[1])
        return reasons

    def _allowed_reason(self, engines: Iterable[str]) -> str:
        probing = [e for e in engines if self._breakers[e].last_state is BreakerState.HALF_OPEN]
        if probing:
            return f"allowed; half-open (probing): {', '.join(probing)}"
        return "all circuit breakers closed"

    def _commit(self, engines: Iterable[str], raise_errors: bool) -> None:
        """Persist the breakers that changed, then report their changes (metrics, on_change)."""
        failure: StoreError | None = None
        for engine in engines:
            breaker = self._breakers[engine]
            self._unreported[engine].extend(breaker.pop_changes())
            if not self._unreported[engine] and engine not in self._dirty:
                continue
            snapshot = breaker.snapshot()
            self._unreported[engine].extend(breaker.pop_changes())
            try:
                self._put(engine, snapshot)
            except Exception as exc:  # turned into StoreError below
                failure = failure or StoreError(
                    f"could not persist circuit breaker {engine!r} (state {snapshot.state.value}) "
                    f"to {self.store.url}: {exc}"
                )
                self._on_persist_failure(engine, snapshot)
                continue
            self._persisted[engine] = snapshot
            self._dirty.discard(engine)
            self._set_gauge(engine)
            changes, self._unreported[engine] = self._unreported[engine], []
            for change in changes:
                self._report(change)
        if self._loss_dirty:
            try:
                now = self.clock.now()
                self.store.put_record(
                    StoredRecord(
                        LOSS_RECORD_KIND, SIGNAL_ENGINE, self._losses.state.to_body(), now, now
                    )
                )
                self._loss_dirty = False
            except Exception as exc:  # turned into StoreError below
                failure = failure or StoreError(
                    f"could not persist the loss streak to {self.store.url}: {exc}"
                )
        if failure is not None:
            if raise_errors:
                raise failure
            log.error("%s", failure)

    def _put(self, engine: str, snapshot: BreakerSnapshot) -> None:
        now = self.clock.now()
        self.store.put_record(
            StoredRecord(
                kind=BREAKER_RECORD_KIND,
                key=engine,
                body=snapshot.to_body(),
                created_at=now,
                updated_at=now,
                tag=snapshot.state.value,
            )
        )

    def _on_persist_failure(self, engine: str, current: BreakerSnapshot) -> None:
        """Keep memory no less safe than the store: undo a relaxation that could not be saved."""
        stored = self._persisted.get(engine) or BreakerSnapshot(engine, BreakerState.CLOSED)
        if current.state.safety_rank < stored.state.safety_rank:
            self._breakers[engine].restore(stored)
            self._unreported[engine] = []
            self._dirty.discard(engine)
        else:
            self._dirty.add(engine)  # retried on the next call
        self._set_gauge(engine)

    def _report(self, change: BreakerChange) -> None:
        if change.is_trip:
            self.metrics.circuit_breaker_trips_total.labels(
                engine=change.engine, error_type=change.error_type or "unknown"
            ).inc()
            self._opened_at[change.engine] = change.at
        elif change.from_state is BreakerState.OPEN and change.to_state is not BreakerState.OPEN:
            opened = self._opened_at.pop(change.engine, None)
            if opened is not None:
                self.metrics.circuit_breaker_open_duration.labels(engine=change.engine).observe(
                    max(0.0, (change.at - opened).total_seconds())
                )
        log.warning(
            "circuit breaker %s: %s -> %s by %s: %s",
            change.engine, change.from_state.value, change.to_state.value, change.by, change.reason,
        )
        if self.on_change is None:
            return
        try:
            self.on_change(change)
        except Exception as exc:  # state must not hang on a callback
            log.exception("on_change callback failed for %s", change)
            self.callback_errors.append((change, exc))

    def _set_gauge(self, engine: str) -> None:
        state = self._breakers[engine].last_state
        self.metrics.circuit_breaker_state.labels(engine=engine).set(state.gauge_value)


def _check_engines(engines: tuple[str, ...], rules: dict[str, list[TripRule]] | None) -> None:
    problems: list[FieldProblem] = []
    if not engines:
        problems.append(FieldProblem("engines", engines, "name at least one engine"))
    for engine in engines:
        if not isinstance(engine, str) or not engine.strip():
            problems.append(FieldProblem("engines", engine, "each must be a non-empty string"))
    if len(set(engines)) != len(engines):
        problems.append(FieldProblem("engines", engines, "engine names must be unique"))
    for engine in rules or {}:
        if engine not in engines:
            problems.append(
                FieldProblem(
                    "rules", engine, f"rules for an engine that is not managed; known: {engines}"
                )
            )
    if problems:
        raise ConfigError("CircuitBreakerManager", problems)


def _is_finite(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )
