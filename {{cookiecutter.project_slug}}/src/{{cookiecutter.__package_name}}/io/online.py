"""The online feature table: the lookups the features join (weather by origin and hour, planes by tail number),
materialised by the pipeline from the raw tables and read by the server, one request's keys at a time.

The default store is a SQLite file next to the environment's other outputs; ``serve.online_store`` takes any
SQLAlchemy URL (e.g. ``postgresql+psycopg2://host/features``) for a store the team's servers share.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.features import WEATHER
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path
from {{ cookiecutter.__package_name }}.io.files import check_write_allowed

log = logging.getLogger(__name__)
WEATHER_TABLE, PLANES_TABLE = "weather_by_origin_hour", "planes_by_tailnum"
HOUR_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # weather_hour is stored as UTC text: one format for every backend


def store_url(settings: Settings) -> str:
    """The configured URL, or the SQLite file data/<env>/online.sqlite of this environment."""
    if settings.serve.online_store:
        return settings.serve.online_store
    return f"sqlite:///{settings.path(output_path(settings, 'online.sqlite')).resolve()}"


def describe(url: str) -> str:
    """The URL as it may be printed: without user and password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class Materialised:
    url: str
    weather_rows: int
    plane_rows: int


def materialise(settings: Settings, obs: pd.DataFrame, fleet: pd.DataFrame) -> Materialised:
    """Replace the store's two tables with ``obs`` and ``fleet`` in one transaction (readers see the old tables or
    the new ones, never a half-written one). A SQLite file is written next to its target and renamed into place."""
    url = store_url(settings)
    weather = obs.assign(weather_hour=obs["weather_hour"].dt.strftime(HOUR_FORMAT))
    target = None
    if url.startswith("sqlite:///") and settings.serve.online_store == "":
        check_write_allowed(settings, output_path(settings, "online.sqlite"))
        target = Path(url.removeprefix("sqlite:///"))
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        staging.unlink(missing_ok=True)
        url = f"sqlite:///{staging}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            weather.to_sql(WEATHER_TABLE, connection, if_exists="replace", index=False)
            fleet.to_sql(PLANES_TABLE, connection, if_exists="replace", index=False)
            connection.execute(
                sa.text(f"CREATE UNIQUE INDEX ix_{WEATHER_TABLE} ON {WEATHER_TABLE} (origin, weather_hour)")
            )
            connection.execute(sa.text(f"CREATE UNIQUE INDEX ix_{PLANES_TABLE} ON {PLANES_TABLE} (tailnum)"))
    except Exception:
        if target is not None:
            staging.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    if target is not None:
        os.replace(staging, target)
    return Materialised(describe(store_url(settings)), len(weather), len(fleet))


class OnlineFeatures:
    """Reads the rows of the two lookups a request needs. Opened lazily; a missing store is reported, not raised,
    so the server starts (and says what is missing on /health/ready) before the pipeline has materialised it."""

    def __init__(self, settings: Settings) -> None:
        self.url = store_url(settings)
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        """Why lookups cannot be served yet, or None."""
        try:
            tables = set(sa.inspect(self._connect()).get_table_names())
        except (sa.exc.SQLAlchemyError, DataError) as err:
            return f"the online feature table at {describe(self.url)} cannot be read ({err})"
        missing = {WEATHER_TABLE, PLANES_TABLE} - tables
        if missing:
            return (
                f"the online feature table at {describe(self.url)} has no {', '.join(sorted(missing))}: "
                "materialise it with `make online ENV=<env>` (part of `make pipeline`)"
            )
        return None

    def _connect(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                if self.url.startswith("sqlite:///") and not Path(self.url.removeprefix("sqlite:///")).is_file():
                    raise DataError(f"{self.url.removeprefix('sqlite:///')} does not exist")
                self._engine = sa.create_engine(self.url)
            return self._engine

    def lookup(self, schedule: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(weather rows, plane rows) for the flights in ``schedule`` (the flights table's shape): the observation of
        the hour before each departure at its origin, and each tail number's plane. Absent keys are simply absent."""
        hours = (pd.to_datetime(schedule["time_hour"], utc=True) - pd.Timedelta(hours=1)).dt.strftime(HOUR_FORMAT)
        pairs = sorted(set(zip(schedule["origin"].astype(str), hours, strict=True)))
        tails = sorted({str(t) for t in schedule["tailnum"] if isinstance(t, str)})
        weather_query = sa.text(f"SELECT * FROM {WEATHER_TABLE} WHERE origin = :origin AND weather_hour = :hour")
        planes_query = sa.text(f"SELECT * FROM {PLANES_TABLE} WHERE tailnum IN :tails").bindparams(
            sa.bindparam("tails", expanding=True)
        )
        with self._connect().connect() as connection:
            weather_rows = [
                row._asdict()
                for origin, hour in pairs
                for row in connection.execute(weather_query, {"origin": origin, "hour": hour})
            ]
            plane_rows = [row._asdict() for row in connection.execute(planes_query, {"tails": tails})] if tails else []
        obs = pd.DataFrame(weather_rows, columns=["origin", *WEATHER, "weather_hour"])
        obs["weather_hour"] = pd.to_datetime(obs["weather_hour"], utc=True)
        obs["origin"] = obs["origin"].astype(object)
        fleet = pd.DataFrame(plane_rows, columns=["tailnum", "built", "seats", "engine"])
        fleet = fleet.astype({"tailnum": object, "built": "float64", "seats": "float64", "engine": object})
        return obs, fleet

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
