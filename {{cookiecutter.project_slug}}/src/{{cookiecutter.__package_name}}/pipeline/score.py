"""``score``: the champion scores a period of new data; the predictions are published where they outlive the run."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import DataError, feature_table, period_files
from {{ cookiecutter.__package_name }}.io.published import write_predictions

HELP = "Score one period with @champion; publish the predictions (published_dir/predictions/<period>.parquet, MLflow)"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    period: str
    rows: int
    version: str
    path: Path
    run_id: str


def period_rows(settings: Settings, features: pd.DataFrame, period: str) -> pd.DataFrame:
    """The rows of ``features`` scheduled in ``period``."""
    when = settings.data.time_column
    if not when:
        raise DataError("data.time_column is null: the cycle needs a time column to cut the data into periods")
    return features[P.periods_of(features[when], settings.operate.period) == period]


def run(settings: Settings, features: pd.DataFrame, period: str) -> Scored:
    """Score the period's rows (labelled or not) with @champion; write and log them with their provenance."""
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION)
    if champion is None:
        raise tracking.RegistryError(f"{registry.name} has no @champion: nothing can score {period}")
    rows = period_rows(settings, features, period)
    if rows.empty:
        raise DataError(f"no rows of {period} in {settings.raw_dir}: ingest it first (make ingest ENV={settings.env})")
    key, when = settings.data.id_column, settings.data.time_column
    scored = pd.DataFrame({key: rows[key].astype(str).to_numpy(), when: rows[when].to_numpy()})
    scored["period"] = period
    scored["prediction"] = task_spec(settings.task).scores(champion.model, rows[list(champion.inputs)])
    scored["model_name"], scored["model_version"], scored["model_alias"] = champion.name, champion.version, "champion"
    scored["as_of"] = period
    scored["scored_at"] = pd.Timestamp(datetime.now(UTC))
    path = write_predictions(settings, period, scored)
    run_id = registry.log_published(
        f"score-{period}",
        experiment="scoring",
        tags={"period": period, "model_version": champion.version, "rows": str(len(scored))},
        artifacts=(path,),
    )
    log.info("scored %s: %d rows with v%s", period, len(scored), champion.version)
    return Scored(period, len(scored), champion.version, path, run_id)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", help="the period to score (default: the newest ingested)")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    period = args.period or max(period_files(settings, "flights"), default=None)
    if period is None:
        raise DataError(f"{settings.raw_dir} holds no periods yet: make ingest ENV={settings.env}")
    result = run(settings, feature_table(settings, labelled_only=False), period)
    print(f"scored {result.period}: {result.rows:,} rows by {settings.tracking.registered_model} v{result.version}")
    print(f"  published  {result.path}")
    print(f"  logged     MLflow run {result.run_id} (experiment {settings.tracking.experiment}-scoring)")
    return 0
