"""What the trigger rules counted survives a restart: the stored record round-trips, and a
fresh set of rules restored from it raises the trigger the old set would have raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.models import DriftAlert, DriftSeverity, DriftType, StoredRecord
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.feedback import TriggerType
from ordinis.engines.learning.feedback.pipeline_spec import (
    ConsecutiveLossRuleConfig,
    DriftAlertRuleConfig,
    TriggerRulesConfig,
)
from ordinis.engines.learning.feedback.rule_state import (
    RULE_STATE_KEY,
    RULE_STATE_KIND,
    RuleState,
    load_rule_state,
    save_rule_state,
)
from ordinis.engines.learning.feedback.triggers import TriggerEvaluator

AT = datetime(2020, 1, 2, 14, 30, tzinfo=UTC)
RULES = TriggerRulesConfig(
    consecutive_losses=ConsecutiveLossRuleConfig(count=4),
    drift_alerts=DriftAlertRuleConfig(min_severity="critical", max_alerts=2,
                                      window_seconds=6 * 3600),
)

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=12)
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                     timezones=st.just(UTC))


@given(st.dictionaries(names, st.integers(1, 10_000), max_size=5),
       st.dictionaries(names, st.lists(st.tuples(times, names), min_size=1, max_size=4),
                       max_size=5))
def test_the_record_round_trips(streaks: dict[str, int],
                                windows: dict[str, list[tuple[datetime, str]]]) -> None:
    state = RuleState(streaks, windows)
    assert RuleState.from_body(state.to_body()) == state


def _warning(clock: SimulatedClock) -> DriftAlert:
    return DriftAlert(model_name="m", drift_type=DriftType.DATA, severity=DriftSeverity.WARNING,
                      metric="psi_f", current_value=0.3, baseline_value=0.0, threshold=0.1,
                      detected_at=clock.now())


def test_restored_rules_raise_what_the_stopped_ones_would_have(tmp_path: Path) -> None:
    clock = SimulatedClock(AT)
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    try:
        before = TriggerEvaluator(RULES, clock)
        for _ in range(3):
            assert before.on_trade_outcome("m", -1.0) is None
        assert before.on_drift_alert(_warning(clock)) is None
        clock.advance(60)
        assert before.on_drift_alert(_warning(clock)) is None
        save_rule_state(store, RuleState.of(before), clock.now())

        after = TriggerEvaluator(RULES, clock)
        assert load_rule_state(store, after) == RuleState.of(before)
        loss = after.on_trade_outcome("m", -1.0)  # the fourth in a row
        assert loss is not None and loss.trigger_type is TriggerType.CONSECUTIVE_LOSSES
        clock.advance(60)
        count = after.on_drift_alert(_warning(clock))  # the third within 6 h
        assert count is not None and count.trigger_type is TriggerType.ALERT_COUNT
        assert len(count.source_alert_ids) == 3

        # alerts older than the window no longer count after a long stop
        later = TriggerEvaluator(RULES, clock)
        save_rule_state(store, RuleState({}, {"m": [(clock.now(), "a1"), (clock.now(), "a2")]}),
                        clock.now())
        load_rule_state(store, later)
        clock.advance(timedelta(hours=7).total_seconds())
        assert later.on_drift_alert(_warning(clock)) is None
    finally:
        store.close()


def test_an_unreadable_record_is_skipped_and_the_rules_count_afresh(tmp_path: Path) -> None:
    clock = SimulatedClock(AT)
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.open()
    try:
        store.put_record(StoredRecord(RULE_STATE_KIND, RULE_STATE_KEY,
                                      {"loss_streaks": {"m": "many"}}, AT, AT))
        rules = TriggerEvaluator(RULES, clock)
        assert load_rule_state(store, rules) == RuleState()
        assert rules.losses.streaks() == {}
    finally:
        store.close()
