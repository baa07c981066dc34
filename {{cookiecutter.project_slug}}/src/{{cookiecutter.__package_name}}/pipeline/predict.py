"""Step 6, batch inference: score a parquet file with @champion, in chunks, written atomically."""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.explain import Explainer, ExplanationError
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import spark, tracking
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path
from {{ cookiecutter.__package_name }}.io.files import atomic_path, check_write_allowed

HELP = "Score a batch (default: data/<env>/batch.parquet) with @champion into data/<env>/predictions.parquet"
log = logging.getLogger(__name__)
MLFLOW_TYPES = {"string": str, "double": float, "float": float, "long": float, "integer": float, "boolean": bool}


class InputSchemaError(ValueError):
    """The batch does not match the model's input schema; the message lists every problem, each naming its column."""


@dataclass(frozen=True)
class Scored:
    rows: int
    version: str
    seconds: float
    path: Path


def input_schema(settings: Settings, kinds: dict[str, str]) -> pa.DataFrameSchema:
    """A strict pandera schema: the row key, the timestamp and the model inputs (name: MLflow type), nothing else."""
    columns = {settings.data.id_column: pa.Column(str, nullable=False)}
    if settings.data.time_column:
        columns[settings.data.time_column] = pa.Column("datetime64[ns]", nullable=False, coerce=True)
    for name, kind in kinds.items():
        dtype = MLFLOW_TYPES.get(kind, object)
        columns[name] = pa.Column(dtype, nullable=True, coerce=dtype is float)
    return pa.DataFrameSchema(columns, strict=True)


def describe(errors: pa.errors.SchemaErrors) -> str:
    """One line per problem, each naming its column."""
    lines = []
    for case in errors.failure_cases.drop_duplicates(["column", "check"]).itertuples():
        check, found = str(case.check), case.failure_case
        if check == "column_in_dataframe":
            lines.append(f"column '{found}': missing (the model needs it)")
        elif check == "column_in_schema":
            lines.append(f"column '{found}': not expected (the input schema is strict)")
        elif check.startswith("dtype("):
            lines.append(f"column '{case.column}': expected type {check[6:-1]}, found {found}")
        elif check == "not_nullable":
            lines.append(f"column '{case.column}': has missing values")
        else:
            lines.append(f"column '{case.column}': fails {check} (e.g. {found!r})")
    return "\n  ".join(lines)


def validate_chunk(schema: pa.DataFrameSchema, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise InputSchemaError(f"{where} does not match the model's input schema:\n  {describe(errors)}") from None


def default_batch(settings: Settings) -> Path:
    return output_path(settings, "batch.parquet")


def no_champion(settings: Settings, registry: tracking.Registry) -> tracking.RegistryError:
    """What both engines say when there is nothing to score with."""
    return tracking.RegistryError(
        f"{registry.name} has no @champion: no version has passed validation and been promoted yet. "
        f"`make status ENV={settings.env}` lists the versions and their verdicts"
    )


def run_spark(settings: Settings, batch_path: Path, target: Path) -> Scored:
    """``engine: spark``: the same checks, then ``mlflow.pyfunc.spark_udf`` on ``models:/<name>@champion`` scores the
    batch into partitioned parquet (a folder at ``target``) with the same provenance columns, published at once."""
    check_write_allowed(settings, target)
    registry = tracking.connect(settings)
    version = registry.version_by_alias(tracking.CHAMPION)
    if version is None:
        raise no_champion(settings, registry)
    kinds = registry.input_kinds(version.version) or {}
    source = settings.path(batch_path)
    started = time.perf_counter()
    batch = spark.read_batch(settings, source)
    validate_chunk(input_schema(settings, kinds), spark.empty_pandas(batch), str(source))
    provenance = {
        "model_name": registry.name,
        "model_version": str(version.version),
        "model_alias": tracking.CHAMPION,
        "scored_at": datetime.now(UTC).isoformat(),
    }
    probability = task_spec(settings.task).pyfunc_predict_fn == "predict_proba"
    scored = spark.score(settings, batch, registry.uri(tracking.CHAMPION), list(kinds), provenance, target,
                         probability=probability)  # fmt: skip
    return Scored(scored.rows, str(version.version), time.perf_counter() - started, scored.path)


def run(settings: Settings, batch_path: Path, target: Path, explain: bool = False) -> Scored:
    """Validate the whole file's columns first, then stream it chunk by chunk into ``target`` (atomic). With
    ``explain``, each row also gets its ``governance.explain_top_k`` largest SHAP contributions."""
    check_write_allowed(settings, target)
    spec = task_spec(settings.task)
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION, prefer_onnx=True)  # its ONNX export when verified: faster
    if champion is None:
        raise no_champion(settings, registry)
    inputs = list(champion.inputs)
    schema = input_schema(settings, champion.kinds)
    source = settings.path(batch_path)
    if not source.is_file():
        raise DataError(f"{source}: not found. Build it with `make features ENV={settings.env}`, or pass --input FILE.")
    parquet = pq.ParquetFile(source, pre_buffer=False)  # pre-buffering grows memory with the file size
    # A parquet file has one schema: check columns and types once, on the file's empty table ...
    validate_chunk(schema, parquet.schema_arrow.empty_table().to_pandas(), str(source))
    cap = settings.governance.explain_max_rows
    if explain and parquet.metadata.num_rows > cap:
        raise DataError(
            f"{source}: {parquet.metadata.num_rows:,} rows, and --explain explains at most {cap:,} "
            "(governance.explain_max_rows: each row costs about 2 ms). Score a smaller file, or raise the cap."
        )
    explainer = Explainer(registry.sklearn_model(champion)) if explain else None  # the trees, whichever flavour
    # ... then only what varies by row, chunk by chunk: the key (and the timestamp, if any) must be present.
    keys = [name for name in (settings.data.id_column, settings.data.time_column) if name]
    row_schema = pa.DataFrameSchema({name: schema.columns[name] for name in keys})
    started, rows = time.perf_counter(), 0
    scored_at = pd.Timestamp(datetime.now(UTC))
    key = settings.data.id_column
    with atomic_path(settings.path(target)) as tmp:
        writer = None
        try:
            for index, batch in enumerate(parquet.iter_batches(batch_size=settings.predict.chunk_rows)):
                frame = batch.to_pandas()
                validate_chunk(row_schema, frame[list(row_schema.columns)], f"{source} chunk {index}")
                out = frame[keys].assign(**{key: frame[key].astype(str)})
                out["prediction"] = spec.scores(champion.model, frame[inputs])
                out["model_name"] = champion.name
                out["model_version"] = str(champion.version)
                out["model_alias"] = tracking.CHAMPION
                out["scored_at"] = scored_at
                if explainer is not None:
                    top = explainer.top(frame[inputs], settings.governance.explain_top_k)
                    out = pd.concat([out, top], axis=1)
                table = pa_arrow.Table.from_pandas(out, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += len(out)
                log.info("scored %d rows", rows)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise DataError(f"{source}: no rows to score")
    return Scored(rows, champion.version, time.perf_counter() - started, settings.path(target))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=Path, help="parquet file to score (default: data/<env>/batch.parquet)")
    parser.add_argument("--output", type=Path, help="where to write (default: data/<env>/predictions.parquet)")
    parser.add_argument(
        "--engine", choices=("pandas", "spark"), help="score with this engine instead of the configured one (engine)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add each row's largest SHAP contributions (governance.explain_top_k; at most explain_max_rows rows)",
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    target = args.output or output_path(settings, "predictions.parquet")
    try:
        batch, engine = args.input or default_batch(settings), args.engine or settings.engine
        if engine == "spark" and args.explain:
            raise DataError("--explain runs on the pandas engine only: add --engine pandas")
        if engine == "spark":
            result = run_spark(settings, batch, target)
        else:
            result = run(settings, batch, target, explain=args.explain)
    except (InputSchemaError, DataError, tracking.RegistryError, ExplanationError) as err:
        print(f"error: {err}\nNothing was written; {target} is unchanged.")
        return 1
    rate = result.rows / result.seconds if result.seconds else float("inf")
    print(
        f"\n== predict ({settings.env}): {result.rows:,} rows scored by "
        f"{settings.tracking.registered_model} v{result.version} (@champion) =="
    )
    print(f"  output      {result.path}")
    print(f"  throughput  {rate:,.0f} rows/s")
    return 0
