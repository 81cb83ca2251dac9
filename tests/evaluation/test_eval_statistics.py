"""PSR/DSR/MinTRL against published examples and skfolio; bootstrap against arch; coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch.bootstrap import StationaryBootstrap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy.signal import lfilter
from skfolio import measures as skm

from ordinis.engines.learning.evaluation import backtest
from ordinis.engines.learning.evaluation.resampling import (
    BlockDraw,
    optimal_block_size,
    resample_indices,
    resample_sums,
    single_threaded_blas,
)
from ordinis.engines.learning.evaluation.statistics import (
    BootstrapSettings,
    PackMoments,
    aggregate_deflated_sharpe,
    bootstrap_distribution,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length_from_moments,
    paired_sharpe_test,
    probabilistic_sharpe_ratio,
    psr_from_moments,
    sample_moments,
    spa_test,
)


def test_deflated_sharpe_reproduces_bailey_lopez_de_prado_2014_example() -> None:
    # Paper's numerical example: N=100 trials, V[SR_n]=1/2 (annual), T=1250 days, best annual
    # SR 2.5, skew -3, kurtosis 10  ->  SR0 = 0.1132 (daily) and DSR = 0.9004.
    sr0 = expected_max_sharpe(100, math.sqrt(0.5 / 250))
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = psr_from_moments(2.5 / math.sqrt(250), 1250, -3.0, 10.0, benchmark_sharpe=sr0)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_psr_by_hand_and_against_skfolio() -> None:
    r = np.random.default_rng(3).standard_t(5, size=800) * 0.01 + 0.0008
    sr, skew, kurt, n = sample_moments(r)
    z = sr * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert psr_from_moments(sr, n, skew, kurt) == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)))
    assert probabilistic_sharpe_ratio(r) == pytest.approx(psr_from_moments(sr, n, skew, kurt))


def test_dsr_with_trial_sharpes_matches_skfolio() -> None:
    rng = np.random.default_rng(4)
    r = rng.normal(0.001, 0.01, 1000)
    trial_srs = rng.normal(0.0, 0.03, 40)
    ours = deflated_sharpe_ratio(r, trials=40, trial_sharpes=trial_srs)
    assert ours.dsr == pytest.approx(float(skm.deflated_sharpe_ratio(r, trial_srs)), rel=1e-9)
    one = deflated_sharpe_ratio(r, trials=1)
    assert one.dsr == pytest.approx(one.psr)  # a single trial is not deflated
    assert deflated_sharpe_ratio(r, trials=500).dsr < one.dsr
    with pytest.raises(ValueError, match="trials"):
        deflated_sharpe_ratio(r, trials=0)


def test_min_track_record_length_is_where_psr_reaches_the_confidence() -> None:
    sr, skew, kurt = 0.08, -0.5, 5.0
    n = min_track_record_length_from_moments(sr, skew, kurt, 0.0, 0.95)
    assert psr_from_moments(sr, math.ceil(n), skew, kurt) >= 0.95
    assert psr_from_moments(sr, math.floor(n) - 1, skew, kurt) < 0.95
    assert min_track_record_length_from_moments(0.0, 0, 3, 0.0) == math.inf


def test_aggregate_of_one_pack_is_the_single_series_psr_and_dsr() -> None:
    r = np.random.default_rng(5).normal(0.0005, 0.01, 700)
    single = deflated_sharpe_ratio(r, trials=20)
    agg = aggregate_deflated_sharpe([PackMoments.of(r, 252.0)], trials=20)
    assert agg.psr == pytest.approx(single.psr, rel=1e-9)
    assert agg.dsr == pytest.approx(single.dsr, rel=1e-9)


def test_resampled_sums_equal_sums_over_explicit_indices() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(97, 4))
    for block in (1.0, 3.0, 12.0):
        draw = BlockDraw(n=97, block_size=block, resamples=300, seed=1)
        idx = resample_indices(draw)
        assert idx.shape == (300, 97) and idx.min() >= 0 and idx.max() < 97
        np.testing.assert_allclose(resample_sums(x, draw), x[idx].sum(axis=1))


def test_block_draw_matches_arch_stationary_bootstrap_distribution() -> None:
    rng = np.random.default_rng(7)
    n, phi = 400, 0.6
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    draw = BlockDraw(n=n, block_size=10.0, resamples=4000, seed=2)
    ours = resample_sums(x, draw)[:, 0] / n
    bs = StationaryBootstrap(10, x, seed=3)
    theirs = np.array([d[0][0].mean() for d in bs.bootstrap(4000)])
    assert ours.std() == pytest.approx(theirs.std(), rel=0.1)
    # mean block length is the requested one (runs of consecutive indices)
    idx = resample_indices(draw, limit=200)
    breaks = (np.diff(idx, axis=1) != 1) & ~((idx[:, :-1] == n - 1) & (idx[:, 1:] == 0))
    assert n * 200 / (breaks.sum() + 200) == pytest.approx(10.0, rel=0.1)


def test_block_size_rule_grows_with_dependence() -> None:
    rng = np.random.default_rng(8)
    iid = rng.normal(size=1000)
    vol = np.exp(np.convolve(rng.normal(size=1100), np.ones(50) / 7, mode="same")[:1000])
    assert optimal_block_size(iid) <= 3
    assert optimal_block_size(iid * vol) > optimal_block_size(iid)
    assert optimal_block_size(iid * vol) <= math.sqrt(1000)


@settings(
    max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    annual_sharpe=hs.floats(-0.5, 2.0),
    phi=hs.floats(0.0, 0.3),
    seed=hs.integers(0, 2**16),
)
def test_bootstrap_sharpe_interval_covers_at_nominal_rate(
    annual_sharpe: float, phi: float, seed: int
) -> None:
    """95 % intervals from 120 simulated AR(1) return series of 500 days cover the true Sharpe
    about 95 % of the time (accepting 86-99 %: a 80 % or 99.9 % interval would fail)."""
    rng = np.random.default_rng(seed)
    n, reps, sigma = 500, 120, 0.01
    mu = annual_sharpe / math.sqrt(252) * sigma
    cfg = BootstrapSettings(resamples=400, confidence=0.95, seed=seed, path_resamples=1)
    e = rng.normal(0.0, sigma * math.sqrt(1 - phi**2), (reps, n + 1))
    e[:, 0] /= math.sqrt(1 - phi**2)  # start in the stationary distribution
    paths = lfilter([1.0], [1.0, -phi], e, axis=1) + mu
    covered = 0
    with single_threaded_blas():
        for r in paths:
            r[0] = np.nan
            dist = bootstrap_distribution(backtest(np.ones(n + 1), r, 0.0, 0.0), 252.0, cfg)
            lo, hi = np.quantile(dist.samples["sharpe"], [0.025, 0.975])
            covered += lo <= annual_sharpe <= hi
    assert 0.86 <= covered / reps <= 0.99


def test_paired_test_detects_a_better_challenger_and_not_a_clone() -> None:
    rng = np.random.default_rng(9)
    champion = rng.normal(0.0002, 0.01, 1500)
    better = champion + rng.normal(0.0008, 0.003, 1500)
    cfg = BootstrapSettings(resamples=2000, seed=1)
    res = paired_sharpe_test(better, champion, 252.0, cfg)
    assert res.sharpe_diff > 0 and res.p_value < 0.01 and res.lower > 0 and res.a_better()
    same = paired_sharpe_test(champion, champion, 252.0, cfg)
    assert same.sharpe_diff == 0 and not same.a_better()


def test_spa_finds_the_candidate_with_an_edge() -> None:
    rng = np.random.default_rng(10)
    bench = rng.normal(0.0, 0.01, 1000)
    cands = {"noise": rng.normal(0.0, 0.01, 1000), "edge": bench + rng.normal(0.002, 0.004, 1000)}
    res = spa_test("champion", bench, cands, reps=500, seed=1)
    assert res.pvalue_consistent < 0.05 and res.better == ["edge"]
    null = spa_test("champion", bench, {"noise": cands["noise"]}, reps=500, seed=1)
    assert null.pvalue_consistent > 0.05 and null.better == []
