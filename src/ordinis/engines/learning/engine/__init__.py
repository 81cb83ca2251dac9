"""The engine layer: the LearningEngine facade, the wiring, and the services that cross parts."""

from ordinis.engines.learning.engine.facade import LearningEngine

__all__ = ["LearningEngine"]
