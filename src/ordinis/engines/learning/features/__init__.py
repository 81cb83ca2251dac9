"""Feature sets, the point-in-time feature store (DuckDB) and similarity search of feedback."""

from ordinis.engines.learning.features.bar_features import (
    BAR_FEATURES,
    FEATURE_NAMES,
    compute_bar_features,
    default_feature_sets,
    next_return,
)
from ordinis.engines.learning.features.feature_set import (
    FeatureDiscovery,
    FeatureFunction,
    FeatureSet,
    FeatureSetRegistry,
    FeatureSource,
    FeatureSpec,
    make_feature_set,
    parse_ref,
)
from ordinis.engines.learning.features.frames import feature_frame, lineage_feature_names
from ordinis.engines.learning.features.selection import (
    DEFAULT_MIN_COVERAGE,
    DISCOVERED_SET,
    LISTED_SET,
    FeatureSelection,
    discover_features,
    select_features,
    validate_feature_config,
)
from ordinis.engines.learning.features.similarity import (
    BruteForceIndex,
    IndexHit,
    SimilaritySearch,
    SimilarSituation,
    SituationEmbedder,
    SituationIndex,
    VectorIndex,
)
from ordinis.engines.learning.features.store import FeatureStore

__all__ = [
    "BAR_FEATURES",
    "DEFAULT_MIN_COVERAGE",
    "DISCOVERED_SET",
    "FEATURE_NAMES",
    "LISTED_SET",
    "BruteForceIndex",
    "FeatureDiscovery",
    "FeatureFunction",
    "FeatureSelection",
    "FeatureSet",
    "FeatureSetRegistry",
    "FeatureSource",
    "FeatureSpec",
    "FeatureStore",
    "IndexHit",
    "SimilarSituation",
    "SimilaritySearch",
    "SituationEmbedder",
    "SituationIndex",
    "VectorIndex",
    "compute_bar_features",
    "default_feature_sets",
    "discover_features",
    "feature_frame",
    "lineage_feature_names",
    "make_feature_set",
    "next_return",
    "parse_ref",
    "select_features",
    "validate_feature_config",
]
