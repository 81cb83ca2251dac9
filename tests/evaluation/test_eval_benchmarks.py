"""Benchmark packs from shipped data, versions, and validation of user data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import NotFoundError, ValidationError
from ordinis.engines.learning.evaluation import BenchmarkRegistry
from ordinis.engines.learning.evaluation.benchmarks import FEATURE_WARMUP_ROWS, sp500_index_close
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES, compute_bar_features


def _prices(n: int = 400, start: str = "2010-01-01") -> pd.DataFrame:
    idx = pd.bdate_range(start, periods=n)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    return pd.DataFrame({"close": close}, index=idx)


def test_builtin_packs_have_their_documented_windows(registry: BenchmarkRegistry) -> None:
    assert registry.builtin_names() == [
        "pack_01_bull",
        "pack_02_sideways",
        "pack_03_crash",
        "pack_04_bear",
        "pack_05_crypto",
        "pack_06_multi_asset",
        "pack_07_recovery",
    ]
    crash = registry.get("pack_03_crash")
    assert [(a.year, b.year) for a, b in crash.segments] == [(2008, 2009), (2020, 2020)]
    assert list(crash.features.columns) == list(FEATURE_NAMES)
    assert crash.features.notna().all().all() and len(crash.features) == crash.n_rows
    crypto = registry.get("pack_05_crypto")
    assert crypto.asset_class == "crypto" and crypto.periods_per_year == pytest.approx(365 / 3)
    multi = registry.get("pack_06_multi_asset")
    assert multi.is_multi_asset and len(multi.assets) == 20
    assert len(multi.features) == multi.n_rows * 20
    assert registry.get("pack_03_crash") is crash  # built once


def test_pack_features_are_point_in_time(registry: BenchmarkRegistry) -> None:
    """Features of a pack row equal the features computed from history up to that row only."""
    bear = registry.get("pack_04_bear")
    t = bear.close.index[5]
    history = sp500_index_close()[:t]
    expected = compute_bar_features(history).iloc[-1]
    np.testing.assert_allclose(bear.features.loc[t].to_numpy(), expected.to_numpy())
    assert bear.returns.loc[t] == pytest.approx(history.iloc[-1] / history.iloc[-2] - 1)


def test_version_is_a_hash_of_the_data() -> None:
    reg = BenchmarkRegistry(include_builtin=False)
    df = _prices()
    a = reg.register_dataframe("mine", df)
    assert len(a.version) == 64
    assert reg.register_dataframe("mine", df.copy(), replace=True).version == a.version
    changed = df.copy()
    changed.iloc[200, 0] *= 1.01
    assert reg.register_dataframe("mine", changed, replace=True).version != a.version
    assert a.n_rows == len(df) - FEATURE_WARMUP_ROWS  # warm-up rows are not evaluated


def test_user_data_validation_lists_each_problem_with_its_fix() -> None:
    reg = BenchmarkRegistry(include_builtin=False)
    df = _prices()
    shuffled = df.iloc[::-1]
    with pytest.raises(ValidationError, match=r"sort_index"):
        reg.register_dataframe("x", shuffled)
    dup = pd.concat([df, df.iloc[[10]]]).sort_index()
    with pytest.raises(ValidationError, match="duplicated"):
        reg.register_dataframe("x", dup)
    with pytest.raises(ValidationError, match="DatetimeIndex"):
        reg.register_dataframe("x", df.reset_index(drop=True))
    holes = df.copy()
    holes.iloc[100, 0] = np.nan
    with pytest.raises(ValidationError, match=r"missing or non-positive prices.*ffill"):
        reg.register_dataframe("x", holes)
    with pytest.raises(ValidationError, match=r"warm-up"):  # the window's features read it
        reg.register_dataframe("x", holes, start=df.index[150])
    # a hole before the evaluation window and its warm-up is allowed
    ok = reg.register_dataframe("x", holes, start=df.index[200])
    assert ok.start == df.index[200] and ok.features.notna().all().all()
    with pytest.raises(ValidationError, match="too few"):
        reg.register_dataframe("y", df.iloc[:150])
    with pytest.raises(ValidationError, match="already registered"):
        reg.register_dataframe("x", df)
    with pytest.raises(ValidationError, match="name"):
        reg.register_dataframe("bad name!", df)
    with pytest.raises(ValidationError) as err:
        reg.register_dataframe("z", pd.concat([df, df.iloc[[5]]]).iloc[::-1])
    assert len(err.value.problems) == 2  # unsorted and duplicated, reported together


def test_register_file_parquet_and_csv(tmp_path: Path) -> None:
    reg = BenchmarkRegistry(include_builtin=False)
    df = _prices()
    df.to_parquet(tmp_path / "prices.parquet")
    df.rename_axis("date").reset_index().to_csv(tmp_path / "prices.csv", index=False)
    a = reg.register_file(tmp_path / "prices.parquet")
    b = reg.register_file(tmp_path / "prices.csv", name="prices_csv")
    assert a.name == "prices" and np.allclose(a.close.to_numpy(), b.close.to_numpy())
    (tmp_path / "prices.txt2").write_text("x")
    with pytest.raises(ValidationError, match="parquet"):
        reg.register_file(tmp_path / "prices.txt2")
    with pytest.raises(ValidationError, match="does not exist"):
        reg.register_file(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text("when,close\nnot-a-date,1\n")
    with pytest.raises(ValidationError, match="datetimes"):
        reg.register_file(tmp_path / "bad.csv")


def test_unknown_benchmark_lists_the_known_ones(registry: BenchmarkRegistry) -> None:
    with pytest.raises(NotFoundError, match="pack_01_bull"):
        registry.get("pack_99")
