"""Choose a detector on your own history: annotated series, scored by the TCPD protocol.

A detector's default threshold comes from simulated nulls, but which detector suits a stream is
a question for that stream's own past. Given series whose change points people marked, this
runs every detector at its defaults and scores it the way the benchmark does (``scoring.py``:
F1 with a margin, the start counted as a change, precision against all annotators, recall
averaged over them), beside a detector that never fires. Nothing is tuned on the series.

Two file formats are read. The first is TCPD's own: a dataset file with
``series[0].raw`` (``null`` for a missing value), with the annotations in a separate
``annotations.json`` that maps each dataset name to annotators, and each annotator to
indices. The second is a plain file: ``{"name": ..., "values": [...], "annotations":
{annotator: [indices]}}``, where ``"changes": [indices]`` can stand for one annotator.
Indices are 0-based positions of the first value of a new segment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.drift.detectors import DriftDetector, make_detector
from ordinis.engines.learning.drift.scoring import ChangePointScore, f_measure

__all__ = [
    "ZERO",
    "AnnotatedSeries",
    "Detections",
    "DetectorScores",
    "detect",
    "read_annotated_series",
    "score_detectors",
]

ZERO = "zero"
"""The name of the baseline that never fires, scored beside the detectors."""


@dataclass(frozen=True, slots=True)
class AnnotatedSeries:
    """Values (NaN where missing) and each annotator's change points."""

    name: str
    values: tuple[float, ...]
    annotations: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Detections:
    """Where a detector alarmed, and where it placed each change (its ``change_point``, else the
    alarm's index)."""

    alarms: tuple[int, ...]
    located: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DetectorScores:
    """Per series and detector (``ZERO`` included), the score and the changes it reported."""

    series: tuple[AnnotatedSeries, ...]
    detectors: tuple[str, ...]
    scores: Mapping[str, tuple[ChangePointScore, ...]]
    located: Mapping[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    margin: int = 5

    def mean_f1(self, detector: str) -> float:
        """The detector's F1 averaged over the series (each series counts once)."""
        rows = self.scores[detector]
        return sum(s.f1 for s in rows) / len(rows)

    @property
    def best(self) -> str:
        """The detector with the highest mean F1 (the first listed on a tie); may be ``ZERO``."""
        return max((*self.detectors, ZERO), key=self.mean_f1)


def detect(detector: DriftDetector, values: Sequence[float]) -> Detections:
    """Feed ``values`` in order; collect each alarm's index and reported change location."""
    alarms: list[int] = []
    located: list[int] = []
    update = detector.update
    for i, v in enumerate(values):
        update(v)
        if detector.drift_detected:
            alarms.append(i)
            cp = getattr(detector, "change_point", None)
            located.append(int(cp) if cp is not None and cp >= 0 else i)
    return Detections(tuple(alarms), tuple(located))


def score_detectors(series: Sequence[AnnotatedSeries], detectors: Sequence[str],
                    margin: int = 5) -> DetectorScores:
    """Every detector (by ``make_detector`` name, defaults) on every series, and ``ZERO``."""
    problems: list[FieldProblem] = []
    if not series:
        problems.append(FieldProblem("series", [], "need at least one annotated series"))
    if not detectors:
        problems.append(FieldProblem("detectors", [], "need at least one detector name"))
    if margin < 0:
        problems.append(FieldProblem("margin", margin, "must be >= 0 (points either side)"))
    if problems:
        raise ValidationError("score_detectors", problems)
    for name in detectors:
        make_detector(name)  # an unknown name is refused before any series is run
    scores: dict[str, tuple[ChangePointScore, ...]] = {}
    located: dict[str, tuple[tuple[int, ...], ...]] = {}
    for name in detectors:
        runs = [detect(make_detector(name), s.values) for s in series]
        located[name] = tuple(r.located for r in runs)
        scores[name] = tuple(f_measure(s.annotations, r.located, margin)
                             for s, r in zip(series, runs, strict=True))
    scores[ZERO] = tuple(f_measure(s.annotations, [], margin) for s in series)
    located[ZERO] = tuple(() for _ in series)
    return DetectorScores(tuple(series), tuple(detectors), scores, located, margin)


def read_annotated_series(path: str | Path,
                          annotations: str | Path | None = None) -> AnnotatedSeries:
    """One series from a TCPD dataset file (annotations from ``annotations``, TCPD's
    ``annotations.json``) or from a plain file that carries its own annotations."""
    p = Path(path)
    doc = _read_json(p, "path")
    if not isinstance(doc, dict):
        raise _refuse(p, "path", type(doc).__name__, "must hold a JSON object")
    if "series" in doc:
        name, values = _tcpd_values(p, doc)
        if annotations is None:
            raw_ann = doc.get("annotations")
            if raw_ann is None:
                raise _refuse(p, "annotations", None, "a TCPD dataset file has no annotations: "
                              "pass --annotations annotations.json (TCPD's file)")
        else:
            table = _read_json(Path(annotations), "annotations")
            if not isinstance(table, dict) or name not in table:
                known = sorted(table) if isinstance(table, dict) else []
                raise _refuse(Path(annotations), "annotations", name,
                              f"no entry for dataset {name!r}; it has {known[:10]}")
            raw_ann = table[name]
    else:
        name = str(doc.get("name") or p.stem)
        values = _plain_values(p, doc)
        raw_ann = doc.get("annotations")
        if raw_ann is None and "changes" in doc:
            raw_ann = {"changes": doc["changes"]}
        if raw_ann is None:
            raise _refuse(p, "annotations", None, 'give "annotations": {annotator: [indices]} '
                          'or "changes": [indices]')
    return AnnotatedSeries(name, values, _annotation_map(p, raw_ann, len(values)))


def _read_json(p: Path, field_name: str) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _refuse(p, field_name, str(p), "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(p, field_name, str(p), f"not readable JSON: {exc}") from None


def _tcpd_values(p: Path, doc: dict[str, Any]) -> tuple[str, tuple[float, ...]]:
    dims = doc["series"]
    if not isinstance(dims, list) or not dims or not isinstance(dims[0], dict) \
            or "raw" not in dims[0]:
        raise _refuse(p, "series", None, 'a TCPD dataset file needs "series": [{"raw": [...]}]')
    if len(dims) > 1:
        raise _refuse(p, "series", len(dims), "the detectors are univariate; this series has "
                      f"{len(dims)} dimensions: write one of them as a plain file")
    name = str(doc.get("name") or p.stem)
    return name, _numbers(p, "series[0].raw", dims[0]["raw"])


def _plain_values(p: Path, doc: dict[str, Any]) -> tuple[float, ...]:
    if "values" not in doc:
        raise _refuse(p, "values", None, 'give "values": [numbers] (null for a missing one), '
                      'or a TCPD dataset file with "series"')
    return _numbers(p, "values", doc["values"])


def _numbers(p: Path, field_name: str, raw: Any) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw:
        raise _refuse(p, field_name, type(raw).__name__, "must be a non-empty list of numbers")
    out: list[float] = []
    for i, v in enumerate(raw):
        if v is None:
            out.append(math.nan)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append(float(v))
        else:
            raise _refuse(p, f"{field_name}[{i}]", v, "must be a number or null")
    return tuple(out)


def _annotation_map(p: Path, raw: Any, n: int) -> dict[str, tuple[int, ...]]:
    if not isinstance(raw, dict) or not raw:
        raise _refuse(p, "annotations", raw, "must map each annotator to a list of indices")
    out: dict[str, tuple[int, ...]] = {}
    for who, points in raw.items():
        if not isinstance(points, list):
            raise _refuse(p, f"annotations.{who}", points, "must be a list of indices")
        for x in points:
            if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < n:
                raise _refuse(p, f"annotations.{who}", x,
                              f"indices must be whole numbers in [0, {n}) for {n} values")
        out[str(who)] = tuple(sorted(set(points)))
    return out


def _refuse(p: Path, field_name: str, value: Any, problem: str) -> ValidationError:
    return ValidationError(f"annotated series {p}", [FieldProblem(field_name, value, problem)])
