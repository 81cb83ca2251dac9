"""FeatureStore benchmark: point-in-time join and online reads.

Data: ``--features`` feature rows (default 10M) over ``--entities`` entities (default 1,000),
three float features each, strictly increasing random stamps per entity; ``--labels`` label
rows (default 1M) at random entities and times (some before any feature, some older than the
TTL). Both sides get the same data, unsorted the way it arrives (entity by entity for the
features, random for the labels).

* FeatureStore.get_historical_features (DuckDB ASOF LEFT JOIN, TTL 1 h) against the baseline
  ``pandas.merge_asof(by="entity", tolerance=1 h)`` in the same run; pandas needs both sides
  sorted by time, and that sort is part of its time (its merge alone is printed too).
  The two results must be identical (NaN where no value), or the script fails.
* get_features(entity, names) from memory: per-call latency percentiles over random
  entities, against a plain dict lookup measured the same way.

    python benchmarks/feature_store.py [--features 10000000] [--labels 1000000] [--entities 1000]

Last line: RESULT pit_join_s=… ratio_to_pandas=… online_get_p99_us=…
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ordinis.engines.learning.features import FeatureStore

NAMES = ["f0", "f1", "f2"]
TTL_US = 3_600_000_000  # 1 hour


def make_data(
    n_features: int, n_labels: int, n_entities: int, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows (entity-major, as a per-entity feed arrives) and random label rows."""
    rng = np.random.default_rng(seed)
    per = n_features // n_entities
    mean_gap = 3_000_000_000  # 50 minutes between an entity's feature rows, on average
    gaps = rng.integers(1, 2 * mean_gap, size=(n_entities, per), dtype=np.int64)
    start = 1_600_000_000_000_000
    ts = (start + np.cumsum(gaps, axis=1)).reshape(-1)
    names = np.array([f"E{i:04d}" for i in range(n_entities)], dtype=object)
    feats = pd.DataFrame({
        "entity": np.repeat(names, per),
        "timestamp": pd.to_datetime(ts, unit="us", utc=True),
    })
    for name in NAMES:
        feats[name] = rng.standard_normal(len(feats))
    span = int(per * mean_gap)
    label_ts = start - mean_gap + rng.integers(0, span + mean_gap, size=n_labels)
    labels = pd.DataFrame({
        "entity": names[rng.integers(0, n_entities, size=n_labels)],
        "timestamp": pd.to_datetime(label_ts, unit="us", utc=True),
    })
    return feats, labels


def pandas_pit(feats: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """merge_asof on the same data (sorting both sides first); returns (result, merge-only s)."""
    left = labels.assign(row_id=np.arange(len(labels))).sort_values("timestamp", kind="stable")
    right = feats.sort_values("timestamp", kind="stable")
    t0 = time.perf_counter()
    merged = pd.merge_asof(
        left, right, on="timestamp", by="entity", direction="backward",
        allow_exact_matches=True, tolerance=pd.Timedelta(microseconds=TTL_US),
    )
    merge_s = time.perf_counter() - t0
    out = merged.sort_values("row_id")[NAMES].reset_index(drop=True)
    return out, merge_s


def percentiles(samples_ns: np.ndarray) -> tuple[float, float, float]:
    us = samples_ns / 1000.0
    return (float(np.percentile(us, 50)), float(np.percentile(us, 99)),
            float(np.percentile(us, 99.9)))


def online_latency(store: FeatureStore, entities: np.ndarray, n: int) -> np.ndarray:
    get = store.get_features
    clock = time.perf_counter_ns
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        e = entities[i]
        t0 = clock()
        get(e, NAMES)
        out[i] = clock() - t0
    return out


def dict_latency(table: dict[str, tuple[int, tuple[float, ...]]], entities: np.ndarray,
                 n: int) -> np.ndarray:
    clock = time.perf_counter_ns
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        e = entities[i]
        t0 = clock()
        table.get(e)
        out[i] = clock() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=int, default=10_000_000)
    ap.add_argument("--labels", type=int, default=1_000_000)
    ap.add_argument("--entities", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gets", type=int, default=200_000)
    args = ap.parse_args()

    t0 = time.perf_counter()
    feats, labels = make_data(args.features, args.labels, args.entities)
    print(f"data: {len(feats):,} feature rows x {len(NAMES)} features, {args.entities:,} "
          f"entities; {len(labels):,} label rows ({time.perf_counter() - t0:.1f} s to make)")

    with tempfile.TemporaryDirectory() as tmp:
        store = FeatureStore(Path(tmp) / "features.duckdb")
        store.create_feature_set("bench", NAMES, ttl_seconds=TTL_US / 1e6)
        t0 = time.perf_counter()
        store.ingest_frame("bench", feats)
        print(f"ingest: {time.perf_counter() - t0:.1f} s into DuckDB")

        duck_times: list[float] = []
        result = pd.DataFrame()
        for _ in range(args.repeats):
            gc.collect()
            t0 = time.perf_counter()
            result = store.get_historical_features("bench", labels)
            duck_times.append(time.perf_counter() - t0)
        pandas_times: list[float] = []
        merge_only: list[float] = []
        expected = pd.DataFrame()
        for _ in range(args.repeats):
            gc.collect()
            t0 = time.perf_counter()
            expected, m = pandas_pit(feats, labels)
            pandas_times.append(time.perf_counter() - t0)
            merge_only.append(m)

        same = all(
            np.array_equal(result[c].to_numpy(), expected[c].to_numpy(), equal_nan=True)
            for c in NAMES
        )
        filled = float(np.isfinite(result[NAMES[0]].to_numpy()).mean())
        duck, pand = min(duck_times), min(pandas_times)
        print(f"point-in-time join (best of {args.repeats}): DuckDB ASOF {duck:.2f} s "
              f"(runs {', '.join(f'{t:.2f}' for t in duck_times)}); pandas.merge_asof with "
              f"its sorts {pand:.2f} s, merge alone {min(merge_only):.2f} s")
        print(f"identical results: {same} ({filled:.1%} of rows have a value within the TTL)")
        if not same:
            print("RESULT pit_join_s=nan ratio_to_pandas=nan online_get_p99_us=nan")
            sys.exit("results differ from pandas.merge_asof")

        rng = np.random.default_rng(1)
        names = np.array([f"E{i:04d}" for i in range(args.entities)], dtype=object)
        picks = names[rng.integers(0, args.entities, size=args.gets)]
        table = store._table("bench").latest  # the baseline reads the same map directly
        online_latency(store, picks, min(args.gets, 10_000))  # warm up
        gc.collect()
        gc.disable()
        try:
            ours = percentiles(online_latency(store, picks, args.gets))
            base = percentiles(dict_latency(table, picks, args.gets))
        finally:
            gc.enable()
        print(f"online get_features of {len(NAMES)} names, {args.gets:,} calls: p50 "
              f"{ours[0]:.2f} us, p99 {ours[1]:.2f} us, p99.9 {ours[2]:.2f} us; baseline dict "
              f"lookup p50 {base[0]:.2f} us, p99 {base[1]:.2f} us")
        store.close()
    print(f"RESULT pit_join_s={duck:.3f} ratio_to_pandas={pand / duck:.2f} "
          f"online_get_p99_us={ours[1]:.2f}")


if __name__ == "__main__":
    main()
