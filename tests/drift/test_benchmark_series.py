"""The drift benchmark's development and held-out sets never share a series or a value run."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

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
