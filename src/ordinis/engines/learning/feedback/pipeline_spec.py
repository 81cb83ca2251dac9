"""PipelineSpec: the MLOps pipeline (stages and trigger rules) read from ``pipeline.yaml``.

Validated at load: every problem is reported at once, each naming the file, the stage and the
field, so a typo in a stage name or a threshold never reaches the loop.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem
from ordinis.engines.learning.core.models import ModelStage, RolloutStrategy

STAGE_NAMES: tuple[str, ...] = (
    "data_collection",
    "data_validation",
    "training",
    "evaluation",
    "staging",
    "production",
)
BENCHMARK_NAME_PATTERN = re.compile(r"^pack_\d{2}_[a-z0-9]+(?:_[a-z0-9]+)*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
# Gate metrics whose thresholds are fractions: a value outside [0, 1] is a typo.
_FRACTION_METRICS = frozenset(
    {"win_rate", "max_drawdown", "p_value", "hit_rate", "accuracy", "turnover", "psr", "dsr"}
)


def parse_duration(value: Any) -> float:
    """Seconds of a duration: a number of seconds or a string like ``90s``, ``4h``, ``7d``."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 3600, '90s', '15m', '4h', '7d' or '2w'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError("must be a duration such as 3600, '90s', '15m', '4h', '7d' or '2w'")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("must be a finite, non-negative duration")
    return seconds


# Keys that earlier versions accepted and ignored: refused, with why and what to do instead.
_REFUSED_KEYS: dict[str, dict[str, str]] = {
    "data_collection": {
        "event_types": "not a setting: training reads SIGNAL_GENERATED events (features in "
        "payload['features'], the realised return as outcome); remove the key",
    },
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataCollectionStage(_Section):
    """How far back training reads, and how many samples are the minimum.

    Training reads ``SIGNAL_GENERATED`` events (features in ``payload["features"]``, the
    realised return as outcome); there is no ``event_types`` setting (it is refused).
    """

    min_samples: int | None = Field(
        default=None, ge=1, description="None: LearningEngineConfig.min_samples_for_training"
    )
    window_seconds: float = Field(default=90 * 86400.0, gt=0, alias="window")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("window_seconds", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)


_CHECK = re.compile(r"^\s*(null_rate|feature_drift)\s*<\s*([0-9.eE+-]+)\s*$")


class DataValidationStage(_Section):
    """Checks on the training window before any training: schema, null rate, feature drift.

    The review's list form ``validation: [schema_check, null_rate < 0.01, feature_drift < 0.1]``
    sets the same fields (``max_null_rate``, ``max_feature_drift``).
    """

    enabled: bool = True
    required_features: list[str] = Field(
        default_factory=list,
        description="features every window must carry; empty: the model's own feature set",
    )
    max_null_rate: float = Field(default=0.01, ge=0, le=1)
    max_feature_drift: float = Field(default=0.1, gt=0, description="maximum PSI per feature")
    drift_bins: int = Field(default=10, ge=2, le=100)

    @model_validator(mode="before")
    @classmethod
    def _check_list(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "validation" not in data:
            return data
        out = {k: v for k, v in data.items() if k != "validation"}
        checks = data["validation"]
        if not isinstance(checks, list):
            raise ValueError("validation must be a list such as [schema_check, null_rate < 0.01]")
        for item in checks:
            m = _CHECK.match(str(item))
            if str(item).strip() == "schema_check":
                continue
            if m is None:
                raise ValueError(
                    f"validation entry {item!r} is not understood; use schema_check, "
                    "'null_rate < X' or 'feature_drift < X'"
                )
            key = "max_null_rate" if m.group(1) == "null_rate" else "max_feature_drift"
            out[key] = float(m.group(2))
        return out

    @field_validator("required_features")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dupes = sorted({f for f in v if v.count(f) > 1})
        if dupes:
            raise ValueError(f"features listed twice: {', '.join(dupes)}")
        return v


class TrainingStage(_Section):
    """What to train when a retrain is approved."""

    model_type: str = "signal"
    algorithm: str = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=3600.0, gt=0, alias="timeout")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("timeout_seconds", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    def job_config(self) -> dict[str, Any]:
        """The config mapping handed to ``TrainingExecutor.submit``."""
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "timeout_seconds": self.timeout_seconds,
        }


class EvaluationStage(_Section):
    """Where a candidate is evaluated and which gate set judges it."""

    benchmarks: list[str] = Field(
        default_factory=lambda: ["pack_01_bull", "pack_04_bear", "pack_05_crypto"], min_length=1
    )
    gate_set: str = "staging"
    thresholds: dict[str, float] = Field(default_factory=dict)
    holdout_fraction: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        description="newest share of the data window held out at training time: the candidate "
        "is judged on it (its forward holdout) on top of the packs",
    )

    @field_validator("gate_set")
    @classmethod
    def _gate_set_exists(cls, v: str) -> str:
        """A shipped gate set name (resources/gates/NAME.yaml) or the path of a YAML file."""
        from importlib import resources

        if v.endswith((".yaml", ".yml")) or "/" in v:
            if not Path(v).is_file():
                raise ValueError(f"gate set file {v!r} does not exist")
            return v
        gates_dir = resources.files("ordinis.engines.learning").joinpath("resources", "gates")
        shipped = sorted(p.name[:-5] for p in gates_dir.iterdir() if p.name.endswith(".yaml"))
        if v not in shipped:
            raise ValueError(
                f"no shipped gate set {v!r}; use one of {', '.join(shipped)} or a YAML path"
            )
        return v

    @field_validator("benchmarks")
    @classmethod
    def _benchmark_names(cls, v: list[str]) -> list[str]:
        bad = [b for b in v if not isinstance(b, str) or not BENCHMARK_NAME_PATTERN.match(b)]
        if bad:
            raise ValueError(
                f"benchmark name(s) {bad} do not match pack_NN_name "
                "(two digits, lower-case words joined by _), e.g. pack_01_bull, pack_06_multi_asset"
            )
        dupes = sorted({b for b in v if v.count(b) > 1})
        if dupes:
            raise ValueError(f"benchmarks listed twice: {', '.join(dupes)}")
        return v

    @field_validator("thresholds")
    @classmethod
    def _threshold_values(cls, v: dict[str, float]) -> dict[str, float]:
        problems = []
        for name, value in v.items():
            if not math.isfinite(value):
                problems.append(f"{name}={value}: must be a finite number")
            elif name in _FRACTION_METRICS and not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value}: is a fraction, must lie in [0, 1]")
        if problems:
            raise ValueError("; ".join(problems))
        return v


class StagingStage(_Section):
    """What happens to a candidate that passed the gates."""

    auto_promote: bool = True
    target_stage: ModelStage = ModelStage.STAGING
    rollout: RolloutStrategy = RolloutStrategy.SHADOW
    duration_seconds: float = Field(default=86400.0, ge=0, alias="duration")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("duration_seconds", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("target_stage")
    @classmethod
    def _not_production(cls, v: ModelStage) -> ModelStage:
        if v in (ModelStage.PRODUCTION, ModelStage.ARCHIVED):
            raise ValueError(
                f"{v.value!r} is not a staging stage; use staging, shadow or canary "
                "(production is reached through the production stage's rollout)"
            )
        return v


class RampStep(_Section):
    """One step of a canary ramp: this share of traffic for at least this long.

    Written ``{traffic: 10%, hold: 1h}`` or, as in the review, ``- 10%: 1h``. The hold is a
    minimum: the step advances only once the rollout's analysis says so.
    """

    traffic: float = Field(gt=0, le=1)
    hold_seconds: float = Field(ge=0, alias="hold")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) == 1:
            [(key, value)] = data.items()
            if key not in ("traffic", "hold", "hold_seconds"):
                return {"traffic": key, "hold": value}
        return data

    @field_validator("traffic", mode="before")
    @classmethod
    def _percent(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().endswith("%"):
            return float(v.strip()[:-1]) / 100.0
        return v

    @field_validator("hold_seconds", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)


class ProductionStage(_Section):
    """How a staged candidate reaches production (the rollout controller executes it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    approval: Literal["manual", "automatic"] = "manual"
    auto_rollout: bool = Field(
        default=True,
        description="the loop starts this rollout for a candidate it staged, when the model "
        "has a production version and the candidate's production verdict waits only for live "
        "evidence (parity)",
    )
    rollout_strategy: RolloutStrategy = Field(
        default=RolloutStrategy.CANARY,
        validation_alias=AliasChoices("rollout_strategy", "rollout"),
    )
    initial_traffic: float | None = Field(
        default=None, gt=0, le=1, description="the first ramp step's share (review form)"
    )
    ramp_schedule: list[RampStep] = Field(
        default_factory=lambda: [
            RampStep.model_validate({"traffic": share, "hold": hold})
            for share, hold in ((0.10, "1h"), (0.25, "4h"), (0.50, "12h"), (1.00, "24h"))
        ]
    )

    @field_validator("ramp_schedule")
    @classmethod
    def _increasing(cls, v: list[RampStep]) -> list[RampStep]:
        shares = [s.traffic for s in v]
        if any(b <= a for a, b in itertools.pairwise(shares)):
            raise ValueError(f"traffic shares must increase step by step, got {shares}")
        if v and not math.isclose(shares[-1], 1.0):
            raise ValueError(f"the last ramp step must reach 100% traffic, got {shares[-1]:.0%}")
        return v

    @field_validator("initial_traffic", mode="before")
    @classmethod
    def _initial_percent(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().endswith("%"):
            return float(v.strip()[:-1]) / 100.0
        return v

    @model_validator(mode="after")
    def _initial_matches(self) -> ProductionStage:
        first = self.ramp_schedule[0].traffic if self.ramp_schedule else None
        if self.initial_traffic is not None and first is not None and not math.isclose(
            self.initial_traffic, first
        ):
            raise ValueError(
                f"initial_traffic={self.initial_traffic:.0%} differs from the first ramp step "
                f"({first:.0%}); make them equal or drop initial_traffic"
            )
        return self


Direction = Literal["higher_is_better", "lower_is_better"]
_DEFAULT_DIRECTIONS: dict[str, Direction] = {
    "sharpe": "higher_is_better",
    "win_rate": "higher_is_better",
    "max_drawdown": "lower_is_better",
}


class DegradationRuleConfig(_Section):
    """Retrain when a live metric is worse than its baseline by more than ``degradation_pct`` %."""

    enabled: bool = True
    degradation_pct: float = Field(default=20.0, gt=0, le=100)
    metrics: dict[str, Direction] = Field(default_factory=lambda: dict(_DEFAULT_DIRECTIONS))


class ConsecutiveLossRuleConfig(_Section):
    """Retrain after ``count`` losing trades in a row."""

    enabled: bool = True
    count: int = Field(default=8, ge=1)


class DriftAlertRuleConfig(_Section):
    """An alert of ``min_severity`` or worse triggers; so do > ``max_alerts`` within ``window``."""

    enabled: bool = True
    min_severity: Literal["info", "warning", "critical"] = "critical"
    max_alerts: int = Field(default=3, ge=0)
    window_seconds: float = Field(default=6 * 3600.0, gt=0, alias="window")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("window_seconds", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)


class ScheduleRuleConfig(_Section):
    """Time-based retraining: weekly, monthly or a cron expression (UTC), on the engine clock."""

    enabled: bool = False
    every: Literal["weekly", "monthly", "cron"] = "weekly"
    cron: str | None = None
    models: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cron_expression(self) -> ScheduleRuleConfig:
        from croniter import croniter

        if self.every == "cron":
            if not self.cron:
                raise ValueError("every='cron' needs a cron expression, e.g. cron: '0 2 * * 1'")
            if not croniter.is_valid(self.cron):
                raise ValueError(f"cron={self.cron!r} is not a valid cron expression")
        elif self.cron is not None:
            raise ValueError(f"cron is only used with every='cron' (every={self.every!r})")
        return self

    @property
    def expression(self) -> str:
        """The cron expression this schedule follows (weekly: Monday 00:00, monthly: the 1st)."""
        if self.every == "weekly":
            return "0 0 * * 1"
        if self.every == "monthly":
            return "0 0 1 * *"
        return str(self.cron)


class TriggerRulesConfig(_Section):
    """The rules that turn observations into retraining triggers."""

    degradation: DegradationRuleConfig = Field(default_factory=DegradationRuleConfig)
    consecutive_losses: ConsecutiveLossRuleConfig = Field(default_factory=ConsecutiveLossRuleConfig)
    drift_alerts: DriftAlertRuleConfig = Field(default_factory=DriftAlertRuleConfig)
    schedule: ScheduleRuleConfig = Field(default_factory=ScheduleRuleConfig)


_STAGE_MODELS: dict[str, type[_Section]] = {
    "data_collection": DataCollectionStage,
    "data_validation": DataValidationStage,
    "training": TrainingStage,
    "evaluation": EvaluationStage,
    "staging": StagingStage,
    "production": ProductionStage,
}
# Keys of the review's proposal that describe wiring, not settings; accepted and kept as notes.
_DESCRIPTIVE_KEYS = frozenset({"trigger", "input", "output", "description"})


class PipelineSpec(BaseModel):
    """The whole pipeline: one section per stage plus the trigger rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    data_collection: DataCollectionStage = Field(default_factory=DataCollectionStage)
    data_validation: DataValidationStage = Field(default_factory=DataValidationStage)
    training: TrainingStage = Field(default_factory=TrainingStage)
    evaluation: EvaluationStage = Field(default_factory=EvaluationStage)
    staging: StagingStage = Field(default_factory=StagingStage)
    production: ProductionStage = Field(default_factory=ProductionStage)
    triggers: TriggerRulesConfig = Field(default_factory=TriggerRulesConfig)
    stage_notes: dict[str, dict[str, str]] = Field(default_factory=dict)
    source: str = "<defaults>"


def default_pipeline_path() -> Path:
    """The packaged ``resources/mlops/pipeline.yaml``."""
    ref = resources.files("ordinis.engines.learning").joinpath("resources/mlops/pipeline.yaml")
    return Path(str(ref))


def load_pipeline_spec(path: str | Path | None = None) -> PipelineSpec:
    """Load and validate ``pipeline.yaml`` (default: the packaged one); raise one ConfigError."""
    file = Path(path) if path is not None else default_pipeline_path()
    what = f"pipeline config {file}"
    if not file.exists():
        raise ConfigError(what, [FieldProblem("path", str(file), "file does not exist")])
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(what, [FieldProblem("<yaml>", None, f"not valid YAML: {exc}")]) from None
    return pipeline_spec_from_mapping(data, source=str(file))


def write_pipeline_variant(
    path: str | Path,
    stages: Mapping[str, Mapping[str, Any]] | None = None,
    triggers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write the packaged pipeline.yaml with some stage and trigger settings replaced.

    ``stages`` maps a stage name to the keys to set on it; ``triggers`` a rule name to its
    keys. The result is validated before it is written, so a bad override fails here.
    """
    data = yaml.safe_load(default_pipeline_path().read_text(encoding="utf-8"))
    by_name = {stage["name"]: stage for stage in data["stages"]}
    for name, updates in (stages or {}).items():
        if name not in by_name:
            raise ConfigError(
                "pipeline variant",
                [FieldProblem("stages", name, f"no such stage; known: {', '.join(by_name)}")],
            )
        by_name[name].update(updates)
    for name, updates in (triggers or {}).items():
        data["triggers"].setdefault(name, {}).update(updates)
    out = Path(path)
    pipeline_spec_from_mapping(data, source=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def pipeline_spec_from_mapping(data: Any, source: str = "<mapping>") -> PipelineSpec:
    """Validate an already-parsed pipeline mapping (``version``, ``stages`` list, ``triggers``)."""
    what = f"pipeline config {source}"
    if not isinstance(data, dict):
        raise ConfigError(
            what,
            [FieldProblem("<root>", type(data).__name__, "must be a mapping with a 'stages' list")],
        )
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {"source": source}
    notes: dict[str, dict[str, str]] = {}
    for key in data:
        if key not in ("version", "stages", "triggers"):
            problems.append(
                FieldProblem(
                    str(key), data[key], "unknown top-level key; use version, stages, triggers"
                )
            )
    version = data.get("version", 1)
    if version != 1:
        problems.append(
            FieldProblem("version", version, "unsupported version; this engine reads 1")
        )
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        problems.append(
            FieldProblem("stages", stages, "must be a non-empty list of {name: <stage>, ...}")
        )
        stages = []
    seen: set[str] = set()
    for i, raw in enumerate(stages):
        where = f"stages[{i}]"
        if not isinstance(raw, dict) or "name" not in raw:
            problems.append(FieldProblem(where, raw, "each stage must be a mapping with a 'name'"))
            continue
        name = raw["name"]
        if name not in _STAGE_MODELS:
            problems.append(
                FieldProblem(
                    f"{where}.name", name, f"unknown stage; known stages: {', '.join(STAGE_NAMES)}"
                )
            )
            continue
        if name in seen:
            problems.append(FieldProblem(f"{where}.name", name, "stage listed twice"))
            continue
        seen.add(name)
        fields = {k: v for k, v in raw.items() if k != "name" and k not in _DESCRIPTIVE_KEYS}
        for key, why in _REFUSED_KEYS.get(name, {}).items():
            if key in fields:
                problems.append(FieldProblem(f"{where} ({name}).{key}", fields.pop(key), why))
        notes[name] = {k: str(v) for k, v in raw.items() if k in _DESCRIPTIVE_KEYS}
        model = _STAGE_MODELS[name]
        try:
            values[name] = model.model_validate(fields)
        except PydanticValidationError as exc:
            problems.extend(_problems(exc, f"{where} ({name})"))
    if "triggers" in data:
        try:
            values["triggers"] = TriggerRulesConfig.model_validate(data["triggers"] or {})
        except PydanticValidationError as exc:
            problems.extend(_problems(exc, "triggers"))
    if problems:
        raise ConfigError(what, problems)
    values["stage_notes"] = notes
    return PipelineSpec(**values)


def _problems(exc: PydanticValidationError, prefix: str) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            msg = "unknown field; remove it or check the spelling"
        msg = msg.removeprefix("Value error, ")
        out.append(FieldProblem(f"{prefix}.{loc}" if loc else prefix, err.get("input"), msg))
    return out
