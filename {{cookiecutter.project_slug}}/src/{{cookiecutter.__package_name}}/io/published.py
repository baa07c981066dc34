"""What the production cycle publishes (``published_dir``, DVC-tracked): scored periods and the monitoring history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.files import write_atomic

HISTORY = Path("monitoring") / "history.parquet"


def predictions_path(settings: Settings, period: str) -> Path:
    return Path(settings.published_dir) / "predictions" / f"{period}.parquet"


def write_predictions(settings: Settings, period: str, frame: pd.DataFrame) -> Path:
    return write_atomic(settings, predictions_path(settings, period), lambda tmp: frame.to_parquet(tmp, index=False))


def read_predictions(settings: Settings, period: str) -> pd.DataFrame | None:
    path = settings.path(predictions_path(settings, period))
    return pd.read_parquet(path) if path.is_file() else None


def read_history(settings: Settings) -> pd.DataFrame:
    """One row per period per check (empty at first)."""
    path = settings.path(Path(settings.published_dir) / HISTORY)
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def write_history(settings: Settings, history: pd.DataFrame) -> Path:
    return write_atomic(
        settings, Path(settings.published_dir) / HISTORY, lambda tmp: history.to_parquet(tmp, index=False)
    )


def write_report(settings: Settings, name: str, page: str) -> Path:
    return write_atomic(settings, Path(settings.published_dir) / "reports" / name, lambda tmp: tmp.write_text(page))


def data_pointers(settings: Settings) -> list[Path]:
    """The DVC pointers of an environment's data: its raw folder and what its cycle published."""
    return [Path(f"{settings.raw_dir}.dvc"), Path(f"{settings.published_dir}.dvc")]
