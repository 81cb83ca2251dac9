"""The host's per-cycle results, as ``await engine.update(results)`` receives them.

The ordinis orchestration calls ``update`` every cycle with a list, one entry per cycle, each
carrying the cycle's signals, fills and result. Entries may be mappings or objects with the same
attribute names; ``parse_cycle_results`` turns them into typed records or raises one
ValidationError naming every bad field by its index (``results[2].fills[0].price``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError


@dataclass(frozen=True, slots=True)
class CycleSignal:
    """A signal the cycle produced: direction and conviction in ``signal`` (-1..1)."""

    symbol: str
    signal: float
    model_name: str | None = None
    model_version: str | None = None
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CycleFill:
    """An order fill of the cycle."""

    symbol: str
    side: str
    quantity: float
    price: float
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """A position closed in the cycle: its PnL and the position's return."""

    symbol: str
    pnl: float
    return_pct: float | None = None
    model_name: str | None = None
    model_version: str | None = None
    equity: float | None = None


@dataclass(frozen=True, slots=True)
class CycleResult:
    """One trading cycle as the host reports it."""

    cycle_id: str | None = None
    timestamp: datetime | None = None
    signals: tuple[CycleSignal, ...] = ()
    fills: tuple[CycleFill, ...] = ()
    outcomes: tuple[CycleOutcome, ...] = ()
    pnl: float | None = None
    errors: int = 0


_SIDES = ("buy", "sell")


class _Reader:
    """Reads fields of mappings or objects, collecting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def get(self, obj: Any, name: str, default: Any = None) -> Any:
        if isinstance(obj, Mapping):
            return obj.get(name, default)
        return getattr(obj, name, default)

    def text(self, path: str, value: Any, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(FieldProblem(path, value, "must be a non-empty string"))
            return None
        return value

    def number(self, path: str, value: Any, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(FieldProblem(path, value, "must be a number"))
            return None
        if not math.isfinite(float(value)):
            self.problems.append(FieldProblem(path, value, "must be finite (not NaN or inf)"))
            return None
        return float(value)

    def items(self, path: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            self.problems.append(FieldProblem(path, value, "must be a list"))
            return []
        return list(value)


def _signal(r: _Reader, path: str, raw: Any) -> CycleSignal | None:
    n = len(r.problems)
    symbol = r.text(f"{path}.symbol", r.get(raw, "symbol"))
    value = r.get(raw, "signal")
    if value is None:
        value = r.get(raw, "score")
    signal = r.number(f"{path}.signal", value)
    model_name = r.text(f"{path}.model_name", r.get(raw, "model_name"), optional=True)
    version = r.text(f"{path}.model_version", r.get(raw, "model_version"), optional=True)
    features_raw = r.get(raw, "features") or {}
    features: dict[str, float] = {}
    if not isinstance(features_raw, Mapping):
        r.problems.append(FieldProblem(f"{path}.features", features_raw, "must be a mapping"))
    else:
        for k, v in features_raw.items():
            x = r.number(f"{path}.features.{k}", v)
            if x is not None:
                features[str(k)] = x
    if len(r.problems) > n or symbol is None or signal is None:
        return None
    return CycleSignal(symbol, signal, model_name, version, features)


def _fill(r: _Reader, path: str, raw: Any) -> CycleFill | None:
    n = len(r.problems)
    symbol = r.text(f"{path}.symbol", r.get(raw, "symbol"))
    side = r.get(raw, "side")
    side_text = str(getattr(side, "value", side)).lower() if side is not None else None
    if side_text not in _SIDES:
        r.problems.append(FieldProblem(f"{path}.side", side, "must be 'buy' or 'sell'"))
    quantity = r.number(f"{path}.quantity", r.get(raw, "quantity"))
    price = r.number(f"{path}.price", r.get(raw, "price"))
    if price is not None and price <= 0:
        r.problems.append(FieldProblem(f"{path}.price", price, "must be > 0"))
    order_id = r.text(f"{path}.order_id", r.get(raw, "order_id"), optional=True)
    if len(r.problems) > n or symbol is None or quantity is None or price is None:
        return None
    return CycleFill(symbol, str(side_text), quantity, price, order_id)


def _outcome(r: _Reader, path: str, raw: Any) -> CycleOutcome | None:
    n = len(r.problems)
    symbol = r.text(f"{path}.symbol", r.get(raw, "symbol"))
    pnl = r.number(f"{path}.pnl", r.get(raw, "pnl"))
    ret = r.number(f"{path}.return_pct", r.get(raw, "return_pct"), optional=True)
    model_name = r.text(f"{path}.model_name", r.get(raw, "model_name"), optional=True)
    version = r.text(f"{path}.model_version", r.get(raw, "model_version"), optional=True)
    equity = r.number(f"{path}.equity", r.get(raw, "equity"), optional=True)
    if equity is not None and equity <= 0:
        r.problems.append(FieldProblem(f"{path}.equity", equity, "must be > 0"))
    if len(r.problems) > n or symbol is None or pnl is None:
        return None
    return CycleOutcome(symbol, pnl, ret, model_name, version, equity)


def parse_cycle_results(results: Sequence[Any]) -> list[CycleResult]:
    """Typed cycle results, or a ValidationError naming each bad entry's index and field."""
    r = _Reader()
    parsed: list[CycleResult] = []
    for i, entry in enumerate(results):
        path = f"results[{i}]"
        if entry is None or isinstance(entry, str | bytes | int | float):
            r.problems.append(
                FieldProblem(path, entry, "must be a cycle result (signals, fills, outcomes)")
            )
            continue
        if isinstance(entry, CycleResult):
            parsed.append(entry)
            continue
        ts = r.get(entry, "timestamp")
        if ts is not None and not (isinstance(ts, datetime) and ts.tzinfo is not None):
            r.problems.append(
                FieldProblem(f"{path}.timestamp", ts, "must be a timezone-aware datetime")
            )
        signals = [
            _signal(r, f"{path}.signals[{j}]", s)
            for j, s in enumerate(r.items(f"{path}.signals", r.get(entry, "signals")))
        ]
        fills = [
            _fill(r, f"{path}.fills[{j}]", f)
            for j, f in enumerate(r.items(f"{path}.fills", r.get(entry, "fills")))
        ]
        outcomes = [
            _outcome(r, f"{path}.outcomes[{j}]", o)
            for j, o in enumerate(r.items(f"{path}.outcomes", r.get(entry, "outcomes")))
        ]
        pnl = r.number(f"{path}.pnl", r.get(entry, "pnl"), optional=True)
        errors = r.get(entry, "errors", 0) or 0
        if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
            r.problems.append(FieldProblem(f"{path}.errors", errors, "must be an integer >= 0"))
            errors = 0
        cycle_id = r.text(f"{path}.cycle_id", r.get(entry, "cycle_id"), optional=True)
        parsed.append(
            CycleResult(
                cycle_id=cycle_id,
                timestamp=ts if isinstance(ts, datetime) else None,
                signals=tuple(s for s in signals if s is not None),
                fills=tuple(f for f in fills if f is not None),
                outcomes=tuple(o for o in outcomes if o is not None),
                pnl=pnl,
                errors=int(errors),
            )
        )
    if r.problems:
        raise ValidationError("update(results)", r.problems)
    return parsed
