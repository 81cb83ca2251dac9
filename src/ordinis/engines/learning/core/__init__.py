"""The engine's core: config, models, clock, errors and the LearningEngine facade."""
