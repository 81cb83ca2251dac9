"""The drift benchmark's development and held-out sets never share a series or a value run."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ordinis.engines.learning.drift.scoring import f_measure

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def series_module() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("drift_series")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _windows(values: np.ndarray, width: int = 12) -> set[tuple[float, ...]]:
    finite = values[np.isfinite(values)]
    return {tuple(finite[i:i + width].round(6)) for i in range(len(finite) - width + 1)}


def test_real_development_series_are_not_held_out(series_module: ModuleType) -> None:
    dev = series_module.real_dev_series()
    held = series_module.heldout_series()
    assert len(dev) == 9 and len(held) == 22
    assert not {s.name for s in dev} & {s.name for s in held}
    # Same data under another name would leak too: no 12-value run of a development series
    # appears in a held-out one.
    held_windows = set().union(*(_windows(s.values) for s in held))
    for s in dev:
        assert not _windows(s.values) & held_windows, s.name


def test_real_development_annotations_fall_inside_their_series(series_module: ModuleType) -> None:
    for s in series_module.real_dev_series():
        assert len(s.annotations) == 5, s.name
        for marks in s.annotations.values():
            assert all(0 <= m < len(s.values) for m in marks), s.name
        assert np.isfinite(s.values).sum() >= 15, s.name
    nile = next(s for s in series_module.real_dev_series() if s.name == "nile")
    # statsmodels' Nile is TCPD's (R's) series: 100 years from 1871, the 1898 dam at index 27-28.
    assert len(nile.values) == 100 and nile.values[0] == 1120.0
    assert nile.annotations["12"] == [28]


# TCPDBench's published F1 of its "zero" method (no change point but the start) at default
# settings, per series: alan-turing-institute/TCPDBench, analysis/output/scores/
# default_f1_scores.json (commit 6662025). Our series, annotations and scorer must give the
# same numbers, or the benchmark does not follow the TCPD protocol.
PUBLISHED_ZERO_F1 = {
    "bank": 1.0, "brent_spot": 0.3146067415730337, "businv": 0.5882352941176471,
    "children_per_woman": 0.5074626865671642, "co2_canada": 0.36097560975609755,
    "construction": 0.6956521739130436, "debt_ireland": 0.4693877551020408,
    "gdp_argentina": 0.8235294117647058, "gdp_croatia": 0.8235294117647058,
    "gdp_iran": 0.651685393258427, "gdp_japan": 0.888888888888889,
    "global_co2": 0.8461538461538461, "jfk_passengers": 0.723404255319149,
    "lga_passengers": 0.5347985347985348, "ozone": 0.723404255319149,
    "rail_lines": 0.5365853658536586, "shanghai_license": 0.6363636363636364,
    "uk_coal_employ": 0.5132743362831859, "unemployment_nl": 0.5663082437275986,
    "us_population": 0.888888888888889, "usd_isk": 0.48866498740554154,
    "well_log": 0.23702252693437809,
    # the real development set
    "bitcoin": 0.44961240310077516, "nile": 0.8235294117647058,
    "centralia": 0.7628865979381444, "homeruns": 0.659217877094972,
    "quality_control_1": 0.6666666666666666, "quality_control_2": 0.7500000000000001,
    "quality_control_3": 0.6666666666666666, "quality_control_4": 0.7804878048780489,
    "quality_control_5": 1.0,
}


def test_silence_scores_what_tcpdbench_published_on_every_real_series(
    series_module: ModuleType,
) -> None:
    real = series_module.heldout_series() + series_module.real_dev_series()
    assert sorted(s.name for s in real) == sorted(PUBLISHED_ZERO_F1)
    for s in real:
        assert f_measure(s.annotations, []).f1 == pytest.approx(
            PUBLISHED_ZERO_F1[s.name], abs=1e-12), s.name
    held = [PUBLISHED_ZERO_F1[s.name] for s in series_module.heldout_series()]
    assert round(float(np.mean(held)), 3) == 0.628  # the RESULT line's f1_zero
