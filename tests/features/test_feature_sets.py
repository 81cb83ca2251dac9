"""Feature sets: versions, registered functions, and what a job's config selects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import NotFoundError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.features import (
    FEATURE_NAMES,
    FeatureFunction,
    FeatureSetRegistry,
    FeatureSource,
    default_feature_sets,
    discover_features,
    make_feature_set,
    select_features,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def event(i: int, feats: dict[str, object], outcome: float | None = 0.01) -> LearningEvent:
    return LearningEvent(EventType.SIGNAL_GENERATED, "sig", symbol="NDX",
                         timestamp=T0 + timedelta(days=i), payload={"features": feats},
                         outcome=outcome)


def test_versions_are_immutable_and_latest_is_default() -> None:
    reg = FeatureSetRegistry()
    reg.register(make_feature_set("host", ["a", "b"]))
    reg.register(make_feature_set("host", ["a", "b"]))  # same definition: a no-op
    with pytest.raises(ValidationError, match="version 2"):
        reg.register(make_feature_set("host", ["a", "c"]))
    reg.register(make_feature_set("host", ["a", "c"], version=2))
    assert reg.get("host").names == ("a", "c")
    assert reg.resolve("host@v1").names == ("a", "b")
    with pytest.raises(NotFoundError, match="versions"):
        reg.resolve("host@v7")


def test_invalid_definitions_list_every_problem() -> None:
    with pytest.raises(ValidationError) as err:
        make_feature_set("1bad", ["x", "x", "has space"], version=0, source="function")
    fields = {p.field for p in err.value.problems}
    assert fields == {"name", "version", "features", "function"}


def test_default_registry_has_bar_features_as_a_function_set() -> None:
    reg = default_feature_sets()
    fs = reg.get("bar_features")
    assert fs.source is FeatureSource.FUNCTION and fs.names == FEATURE_NAMES
    close = pd.Series(range(100, 200), index=pd.date_range("2020", periods=100), dtype=float)
    assert list(reg.function("bar_features")(close).columns) == list(FEATURE_NAMES)


def test_changing_a_functions_names_makes_a_new_version() -> None:
    reg = FeatureSetRegistry()

    def f(c: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"m": c.pct_change(), "n": c.pct_change(2)})

    assert reg.register_function(FeatureFunction("mine", f, ("m",), 1)).version == 1
    assert reg.register_function(FeatureFunction("mine", f, ("m", "n"), 2)).version == 2
    with pytest.raises(ValidationError, match="missing declared"):
        FeatureFunction("broken", f, ("zz",))(pd.Series([1.0, 2.0]))


def test_discovery_keeps_numeric_keys_present_in_enough_rows() -> None:
    events = [event(i, {"ret_0": 0.1 * i, "vol_20": 0.2, "note": "x",
                        **({"rare": 1.0} if i < 3 else {})}) for i in range(20)]
    events.append(event(21, {"ret_0": 1.0}, outcome=None))  # unlabelled: not a row
    found = discover_features(events, min_coverage=0.9)
    assert found.chosen == ("ret_0", "vol_20")
    assert found.rejected == {"note": "not numeric", "rare": "numeric in 15% of rows"}
    assert found.rows == 20
    assert "ret_0, vol_20" in found.report() and "rare" in found.report()


def test_selection_named_listed_discovered_and_errors() -> None:
    reg = default_feature_sets()
    reg.register(make_feature_set("host", ["ret_0"]))
    events = [event(i, {"ret_0": 0.1, "vol_20": 0.2}) for i in range(5)]
    assert select_features({"feature_set": "host@v1"}, reg, events).how == "named"
    listed = select_features({"features": ["vol_20"]}, reg, events)
    assert (listed.how, listed.names) == ("listed", ("vol_20",))
    found = select_features({}, reg, events)
    assert (found.how, found.names, found.feature_set.name) == (
        "discovered", ("ret_0", "vol_20"), "discovered")
    bar = [event(i, dict.fromkeys(FEATURE_NAMES, 0.5)) for i in range(5)]
    assert select_features({}, reg, bar).feature_set.ref == "bar_features@v1"
    with pytest.raises(ValidationError, match="not both"):
        select_features({"feature_set": "host", "features": ["a"]}, reg, events)
    with pytest.raises(ValidationError, match="not registered"):
        select_features({"feature_set": "nope"}, reg, events)
    with pytest.raises(ValidationError, match=r"payload\['features'\]"):
        select_features({}, reg, [event(0, {"note": "x"})])
