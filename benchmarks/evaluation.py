"""Benchmark: full evaluation of one candidate on every pack with 10,000 bootstrap resamples.

Candidate: a logistic regression on features.bar_features trained on S&P 500 data before 2000.
Baseline, measured in the same run: arch's own StationaryBootstrap loop computing only the
Sharpe ratio of the largest pack with the same 10,000 resamples. Goal: the full evaluation (7
packs, every metric, intervals, PSR/DSR) under 3 s on 2 cores. Wall-clock timing is the point
of this script, so it reads the real clock.

Run: python benchmarks/evaluation.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap
from sklearn.linear_model import LogisticRegression

from ordinis.engines.learning.core.clock import SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.evaluation import BenchmarkRegistry, ModelEvaluator
from ordinis.engines.learning.evaluation.benchmarks import sp500_index_close
from ordinis.engines.learning.evaluation.resampling import optimal_block_size, single_threaded_blas
from ordinis.engines.learning.evaluation.statistics import BootstrapSettings, bootstrap_distribution
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.observability.metrics import LearningMetrics

RESAMPLES = 10_000


class LogitSignal:
    """signal = 2 p(up) - 1 of a logistic regression."""

    feature_names = list(FEATURE_NAMES)

    def __init__(self, clf: LogisticRegression) -> None:
        self.clf = clf

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return 2.0 * self.clf.predict_proba(X[self.feature_names])[:, 1] - 1.0


def train() -> LogitSignal:
    close = sp500_index_close()[:"1999-12-31"]
    X, y = compute_bar_features(close), next_return(close)
    ok = X.notna().all(axis=1) & y.notna()
    return LogitSignal(LogisticRegression(max_iter=500).fit(X[ok], (y[ok] > 0).astype(int)))


def main() -> None:
    t0 = time.perf_counter()
    registry = BenchmarkRegistry()
    for name in registry.names():
        registry.get(name)  # data loading and features: once per process
    data_load_s = time.perf_counter() - t0
    model = train()
    config = LearningEngineConfig.create(bootstrap_resamples=RESAMPLES)
    evaluator = ModelEvaluator(config, SystemClock(), LearningMetrics(), registry)

    runs = []
    result = None
    for _ in range(3):
        t = time.perf_counter()
        result = asyncio.run(evaluator.evaluate(model, "logit:bench"))
        runs.append(time.perf_counter() - t)
    assert result is not None
    periods = int(result.metrics["n_periods"])

    # Baseline: arch's loop, Sharpe only, on the largest pack, same resamples and block size.
    bull = registry.get("pack_01_bull")
    net = evaluator.backtest_dataset(model, bull)
    r = net.net_returns
    block = optimal_block_size(r)
    bs = StationaryBootstrap(int(block), r, seed=0)
    t = time.perf_counter()
    arch_sharpes = bs.apply(
        lambda x: np.array([x.mean() / x.std(ddof=1) * np.sqrt(252)]), RESAMPLES
    )
    arch_s = time.perf_counter() - t
    t = time.perf_counter()
    with single_threaded_blas():
        ours = bootstrap_distribution(
            net, 252.0, BootstrapSettings(resamples=RESAMPLES, block_size=block)
        )
    ours_one_pack_s = time.perf_counter() - t

    print(f"packs: {', '.join(result.details['packs'])}")
    print(
        f"periods: {periods}, block sizes: "
        f"{[p['block_size'] for p in result.details['packs'].values()]}"
    )
    print(
        f"sharpe {result.metrics['sharpe']:.3f} "
        f"[{result.metrics['sharpe_lower']:.3f}, {result.metrics['sharpe_upper']:.3f}] "
        f"p={result.metrics['p_value']:.3f} psr={result.metrics['psr']:.3f} "
        f"dsr={result.metrics['dsr']:.3f}"
    )
    print(
        f"bull-pack Sharpe std, arch loop {float(np.std(arch_sharpes)):.4f} vs ours "
        f"{float(np.std(ours.samples['sharpe'])):.4f}"
    )
    print(f"evaluate() runs (s): {', '.join(f'{x:.3f}' for x in runs)}")
    print(
        f"arch loop, Sharpe only, one pack ({bull.n_rows} rows): {arch_s:.3f} s; ours, every "
        f"metric, same pack: {ours_one_pack_s:.3f} s"
    )
    print(
        f"RESULT evaluate_all_packs_s={statistics.median(runs):.3f} "
        f"bootstrap_resamples={RESAMPLES} packs={len(result.details['packs'])} periods={periods} "
        f"first_run_s={runs[0]:.3f} data_load_s={data_load_s:.2f} "
        f"arch_loop_one_pack_sharpe_s={arch_s:.3f} "
        f"ours_one_pack_all_metrics_s={ours_one_pack_s:.3f} "
        f"speedup_vs_arch_one_pack={arch_s / ours_one_pack_s:.1f} goal_s=3.0"
    )


if __name__ == "__main__":
    main()
