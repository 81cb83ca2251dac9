"""Scoring detectors on a user's own annotated series: both file formats, every refusal named,
and the same F1 as the benchmark on a vendored TCPD series."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.drift import (
    ZERO,
    AnnotatedSeries,
    detector_names,
    read_annotated_series,
    score_detectors,
)

TCPD_DEV = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "tcpd_dev"


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _step(n: int = 600, at: int = 300, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return [*rng.normal(0, 1, at).tolist(), *rng.normal(3, 1, n - at).tolist()]


def test_a_tcpd_dataset_file_reads_with_its_annotations_file(tmp_path: Path) -> None:
    data = _write(tmp_path / "s.json", {"name": "s", "n_obs": 5, "n_dim": 1,
                                        "series": [{"label": "V1", "raw": [1, None, 3.5, 4, 5]}]})
    ann = _write(tmp_path / "annotations.json", {"s": {"6": [3, 2, 3], "8": []}, "t": {}})
    got = read_annotated_series(data, ann)
    assert got.name == "s" and got.values[0] == 1.0 and math.isnan(got.values[1])
    assert got.annotations == {"6": (2, 3), "8": ()}


def test_a_plain_file_carries_its_own_annotations_or_one_list(tmp_path: Path) -> None:
    a = read_annotated_series(_write(tmp_path / "a.json", {
        "values": [0.0, 1.0, 2.0], "annotations": {"ann": [1]}}))
    assert (a.name, a.values, a.annotations) == ("a", (0.0, 1.0, 2.0), {"ann": (1,)})
    b = read_annotated_series(_write(tmp_path / "b.json", {
        "name": "pnl", "values": [0.0, 1.0, 2.0], "changes": [2]}))
    assert (b.name, b.annotations) == ("pnl", {"changes": (2,)})


@pytest.mark.parametrize(("doc", "field", "words"), [
    ({"values": [1.0, 2.0]}, "annotations", '"changes"'),
    ({"values": [], "changes": []}, "values", "non-empty list"),
    ({"values": [1.0, "x"], "changes": []}, "values[1]", "number or null"),
    ({"values": [1.0, 2.0], "changes": [2]}, "annotations.changes", "[0, 2)"),
    ({"values": [1.0, 2.0], "annotations": {"a": [0.5]}}, "annotations.a", "whole numbers"),
    ({"series": [{"raw": [1]}, {"raw": [2]}]}, "series", "2 dimensions"),
    ({"series": [{"raw": [1, 2]}]}, "annotations", "--annotations"),
    ({"ticks": [1, 2]}, "values", "TCPD dataset file"),
    ([1, 2], "path", "JSON object"),
])
def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path, doc: object, field: str,
                                                words: str) -> None:
    path = _write(tmp_path / "bad.json", doc)
    with pytest.raises(ValidationError) as err:
        read_annotated_series(path)
    assert err.value.problems[0].field == field
    assert words in str(err.value) and str(path) in str(err.value)


def test_missing_and_unreadable_files_and_unknown_dataset_names(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        read_annotated_series(tmp_path / "nope.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValidationError, match="not readable JSON"):
        read_annotated_series(tmp_path / "broken.json")
    data = _write(tmp_path / "s.json", {"name": "s", "series": [{"raw": [1, 2]}]})
    ann = _write(tmp_path / "annotations.json", {"other": {"1": [1]}})
    with pytest.raises(ValidationError, match="no entry for dataset 's'"):
        read_annotated_series(data, ann)


def test_a_found_step_scores_one_and_silence_two_thirds() -> None:
    s = AnnotatedSeries("step", tuple(_step()), {"a": (300,), "b": (301,)})
    res = score_detectors([s], ["cusum", "adwin"])
    assert res.scores["cusum"][0].f1 == 1.0
    assert abs(res.located["cusum"][0][0] - 300) <= 5
    assert res.scores[ZERO][0].f1 == pytest.approx(2 / 3)
    assert res.best == "cusum" and res.mean_f1(ZERO) == pytest.approx(2 / 3)


def test_silence_is_best_when_nothing_changed_and_a_detector_cried_wolf() -> None:
    rng = np.random.default_rng(1)
    s = AnnotatedSeries("calm", tuple(rng.normal(0, 1, 3000).tolist()), {"a": ()})
    res = score_detectors([s], ["kswin"])  # KSWIN's ARL0 is a few hundred: it fires
    assert res.located["kswin"][0] and res.scores["kswin"][0].f1 < 1.0
    assert res.best == ZERO and res.mean_f1(ZERO) == 1.0


def test_bad_arguments_are_refused_before_anything_runs() -> None:
    s = AnnotatedSeries("s", (1.0, 2.0), {"a": ()})
    with pytest.raises(ValidationError, match="unknown detector"):
        score_detectors([s], ["cusum", "nope"])
    with pytest.raises(ValidationError) as err:
        score_detectors([], [], margin=-1)
    assert [p.field for p in err.value.problems] == ["series", "detectors", "margin"]
    assert detector_names()[0] == "cusum"


def test_a_vendored_tcpd_series_scores_as_in_the_benchmark() -> None:
    s = read_annotated_series(TCPD_DEV / "homeruns" / "homeruns.json",
                              TCPD_DEV / "annotations.json")
    res = score_detectors([s], ["cusum", "warmup_tested_cusum"])
    # docs/drift.md, real development set: CUSUM 0.812, warm-up tested 0.873, silence 0.659
    assert [round(res.mean_f1(d), 3) for d in ("cusum", "warmup_tested_cusum", ZERO)] == [
        0.812, 0.873, 0.659]
