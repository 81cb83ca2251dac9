"""LearningEngineConfig: every setting, validated at load with one error listing all problems.

Load order: defaults, then a YAML file, then ``ORDINIS_LEARNING_*`` environment variables,
then keyword overrides. Field names keep the ones the ordinis code uses today.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from ordinis.engines.learning.core.errors import ConfigError, FieldProblem
from ordinis.engines.learning.core.models import RolloutStrategy

ENV_PREFIX = "ORDINIS_LEARNING_"
# Read by the service and the CLI, not settings of the engine (docs/service.md).
SERVICE_ENV = frozenset(
    {"ORDINIS_LEARNING_TOKENS", "ORDINIS_LEARNING_URL", "ORDINIS_LEARNING_TOKEN"}
)
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_WINDOW = re.compile(rf"^{_DAY}(-{_DAY})? ([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class LearningEngineConfig(BaseModel):
    """Settings of the LearningEngine. Unknown keys are refused so typos do not pass silently."""

    SETTINGS_FILE: ClassVar[str] = "learning.yaml"
    """The name ``save`` is given in a data dir, which the CLI reads when ``--config`` is absent."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # --- storage and the event pipeline
    data_dir: Path = Field(
        default=Path("data/learning"), description="Where stores and artifacts live"
    )
    store_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://...; default sqlite:///<data_dir>/events.db",
    )
    max_events_memory: int = Field(default=10000, ge=1, description="Event buffer capacity")
    flush_interval_seconds: float = Field(default=1.0, gt=0)
    flush_batch_size: int = Field(
        default=5000, ge=1, description="Buffered events that trigger a flush"
    )
    max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    flush_retry_initial_seconds: float = Field(default=0.05, gt=0)
    flush_retry_max_seconds: float = Field(default=5.0, gt=0)
    event_retention_days: int = Field(
        default=90, ge=1, description="Days of event time kept; recorded in the store"
    )
    retention_policy_change: bool = Field(
        default=False,
        description="Allow event_retention_days to differ from the policy the store records",
    )
    init_store: bool = Field(
        default=False,
        description="Create fresh stores in place of EMPTY (0-byte) files; never a non-empty one",
    )
    retention_check_interval_seconds: float = Field(default=3600.0, gt=0)
    max_block_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long a synchronous record_event waits for buffer space while the "
        "writer thread drains, before BufferFullError (like Kafka's max.block.ms)",
    )
    call_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Default bound of every awaited trading-path call (record_*, "
        "flush_events, record_event_durable) before CallTimeoutError",
    )
    freeze_startup_heap: bool = Field(
        default=True,
        description="Freeze the heap at start (gc.freeze; the last engine to stop unfreezes) "
        "so full garbage collections walk only newer objects and do not stall the host's "
        "event loop for up to a second; False when the host manages gc itself",
    )
    gate_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        description="Default bound of should_allow_signals/should_allow_execution",
    )
    exit_flush_timeout_seconds: float = Field(
        default=5.0,
        ge=0,
        description="At interpreter exit without shutdown(), how long the exit hook may "
        "spend committing buffered events",
    )
    shutdown_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long shutdown() waits for the writer to commit what is buffered",
    )

    # --- which events are collected
    collect_signals: bool = True
    collect_executions: bool = True
    collect_portfolio_events: bool = True
    collect_risk_events: bool = True
    collect_predictions: bool = True
    collect_metrics: bool = True

    # --- training
    min_samples_for_training: int = Field(default=1000, ge=1)
    training_batch_size: int = Field(
        default=256,
        ge=1,
        description="kept because ordinis hosts set it; the built-in trainers do not batch",
    )
    max_concurrent_jobs: int = Field(default=2, ge=1)
    training_backend: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster to join (e.g. 'auto' or 'ray://head:10001'); default: the "
        "running local Ray, or a new one",
    )
    training_job_timeout_seconds: float = Field(default=3600.0, gt=0)
    training_max_retries: int = Field(default=2, ge=0)
    requeue_interrupted_jobs: bool = False
    mlflow_tracking_uri: str | None = Field(
        default=None, description="default sqlite:///<data_dir>/mlflow.db with artifacts beside it"
    )

    # --- evaluation
    require_eval_pass: bool = True
    eval_benchmark_threshold: float = Field(default=0.95, gt=0, le=1)
    cross_validation_folds: int = Field(default=5, ge=2)
    transaction_cost_bps: float = Field(default=1.0, ge=0)
    slippage_bps: float = Field(default=1.0, ge=0)
    bootstrap_resamples: int = Field(default=10000, ge=100)
    eval_min_oos_rows: int = Field(
        default=60,
        ge=20,
        description="a pack with fewer out-of-sample rows (after the clock cut and the training "
        "window exclusion) is skipped",
    )

    # --- drift and the closed loop
    enable_drift_detection: bool = True
    drift_check_interval_seconds: float = Field(default=3600.0, gt=0)
    drift_threshold_pct: float = Field(default=0.10, gt=0, lt=10)
    auto_retrain_enabled: bool = True
    live_metrics_window: int = Field(
        default=500, ge=10, description="Periods of the book in the live rolling window"
    )
    retrain_cooldown_seconds: float = Field(default=6 * 3600.0, ge=0)
    max_retrains_per_day: int = Field(default=3, ge=1)
    pipeline_config_path: Path | None = None

    # --- rollout (ordinis host fields; the rollout controller reads them)
    default_rollout_strategy: RolloutStrategy = RolloutStrategy.CANARY
    canary_percentage: float = Field(default=0.10, gt=0, le=1)
    shadow_mode_duration_seconds: float = Field(default=86400.0, ge=0)
    allow_immediate_rollout: bool = Field(
        default=False, description="IMMEDIATE rollouts (emergencies only) need this and a reason"
    )
    rollout_check_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often rollouts close periods and decide"
    )

    # --- registry and governance
    model_version_retention: int = Field(default=10, ge=1)
    enable_governance: bool = True
    approval: Literal["auto", "manual"] = Field(
        default="auto",
        description="manual: a production promotion needs an approver other than the requester",
    )
    production_min_staged_seconds: float = Field(
        default=0.0, ge=0, description="Minimum time in staging/shadow/canary before production"
    )
    change_windows: list[str] = Field(
        default_factory=list,
        description="UTC windows for production promotions, e.g. 'mon-fri 13:30-20:00'",
    )
    allowed_model_types: list[str] = Field(
        default_factory=lambda: ["signal", "risk", "llm", "ensemble"]
    )

    # --- safety
    breaker_recovery_timeout_seconds: float = Field(default=300.0, gt=0)
    breaker_max_consecutive_losses: int = Field(default=5, ge=1)
    breaker_max_drawdown_pct: float = Field(default=0.10, gt=0, le=1)

    # --- observability (docs/observability.md)
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve Prometheus /metrics on this port (0: any free port); None: no endpoint",
    )
    metrics_host: str = Field(default="127.0.0.1", min_length=1)
    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces URL; None: the exporter's default"
    )
    loop_lag_probe_seconds: float | None = Field(
        default=1.0, gt=0, description="Measure the host loop's lag this often; None: off"
    )

    @field_validator("change_windows")
    @classmethod
    def _check_change_windows(cls, v: list[str]) -> list[str]:
        for text in v:
            if not _WINDOW.match(text.strip().lower()):
                raise ValueError(
                    f"change window {text!r} is not understood; write windows like "
                    "'mon-fri 13:30-20:00' (days, then UTC HH:MM-HH:MM)"
                )
        return v

    @field_validator("store_url")
    @classmethod
    def _check_store_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError(
                "must start with sqlite:/// (e.g. sqlite:///data/events.db) or postgresql:// "
                "(e.g. postgresql://user@127.0.0.1:5432/db)"
            )
        return v

    @model_validator(mode="after")
    def _check_relations(self) -> LearningEngineConfig:
        if self.flush_retry_max_seconds < self.flush_retry_initial_seconds:
            raise ValueError(
                "flush_retry_max_seconds must be >= flush_retry_initial_seconds "
                f"({self.flush_retry_max_seconds} < {self.flush_retry_initial_seconds})"
            )
        return self

    def __init__(self, **values: Any) -> None:
        """Validate; every problem is reported in one ConfigError naming the fields."""
        try:
            super().__init__(**values)
        except PydanticValidationError as exc:
            raise _config_error(exc, "LearningEngineConfig") from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except PydanticValidationError as exc:
            raise _config_error(exc, "LearningEngineConfig") from None

    # ------------------------------------------------------------------ derived values
    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{(self.data_dir / 'events.db').as_posix()}"

    @property
    def resolved_mlflow_uri(self) -> str:
        return (
            self.mlflow_tracking_uri
            or f"sqlite:///{(self.data_dir / 'mlflow.db').resolve().as_posix()}"
        )

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    # ------------------------------------------------------------------ loading
    @classmethod
    def create(cls, **values: Any) -> LearningEngineConfig:
        """Build from keyword values, turning pydantic's errors into one ConfigError."""
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> LearningEngineConfig:
        """Load a YAML mapping (optionally under a top-level ``learning:`` key)."""
        return cls.load(path=path, env=False, **overrides)

    @classmethod
    def load(
        cls, path: str | Path | None = None, env: bool = True, **overrides: Any
    ) -> LearningEngineConfig:
        """Defaults < YAML file < ``ORDINIS_LEARNING_*`` environment < keyword overrides."""
        values: dict[str, Any] = {}
        source = "LearningEngineConfig"
        if path is not None:
            values.update(_read_yaml(Path(path)))
            source = f"config file {path}"
        if env:
            values.update(_read_env(os.environ))
        values.update(overrides)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(source, exc.problems) from None

    @classmethod
    def settings_in(cls, data_dir: str | Path) -> Path | None:
        """The settings file of a data dir (``SETTINGS_FILE``, as the demo saves it), if any."""
        path = Path(data_dir) / cls.SETTINGS_FILE
        return path if path.is_file() else None

    def save(self, path: str | Path) -> Path:
        """Write the settings that differ from the defaults as YAML that ``load`` reads back.

        A store URL with a password is refused rather than written into a file: keep it in
        ``ORDINIS_LEARNING_STORE_URL``, which ``load`` reads.
        """
        if self.store_url and urlsplit(self.store_url).password:
            raise ConfigError("LearningEngineConfig.save", [FieldProblem(
                "store_url", "<with a password>",
                "not written to a file: set it in ORDINIS_LEARNING_STORE_URL instead, and save "
                "a copy without it (config.model_copy(update={'store_url': None}))")])
        values = self.model_dump(mode="json", exclude_defaults=True)
        target = Path(path)
        target.write_text(yaml.safe_dump(values, sort_keys=True), encoding="utf-8")
        return target


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(str(path), [FieldProblem("path", str(path), "file does not exist")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"config file {path}", [FieldProblem("<yaml>", None, f"not valid YAML: {exc}")]
        ) from None
    if data is None:
        return {}
    if isinstance(data, dict) and isinstance(data.get("learning"), dict) and len(data) == 1:
        data = data["learning"]
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path}",
            [FieldProblem("<root>", type(data).__name__, "must be a mapping of field: value")],
        )
    return {str(k): v for k, v in data.items()}


def _read_env(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    fields = LearningEngineConfig.model_fields
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key in SERVICE_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in fields:
            raise ConfigError(
                "environment",
                [FieldProblem(key, raw, f"unknown setting; known: {', '.join(sorted(fields))}")],
            )
        if raw.startswith("[") or raw.startswith("{"):
            out[name] = yaml.safe_load(raw)
        else:
            out[name] = raw
    return out


def _config_error(exc: PydanticValidationError, source: str) -> ConfigError:
    problems: list[FieldProblem] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "<config>"
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            msg = "unknown setting; remove it or check the spelling"
        problems.append(FieldProblem(loc, err.get("input"), msg))
    return ConfigError(source, problems)
