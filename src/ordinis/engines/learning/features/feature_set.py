"""Feature sets: a named, versioned list of features and where their values come from.

A model is trained on one version of one set; its lineage names both, and evaluation, data
validation, drift references and parity read that version's features, never a fixed list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, NotFoundError, ValidationError

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
DTYPES = ("float64", "int64", "bool")


class FeatureSource(StrEnum):
    """Where a set's values come from."""

    PAYLOAD = "payload"  # payload["features"] of the host's SIGNAL_GENERATED events
    FUNCTION = "function"  # a registered function over bars (packs compute them with it too)
    STORE = "store"  # the point-in-time FeatureStore (ASOF join on entity and time)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: its name and dtype."""

    name: str
    dtype: str = "float64"


@dataclass(frozen=True, slots=True)
class FeatureFunction:
    """A function over a close-price series computing named features point-in-time.

    ``warmup_rows`` is how many bars of history it needs before every feature is defined.
    """

    name: str
    compute: Callable[[pd.Series], pd.DataFrame]
    names: tuple[str, ...]
    warmup_rows: int = 0

    def __call__(self, close: pd.Series) -> pd.DataFrame:
        """The features of ``close``, exactly the declared columns in the declared order."""
        out = self.compute(close)
        missing = [n for n in self.names if n not in out.columns]
        if missing:
            raise ValidationError(
                f"feature function {self.name!r}",
                [FieldProblem("returned columns", list(map(str, out.columns)),
                              f"missing declared feature(s) {missing}; return them or "
                              "declare only what the function computes")],
            )
        return out[list(self.names)]


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """A versioned definition: names, dtypes, source (and the function or TTL it uses)."""

    name: str
    version: int
    features: tuple[FeatureSpec, ...]
    source: FeatureSource = FeatureSource.PAYLOAD
    function: str | None = None
    ttl_seconds: float | None = None
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def ref(self) -> str:
        """``name@v<version>``, how lineage and job configs name it."""
        return f"{self.name}@v{self.version}"

    def same_definition(self, other: FeatureSet) -> bool:
        return (self.features, self.source, self.function, self.ttl_seconds) == (
            other.features, other.source, other.function, other.ttl_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "features": [[f.name, f.dtype] for f in self.features],
            "source": self.source.value,
            "function": self.function,
            "ttl_seconds": self.ttl_seconds,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> FeatureSet:
        return cls(
            name=str(body["name"]),
            version=int(body["version"]),
            features=tuple(FeatureSpec(str(n), str(d)) for n, d in body["features"]),
            source=FeatureSource(body.get("source", "payload")),
            function=body.get("function"),
            ttl_seconds=body.get("ttl_seconds"),
            description=str(body.get("description", "")),
        )


def make_feature_set(
    name: str,
    features: Iterable[str | FeatureSpec],
    *,
    version: int = 1,
    source: FeatureSource | str = FeatureSource.PAYLOAD,
    function: str | None = None,
    ttl_seconds: float | None = None,
    description: str = "",
) -> FeatureSet:
    """Validate and build a FeatureSet; every problem is reported at once, naming the fix."""
    specs = tuple(f if isinstance(f, FeatureSpec) else FeatureSpec(str(f)) for f in features)
    problems: list[FieldProblem] = []
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.append(FieldProblem("name", name, "use letters, digits, '_', '-' or '.', "
                                     "starting with a letter or '_'"))
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(FieldProblem("version", version, "must be an integer >= 1"))
    if not specs:
        problems.append(FieldProblem("features", [], "name at least one feature"))
    names = [s.name for s in specs]
    bad = [n for n in names if not _NAME_RE.match(n)]
    if bad:
        problems.append(FieldProblem("features", bad, "feature names must be identifiers "
                                     "(letters, digits, '_', '-', '.')"))
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        problems.append(FieldProblem("features", dups, "each feature may appear once"))
    bad_types = [s.dtype for s in specs if s.dtype not in DTYPES]
    if bad_types:
        problems.append(FieldProblem("dtype", bad_types, f"must be one of {list(DTYPES)}"))
    try:
        src = FeatureSource(source)
    except ValueError:
        problems.append(FieldProblem("source", source,
                                     f"must be one of {[s.value for s in FeatureSource]}"))
        src = FeatureSource.PAYLOAD
    if src is FeatureSource.FUNCTION and not function:
        problems.append(FieldProblem("function", function,
                                     "a function-sourced set names its registered function"))
    if ttl_seconds is not None and not ttl_seconds > 0:
        problems.append(FieldProblem("ttl_seconds", ttl_seconds, "must be > 0 (or None)"))
    if problems:
        raise ValidationError(f"feature set {name!r}", problems)
    ttl = None if ttl_seconds is None else float(ttl_seconds)
    return FeatureSet(name, version, specs, src, function, ttl, description)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name"`` or ``"name@v3"`` (also ``name@3``) -> (name, version or None for latest)."""
    if "@" not in ref:
        return ref, None
    name, _, ver = ref.rpartition("@")
    digits = ver[1:] if ver[:1] in ("v", "V") else ver
    if not digits.isdigit():
        raise ValidationError("feature set reference", [FieldProblem(
            "feature_set", ref, "write name or name@v<version>, e.g. my_set@v2")])
    return name, int(digits)


class FeatureSetRegistry:
    """Feature sets by name and version, and the feature functions packs compute them with."""

    def __init__(self, sets: Sequence[FeatureSet] = (),
                 functions: Sequence[FeatureFunction] = ()) -> None:
        self._sets: dict[str, dict[int, FeatureSet]] = {}
        self._functions: dict[str, FeatureFunction] = {}
        for fn in functions:
            self._functions[fn.name] = fn
        for fs in sets:
            self.register(fs)

    def register(self, feature_set: FeatureSet) -> FeatureSet:
        """Add a version; the same definition again is a no-op, a changed one needs a new one."""
        versions = self._sets.setdefault(feature_set.name, {})
        existing = versions.get(feature_set.version)
        if existing is not None:
            if existing.same_definition(feature_set):
                return existing
            raise ValidationError(f"feature set {feature_set.name!r}", [FieldProblem(
                "version", feature_set.version,
                f"already registered with another definition; register version "
                f"{max(versions) + 1} instead (models trained on a version keep it)")])
        if feature_set.source is FeatureSource.FUNCTION and \
                feature_set.function not in self._functions:
            raise ValidationError(f"feature set {feature_set.name!r}", [FieldProblem(
                "function", feature_set.function,
                "no such feature function; register it first with register_function")])
        versions[feature_set.version] = feature_set
        return feature_set

    def register_function(self, fn: FeatureFunction, description: str = "") -> FeatureSet:
        """Register a feature function and the function-sourced set of the same name."""
        old = self._functions.get(fn.name)
        if old is not None and old.names != fn.names:
            latest = self.get(fn.name)
            self._functions[fn.name] = fn
            return self.register(make_feature_set(
                fn.name, fn.names, version=latest.version + 1, source=FeatureSource.FUNCTION,
                function=fn.name, description=description))
        self._functions[fn.name] = fn
        if fn.name in self._sets:
            return self.get(fn.name)
        return self.register(make_feature_set(
            fn.name, fn.names, source=FeatureSource.FUNCTION, function=fn.name,
            description=description))

    def function(self, name: str) -> FeatureFunction:
        fn = self._functions.get(name)
        if fn is None:
            raise NotFoundError(
                f"feature function {name!r} is not registered; known: {sorted(self._functions)}. "
                "Register it with register_function(FeatureFunction(...)).")
        return fn

    def functions(self) -> list[FeatureFunction]:
        return list(self._functions.values())

    def names(self) -> list[str]:
        return sorted(self._sets)

    def versions(self, name: str) -> list[FeatureSet]:
        return [self._sets[name][v] for v in sorted(self._sets.get(name, {}))]

    def get(self, name: str, version: int | None = None) -> FeatureSet:
        """A version of a set (None: the latest)."""
        versions = self._sets.get(name)
        if not versions:
            raise NotFoundError(
                f"feature set {name!r} is not registered; known: {self.names()}. Register it "
                "(register_feature_set) or list the features in the job config (config.features).")
        v = max(versions) if version is None else version
        if v not in versions:
            raise NotFoundError(
                f"feature set {name!r} has no version {v}; versions: {sorted(versions)}")
        return versions[v]

    def resolve(self, ref: str) -> FeatureSet:
        """``name`` or ``name@v<version>``."""
        name, version = parse_ref(ref)
        return self.get(name, version)

    def find(self, ref: str | None) -> FeatureSet | None:
        """The set a lineage names, or None when it is not registered here."""
        if not ref:
            return None
        try:
            return self.resolve(ref)
        except (NotFoundError, ValidationError):
            return None


@dataclass(frozen=True, slots=True)
class FeatureDiscovery:
    """What discovery chose from a window's events, and why."""

    chosen: tuple[str, ...]
    coverage: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    min_coverage: float = 0.95

    def report(self) -> str:
        """One line a job's progress and lineage carry."""
        text = (f"discovered {len(self.chosen)} feature(s) in payload['features'] of {self.rows} "
                f"rows (numeric in >= {self.min_coverage:.0%}): {', '.join(self.chosen)}")
        if self.rejected:
            text += "; left out: " + ", ".join(f"{k} ({v})" for k, v in self.rejected.items())
        return text
