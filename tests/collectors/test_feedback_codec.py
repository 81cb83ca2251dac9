"""A FeedbackRecord survives the trip through its LearningEvent and the store's row format."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.collectors import (
    FeedbackType,
    event_to_record,
    is_account_level,
    record_to_event,
)
from ordinis.engines.learning.core.models import FeedbackPriority, FeedbackRecord
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.store import row_to_event

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=64), _text,
)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=12,
)


@given(
    ftype=st.sampled_from(list(FeedbackType)),
    priority=st.sampled_from(list(FeedbackPriority)),
    symbol=st.one_of(st.none(), _text),
    data=st.dictionaries(_text.filter(lambda k: k != "feedback_type"), _json, max_size=6),
    outcome=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    ms=st.integers(0, 4_000_000_000_000),
)
def test_record_round_trips_through_the_store_format(
    ftype: FeedbackType,
    priority: FeedbackPriority,
    symbol: str | None,
    data: dict[str, object],
    outcome: float | None,
    ms: int,
) -> None:
    record = FeedbackRecord(
        feedback_type=ftype.value, source_engine="execution", priority=priority, symbol=symbol,
        timestamp=datetime.fromtimestamp(ms / 1000, tz=UTC), data=data, outcome=outcome,
    )
    record.event_id = record.record_id
    back = event_to_record(row_to_event(*encode_event(record_to_event(record), 1 << 20)))
    assert back == record


def test_account_level_failures_are_recognised() -> None:
    for text in ("insufficient_buying_power", "Insufficient Buying Power", "MARGIN CALL",
                 "account restricted", "Account is blocked? no: account_blocked",
                 "pattern day trader protection", "insufficient funds"):
        assert is_account_level(text), text
    for other in ("timeout", "price outside band", "rate limited", None, ""):
        assert not is_account_level(other), other
