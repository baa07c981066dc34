"""Batch-inference benchmark: the predict step against a hand-written pyarrow -> model -> parquet baseline.

Measures a baked project with a champion in its dev registry (`make bench-project` bakes one and runs its pipeline).
Writes its input files under bench/.work/ and prints a Markdown table for docs/benchmarks.md.
For each input size (1x = 1,000,000 rows, 10x = 10,000,000 rows) it runs each contender in a
fresh process, so the peak resident memory (ru_maxrss) belongs to that contender alone. The contenders: the
baseline (the scikit-learn model), the predict step as it runs (the champion's ONNX export when validation verified
it), and the predict step on the scikit-learn flavour (`pipeline-sklearn`).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from project import ROOT, WORK, contender_arguments, measure, module

ROW_GROUP = 100_000


def make_input(rows: int) -> Path:
    """Repeat the dev batch until ``rows`` rows, with unique ids, in row groups of 100k."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    settings = module("config").load_settings("dev", ROOT)
    path = WORK / f"batch_{rows}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    seed = pq.read_table(ROOT / settings.output_dir / "batch.parquet")
    key = settings.data.id_column
    partial = path.with_suffix(".partial")
    with pq.ParquetWriter(partial, seed.schema) as writer:
        written, copy = 0, 0
        while written < rows:
            part = seed.slice(0, min(seed.num_rows, rows - written))
            ids = pa.array([f"{value}#{copy}" for value in part[key].to_pylist()], type=seed.schema.field(key).type)
            part = part.set_column(part.schema.get_field_index(key), seed.schema.field(key), ids)
            writer.write_table(part, row_group_size=ROW_GROUP)
            written, copy = written + part.num_rows, copy + 1
    partial.replace(path)
    return path


def contender_pipeline(source: Path, target: Path) -> None:
    settings = module("config").load_settings("dev", ROOT)
    module("pipeline.predict").run(settings, source, target)


def contender_baseline(source: Path, target: Path) -> None:
    """The hand-written reference: read everything, predict, write. No validation, no chunking."""
    import mlflow
    import pyarrow as pa
    import pyarrow.parquet as pq

    settings = module("config").load_settings("dev", ROOT)
    mlflow.set_tracking_uri(settings.tracking_uri)
    uri = f"models:/{settings.tracking.registered_model}@champion"
    model = mlflow.sklearn.load_model(uri)
    inputs = mlflow.models.get_model_info(uri).signature.inputs.input_names()
    frame = pq.read_table(source).to_pandas()
    scores = module("core.task").task_spec(settings.task).scores(model, frame[inputs])
    out = pa.table({settings.data.id_column: frame[settings.data.id_column], "prediction": scores})
    pq.write_table(out, target)


def contender_pipeline_sklearn(source: Path, target: Path) -> None:
    """The predict step with the ONNX flavour switched off."""
    from sklearn_only import scikit_learn_only

    module("io.tracking").Registry.load = scikit_learn_only
    contender_pipeline(source, target)


CONTENDERS = {
    "baseline": contender_baseline,
    "pipeline": contender_pipeline,
    "pipeline-sklearn": contender_pipeline_sklearn,
}


def child(name: str, source: Path) -> None:
    """Run one contender in this process; print seconds and peak RSS as JSON."""
    target = WORK / f"out_{name}.parquet"
    run = CONTENDERS[name]
    started = time.perf_counter()
    run(source, target)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def main() -> int:
    args = contender_arguments(__doc__, list(CONTENDERS))
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    print("| input | contender | rows/s | seconds | peak RSS (MB) |\n| --- | --- | ---: | ---: | ---: |")
    results = {}
    for factor in args.factors:
        rows = args.rows * factor
        source = make_input(rows)
        for name in args.contenders:
            result = measure(__file__, name, source)
            results[(factor, name)] = result
            print(
                f"| {factor}x ({rows:,} rows) | {name} | {rows / result['seconds']:,.0f} | "
                f"{result['seconds']:.1f} | {result['peak_mb']:,.0f} |",
                flush=True,
            )
    first, last = args.factors[0], args.factors[-1]
    for name in ("baseline", "pipeline-sklearn"):
        if (first, name) in results and (first, "pipeline") in results:
            ratio = results[(first, name)]["seconds"] / results[(first, "pipeline")]["seconds"]
            print(f"\npipeline throughput / {name} at {first}x: {ratio:.2f}")
    if last != first and (last, "pipeline") in results and (first, "pipeline") in results:
        growth = results[(last, "pipeline")]["peak_mb"] / results[(first, "pipeline")]["peak_mb"]
        print(f"pipeline peak memory {last}x / {first}x: {growth:.2f} (flat means close to 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
