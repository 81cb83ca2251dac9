"""The host's per-cycle results: parsed into typed records, or refused naming index and field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.cycle_results import (
    CycleFill,
    CycleOutcome,
    CycleResult,
    CycleSignal,
    parse_cycle_results,
)
from ordinis.engines.learning.core.errors import ValidationError

AT = datetime(2020, 3, 2, 21, 0, tzinfo=UTC)


def test_mapping_entries_become_typed_records() -> None:
    [cycle] = parse_cycle_results(
        [
            {
                "cycle_id": "c1",
                "timestamp": AT,
                "signals": [{"symbol": "AAPL", "signal": 0.4, "features": {"ret_1": 0.01}}],
                "fills": [{"symbol": "AAPL", "side": "BUY", "quantity": 10, "price": 101.5}],
                "outcomes": [{"symbol": "MSFT", "pnl": -3.0, "return_pct": -0.002}],
                "pnl": -3.0,
            }
        ]
    )
    assert cycle == CycleResult(
        cycle_id="c1",
        timestamp=AT,
        signals=(CycleSignal("AAPL", 0.4, features={"ret_1": 0.01}),),
        fills=(CycleFill("AAPL", "buy", 10.0, 101.5),),
        outcomes=(CycleOutcome("MSFT", -3.0, -0.002),),
        pnl=-3.0,
    )


def test_objects_with_attributes_are_read_like_mappings() -> None:
    class Signal:
        symbol = "SPY"
        score = -0.7

    class Cycle:
        signals = [Signal()]

    [cycle] = parse_cycle_results([Cycle()])
    assert cycle.signals == (CycleSignal("SPY", -0.7),)


def test_a_malformed_entry_is_named_by_index_and_field() -> None:
    good = {"signals": [{"symbol": "A", "signal": 1.0}]}
    bad = {"fills": [{"symbol": "A", "side": "hold", "quantity": 1, "price": -2}]}
    with pytest.raises(ValidationError) as err:
        parse_cycle_results([good, good, bad])
    fields = {p.field for p in err.value.problems}
    assert fields == {"results[2].fills[0].side", "results[2].fills[0].price"}
    assert "results[2].fills[0].side" in str(err.value)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (None, "results[0]"),
        ("cycle", "results[0]"),
        ({"signals": "AAPL"}, "results[0].signals"),
        ({"signals": [{"symbol": "", "signal": 1}]}, "results[0].signals[0].symbol"),
        ({"signals": [{"symbol": "A", "signal": float("nan")}]}, "results[0].signals[0].signal"),
        ({"outcomes": [{"symbol": "A", "pnl": True}]}, "results[0].outcomes[0].pnl"),
        ({"outcomes": [{"symbol": "A", "pnl": 1, "equity": -5}]}, "results[0].outcomes[0].equity"),
        ({"timestamp": datetime(2020, 1, 1)}, "results[0].timestamp"),
        ({"errors": -1}, "results[0].errors"),
    ],
)
def test_each_bad_field_is_reported(entry: Any, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_cycle_results([entry])
    assert field in {p.field for p in err.value.problems}


finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
symbol_st = st.sampled_from(["AAPL", "MSFT", "JPM", "XOM", "^GSPC"])
signal_st = st.fixed_dictionaries({"symbol": symbol_st, "signal": finite})
outcome_st = st.fixed_dictionaries({"symbol": symbol_st, "pnl": finite})
cycle_st = st.fixed_dictionaries(
    {"signals": st.lists(signal_st, max_size=4), "outcomes": st.lists(outcome_st, max_size=4)}
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cycle_st, max_size=6))
def test_valid_lists_parse_one_record_per_entry_keeping_every_item(cycles: list[Any]) -> None:
    parsed = parse_cycle_results(cycles)
    assert len(parsed) == len(cycles)
    for raw, rec in zip(cycles, parsed, strict=True):
        assert [s.signal for s in rec.signals] == [float(s["signal"]) for s in raw["signals"]]
        assert [o.pnl for o in rec.outcomes] == [float(o["pnl"]) for o in raw["outcomes"]]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cycle_st, min_size=1, max_size=6), st.data())
def test_one_bad_value_anywhere_refuses_the_whole_list(cycles: list[Any], data: Any) -> None:
    i = data.draw(st.integers(0, len(cycles) - 1))
    cycles[i] = {**cycles[i], "pnl": "not a number"}
    with pytest.raises(ValidationError) as err:
        parse_cycle_results(cycles)
    assert [p.field for p in err.value.problems] == [f"results[{i}].pnl"]
