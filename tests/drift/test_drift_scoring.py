"""The TCPDBench F-measure, checked against the examples of its reference definition."""

from __future__ import annotations

import pytest

from ordinis.engines.learning.drift.scoring import f_measure, true_positives


def test_true_positives_match_each_prediction_once() -> None:
    assert true_positives({1, 10, 20, 23}, {3, 8, 20}) == {1, 10, 20}
    assert true_positives({1, 10, 20, 23}, {1, 3, 5, 8, 20}) == {1, 10, 20}
    assert true_positives(set(), {1, 2, 3}) == set()
    assert true_positives({1, 2, 3}, set()) == set()


def test_f_measure_reference_values() -> None:
    assert f_measure({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20]).f1 == 1.0
    assert f_measure({"1": [], "2": [10], "3": [50]}, [10]).f1 == pytest.approx(0.9090909090909091)
    assert f_measure({"1": [], "2": [10], "3": [50]}, []).f1 == pytest.approx(0.8)


def test_margin_and_start_point() -> None:
    score = f_measure([[100]], [106])  # one point outside the margin of 5
    assert score.precision == pytest.approx(0.5)  # {0, 106}: only 0 matches
    assert score.recall == pytest.approx(0.5)  # {0, 100}: only 0 found
    assert f_measure([[100]], [105]).f1 == 1.0


def test_no_annotators_is_an_error() -> None:
    with pytest.raises(ValueError, match="annotator"):
        f_measure({}, [1])
