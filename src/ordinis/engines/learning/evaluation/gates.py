"""Evaluation gates: thresholds a candidate's metrics must meet before promotion.

Gate sets live in YAML (shipped ones in the package's ``resources/gates``, found with
importlib.resources so they work from any working directory). A file holds a ``default`` list
of gates and optional per-model-type sections::

    name: production
    gates:                       # the default section (or ``default:``)
      - {name: min_sharpe, metric: sharpe, type: performance, comparison: gte, threshold: 1.5}
    model_types:
      risk:
        gates: [...]             # replaces the default list for model_type "risk"

A required gate that fails blocks; an advisory one (``required: false``) warns. A gate whose
metric is missing (or NaN) fails and says so, except a parity gate: its evidence comes only from
live (shadow/canary) runs, so until one is recorded it WAITs ("waiting for live evidence"),
which blocks like a failure but does not claim the model failed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem
from ordinis.engines.learning.core.gate_report import (
    Comparison,
    GateReport,
    GateResult,
    GateType,
    Verdict,
)

_RESOURCE_PACKAGE = "ordinis.engines.learning"


@dataclass(frozen=True, slots=True)
class EvaluationGate:
    """One threshold on one metric; ``metric`` defaults to the gate's name."""

    name: str
    gate_type: GateType
    threshold: float
    comparison: Comparison
    required: bool = True
    metric: str | None = None
    tolerance: float = 0.0

    @property
    def metric_name(self) -> str:
        return self.metric or self.name

    def check(self, value: float | None) -> GateResult:
        """Compare one value; a missing or NaN value fails (or warns, when advisory)."""
        metric = self.metric_name
        if value is None or (isinstance(value, float) and math.isnan(value)):
            shown = math.nan
            if self.gate_type is GateType.PARITY and self.required:
                msg = (
                    f"{metric}: waiting for live evidence (no shadow/canary parity result "
                    "recorded for this version yet; engine.record_parity records one)"
                )
                return GateResult(
                    self.name, metric, shown, self.threshold, self.comparison, self.required,
                    Verdict.WAIT, msg, self.gate_type,
                )
            ok = False
            msg = f"metric {metric!r} is missing from the evaluation (was it computed?)"
        else:
            shown = float(value)
            if self.comparison is Comparison.GTE:
                ok = shown >= self.threshold - self.tolerance
            elif self.comparison is Comparison.LTE:
                ok = shown <= self.threshold + self.tolerance
            else:
                ok = abs(shown - self.threshold) <= self.tolerance
            tol = f" ± {self.tolerance:g}" if self.tolerance else ""
            need = f"{self.comparison.symbol} {self.threshold:g}{tol}"
            msg = f"{metric} = {shown:.4g} " + (f"meets {need}" if ok else f"fails: needs {need}")
        verdict = Verdict.PASS if ok else (Verdict.FAIL if self.required else Verdict.WARN)
        return GateResult(
            self.name,
            metric,
            shown,
            self.threshold,
            self.comparison,
            self.required,
            verdict,
            msg,
            self.gate_type,
        )


@dataclass(frozen=True, slots=True)
class GateSet:
    """A named list of gates (for one model type)."""

    name: str
    gates: tuple[EvaluationGate, ...]
    model_type: str | None = None

    def evaluate(self, metrics: Mapping[str, float]) -> GateReport:
        """Check every gate against ``metrics``."""
        results = [g.check(metrics.get(g.metric_name)) for g in self.gates]
        warnings = [r.message for r in results if r.verdict is Verdict.WARN]
        passed = all(r.verdict in (Verdict.PASS, Verdict.WARN) for r in results)
        return GateReport(self.name, passed, results, warnings)

    def fingerprint(self) -> str:
        """SHA-256 of the gates (name, metric, type, comparison, threshold, required, tolerance)
        and the model type: two sets with the same hash judge identically."""
        h = hashlib.sha256(f"{self.name}|{self.model_type or ''}".encode())
        for g in self.gates:
            h.update(
                f"|{g.name},{g.metric_name},{g.gate_type.value},{g.comparison.value},"
                f"{g.threshold!r},{g.required},{g.tolerance!r}".encode()
            )
        return h.hexdigest()

    @property
    def thresholds(self) -> dict[str, float]:
        return {g.metric_name: g.threshold for g in self.gates}

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "gate set", model_type: str | None = None
    ) -> GateSet:
        """Build from a parsed mapping; every problem is reported with the gate and field."""
        if not isinstance(data, Mapping):
            raise ConfigError(
                source,
                [
                    FieldProblem(
                        "<root>", type(data).__name__, "must be a mapping with a 'gates' list"
                    )
                ],
            )
        name = str(data.get("name") or Path(source).stem)
        section: Any = data
        types = data.get("model_types") or {}
        if not isinstance(types, Mapping):
            raise ConfigError(
                source,
                [FieldProblem("model_types", types, "must map model type -> {gates: [...]}")],
            )
        if model_type is not None and model_type in types:
            section = types[model_type]
        elif "default" in data:
            section = data["default"]
        raw = section.get("gates") if isinstance(section, Mapping) else section
        where = (
            f"model_types.{model_type}"
            if section is not data and model_type in types
            else ("default" if "default" in data else "")
        )
        prefix = f"{where}.gates" if where else "gates"
        if not isinstance(raw, list) or not raw:
            raise ConfigError(
                source, [FieldProblem(prefix, raw, "must be a non-empty list of gates")]
            )
        problems: list[FieldProblem] = []
        gates: list[EvaluationGate] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            gates_or_none = _parse_gate(item, f"{prefix}[{i}]", problems)
            if gates_or_none is None:
                continue
            if gates_or_none.name in seen:
                problems.append(
                    FieldProblem(f"{prefix}[{i}].name", gates_or_none.name, "duplicate gate name")
                )
            seen.add(gates_or_none.name)
            gates.append(gates_or_none)
        if problems:
            raise ConfigError(source, problems)
        return cls(name=name, gates=tuple(gates), model_type=model_type)

    @classmethod
    def from_yaml(cls, path: str | Path, model_type: str | None = None) -> GateSet:
        """Load a YAML gate file; errors name the file, the gate and the field."""
        p = Path(path)
        if not p.exists():
            raise ConfigError(
                f"gate file {p}", [FieldProblem("path", str(p), "file does not exist")]
            )
        return cls._from_text(p.read_text(encoding="utf-8"), f"gate file {p}", model_type)

    @classmethod
    def _from_text(cls, text: str, source: str, model_type: str | None) -> GateSet:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(
                source, [FieldProblem("<yaml>", None, f"not valid YAML: {exc}")]
            ) from None
        return cls.from_dict(data, source=source, model_type=model_type)


_GATE_KEYS = {
    "name",
    "metric",
    "type",
    "gate_type",
    "comparison",
    "threshold",
    "required",
    "tolerance",
    "description",
}


def _parse_gate(item: Any, where: str, problems: list[FieldProblem]) -> EvaluationGate | None:
    if not isinstance(item, Mapping):
        problems.append(
            FieldProblem(where, item, "must be a mapping (name, metric, threshold, ...)")
        )
        return None
    start = len(problems)
    unknown = sorted(set(map(str, item)) - _GATE_KEYS)
    if unknown:
        problems.append(
            FieldProblem(
                f"{where}", unknown, f"unknown key(s); allowed: {', '.join(sorted(_GATE_KEYS))}"
            )
        )
    name = item.get("name")
    label = f"{where} ({name})" if name else where
    if not isinstance(name, str) or not name:
        problems.append(FieldProblem(f"{label}.name", name, "required, a non-empty string"))
    gate_type_raw = item.get("type", item.get("gate_type", "performance"))
    try:
        gate_type = GateType(str(gate_type_raw).lower())
    except ValueError:
        problems.append(
            FieldProblem(
                f"{label}.type", gate_type_raw, f"must be one of {[t.value for t in GateType]}"
            )
        )
        gate_type = GateType.PERFORMANCE
    cmp_raw = item.get("comparison", "gte")
    aliases = {">=": "gte", "<=": "lte", "==": "eq"}
    try:
        comparison = Comparison(aliases.get(str(cmp_raw), str(cmp_raw).lower()))
    except ValueError:
        problems.append(
            FieldProblem(
                f"{label}.comparison", cmp_raw, "must be one of gte, lte, eq (or >=, <=, ==)"
            )
        )
        comparison = Comparison.GTE
    threshold = item.get("threshold")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(float(threshold))
    ):
        problems.append(FieldProblem(f"{label}.threshold", threshold, "required, a finite number"))
        threshold = 0.0
    tolerance = item.get("tolerance", 0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        problems.append(FieldProblem(f"{label}.tolerance", tolerance, "must be a number >= 0"))
        tolerance = 0.0
    required = item.get("required", True)
    if not isinstance(required, bool):
        problems.append(FieldProblem(f"{label}.required", required, "must be true or false"))
        required = True
    metric = item.get("metric")
    if metric is not None and (not isinstance(metric, str) or not metric):
        problems.append(FieldProblem(f"{label}.metric", metric, "must be a metric name"))
        metric = None
    if len(problems) > start:
        return None
    return EvaluationGate(
        str(name), gate_type, float(threshold), comparison, required, metric, float(tolerance)
    )


def shipped_gate_sets() -> list[str]:
    """Names of the gate sets shipped in the package (resources/gates/*.yaml)."""
    folder = resources.files(_RESOURCE_PACKAGE).joinpath("resources", "gates")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_gate_set(name_or_path: str | Path, model_type: str | None = None) -> GateSet:
    """A shipped gate set by name ("production", "staging") or a YAML file by path."""
    text = str(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text
    )
    if looks_like_path:
        return GateSet.from_yaml(Path(text), model_type=model_type)
    resource = resources.files(_RESOURCE_PACKAGE).joinpath("resources", "gates", f"{text}.yaml")
    if not resource.is_file():
        raise ConfigError(
            "gate set",
            [
                FieldProblem(
                    "name",
                    text,
                    f"no shipped gate set by that name; shipped: "
                    f"{', '.join(shipped_gate_sets())}, or pass a YAML path",
                )
            ],
        )
    return GateSet._from_text(
        resource.read_text(encoding="utf-8"), f"gate set {text} ({resource})", model_type
    )
