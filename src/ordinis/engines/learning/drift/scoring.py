"""Change-point scoring of the Turing change-point benchmark (van den Burg & Williams, 2020).

A prediction is a true positive when it lies within ``margin`` points of an annotated change
point, each annotation matched at most once (closest first). Precision is taken against the
union of all annotators' points, recall is averaged over annotators, and the start of the
series (index 0) counts as a change point for both predictions and every annotator, as in the
benchmark's reference code (``analysis/scripts/metrics.py`` of TCPDBench).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChangePointScore:
    """F-measure with its precision and recall."""

    f1: float
    precision: float
    recall: float


def true_positives(truth: Iterable[int], predicted: Iterable[int], margin: int = 5) -> set[int]:
    """Annotated points matched by a prediction within ``margin``; a prediction matches once."""
    remaining = set(predicted)
    matched: set[int] = set()
    for tau in sorted(set(truth)):
        close = sorted((abs(tau - x), x) for x in remaining if abs(tau - x) <= margin)
        if close:
            matched.add(tau)
            remaining.discard(close[0][1])
    return matched


def f_measure(
    annotations: Mapping[str, Iterable[int]] | Iterable[Iterable[int]],
    predictions: Iterable[int],
    margin: int = 5,
    alpha: float = 0.5,
) -> ChangePointScore:
    """TCPDBench F-measure (alpha=0.5 gives F1) of ``predictions`` against human annotations.

    ``annotations`` maps annotator -> change points (or is a list of such lists); locations
    are 0-based indices of the first point of a new segment.
    """
    groups = list(annotations.values()) if isinstance(annotations, Mapping) else list(annotations)
    if not groups:
        raise ValueError("annotations: need at least one annotator (a list of change points)")
    per_annotator = [set(g) | {0} for g in groups]
    predicted = set(predictions) | {0}
    union: set[int] = set().union(*per_annotator)
    precision = len(true_positives(union, predicted, margin)) / len(predicted)
    recall = sum(
        len(true_positives(tk, predicted, margin)) / len(tk) for tk in per_annotator
    ) / len(per_annotator)
    denom = alpha * recall + (1 - alpha) * precision
    f = precision * recall / denom if denom > 0 else 0.0
    return ChangePointScore(f1=f, precision=precision, recall=recall)
