"""Where things stand: the registry's aliases, the champion's figures and the latest predictions."""

from __future__ import annotations

import argparse

import pyarrow.parquet as pq

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path

HELP = "Print the registry's champion/challenger/previous versions, their figures, and where to look next"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    registry = tracking.connect(settings)
    print(f"\n== {registry.name} ({settings.env}) in {settings.tracking_uri} ==")
    champion = None
    for alias in (tracking.CHAMPION, tracking.CHALLENGER, tracking.PREVIOUS):
        version = registry.version_by_alias(alias)
        if version is None:
            print(f"  @{alias:<18} -")
            continue
        champion = version if alias == tracking.CHAMPION else champion
        metrics = registry.client.get_run(version.run_id).data.metrics
        key = f"holdout_{'roc_auc' if settings.task == 'classification' else 'mae'}"
        figure = f"{key.removeprefix('holdout_')} {metrics[key]:.4f}" if key in metrics else "not evaluated"
        status = version.tags.get(tracking.STATUS_TAG, "not validated")
        commit = version.tags.get("git_commit", "?")[:10]
        print(f"  @{alias:<18} v{version.version:<4} {status:<8} {figure}  commit {commit}")
    root = settings.root.resolve()
    predictions = root / output_path(settings, "predictions.parquet")
    print("\nWhere to look:")
    print(f"  MLflow UI      cd {root} && make mlflow-ui   (then open http://127.0.0.1:5000)")
    if champion is not None:
        print(f"  champion       {registry.uri(tracking.CHAMPION)}  (version {champion.version})")
    if predictions.is_file():
        print(f"  predictions    {predictions}  ({pq.ParquetFile(predictions).metadata.num_rows:,} rows)")
    print(f"  metrics/plots  {root / output_path(settings, 'metrics.json')}, {root / output_path(settings, 'plots')}/")
    return 0
