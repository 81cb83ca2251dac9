"""Streaming change detectors behind one small protocol, modelled on ``river.drift``.

``DriftDetector`` is what the monitor feeds one value at a time; river's ADWIN, PageHinkley
and KSWIN are wrapped thinly so any of them (or a user's own) can stand in for ours.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from river import drift as river_drift

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError


@runtime_checkable
class DriftDetector(Protocol):
    """One-value-at-a-time change detector with river's surface.

    ``drift_detected`` is true right after the ``update`` that detected a change and false
    after the next one; ``n_detections`` counts changes since construction.
    """

    def update(self, x: float) -> Any:
        """Feed one value (returns ``self`` or ``None``)."""
        ...

    @property
    def drift_detected(self) -> bool: ...

    @property
    def n_detections(self) -> int: ...

    def reset(self) -> None:
        """Forget everything learnt, as if newly built (``n_detections`` is kept)."""
        ...


class RiverDetector:
    """Thin adapter of a ``river.drift`` detector to ``DriftDetector``.

    river keeps its own ``n_detections`` only on some detectors and resets it on ``_reset``,
    so the adapter counts detections itself.
    """

    name = "river"

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self._n_detections = 0

    @property
    def detector(self) -> Any:
        """The wrapped river object."""
        return self._detector

    def update(self, x: float) -> RiverDetector:
        det = self._detector
        det.update(x)
        if det.drift_detected:
            self._n_detections += 1
        return self

    @property
    def drift_detected(self) -> bool:
        return bool(self._detector.drift_detected)

    @property
    def n_detections(self) -> int:
        return self._n_detections

    def reset(self) -> None:
        self._detector = self._detector.clone()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._detector!r})"


class ADWINDetector(RiverDetector):
    """river's ADWIN (adaptive windowing; Bifet & Gavalda 2007) at its defaults unless given."""

    name = "adwin"

    def __init__(self, **params: Any) -> None:
        super().__init__(river_drift.ADWIN(**params))


class PageHinkleyDetector(RiverDetector):
    """river's Page-Hinkley test (cumulative deviation from the running mean)."""

    name = "page_hinkley"

    def __init__(self, **params: Any) -> None:
        super().__init__(river_drift.PageHinkley(**params))


class KSWINDetector(RiverDetector):
    """river's KSWIN (Kolmogorov-Smirnov test on a sliding window); seeded for repeatability."""

    name = "kswin"

    def __init__(self, seed: int | None = 42, **params: Any) -> None:
        super().__init__(river_drift.KSWIN(seed=seed, **params))


def _factories() -> dict[str, Any]:
    from ordinis.engines.learning.drift.bocpd import BOCPD
    from ordinis.engines.learning.drift.cusum import (
        AutocorrelatedCUSUM,
        LocatedCUSUM,
        WarmupTestedCUSUM,
    )
    from ordinis.engines.learning.drift.hybrid import HybridCUSUM

    return {
        "cusum": AutocorrelatedCUSUM,
        "warmup_tested_cusum": WarmupTestedCUSUM,
        "located_cusum": LocatedCUSUM,
        "hybrid": HybridCUSUM,
        "bocpd": BOCPD,
        "adwin": ADWINDetector,
        "page_hinkley": PageHinkleyDetector,
        "kswin": KSWINDetector,
    }


def detector_names() -> tuple[str, ...]:
    """The names ``make_detector`` builds: ours (the default ``cusum`` first), then river's."""
    return tuple(_factories())


def make_detector(name: str, **params: Any) -> DriftDetector:
    """Build a detector by name (``detector_names()``): ``cusum`` (the default),
    ``warmup_tested_cusum``, ``located_cusum``, ``hybrid``, ``bocpd`` (ours), ``adwin``,
    ``page_hinkley``, ``kswin`` (river's)."""
    factories = _factories()
    factory = factories.get(name)
    if factory is None:
        raise ValidationError(
            "drift detector",
            [FieldProblem("name", name, f"unknown detector; choose one of {sorted(factories)}")],
        )
    detector: DriftDetector = factory(**params)
    return detector
