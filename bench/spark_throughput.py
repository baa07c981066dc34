"""Batch scoring on Spark (local[2]) against the pandas engine, side by side on the same rows (docs/benchmarks.md).

Measures a project baked with engine=spark whose pipeline has run (`make bench-spark` bakes one into
bench/.work/spark/). The inputs are predict_throughput.py's: the dev batch repeated to 1,000,000 and 10,000,000
rows with unique ids. Each contender runs in a fresh process; the figures are its wall time (Spark's includes
starting the JVM and the session) and its driver's peak resident memory: the Python process's ru_maxrss, plus for
Spark the JVM's VmHWM (in local mode the JVM is the driver and the executors in one process; the Python workers that
run the model are not counted). The contenders: the pandas engine as it runs (ONNX flavour when verified), the
pandas engine on the scikit-learn flavour (what spark_udf loads), and the Spark engine.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from predict_throughput import make_input
from project import ROOT, WORK, contender_arguments, measure, module

MASTER = "local[2]"


def _settings(engine: str):
    config = module("config")
    settings = config.load_settings("dev", ROOT)
    spark = config.SparkConfig(master=MASTER, conf={**settings.spark.conf, "spark.driver.memory": "1g"})
    return settings.model_copy(update={"engine": engine, "spark": spark})


def contender_pandas(source: Path, target: Path) -> dict:
    module("pipeline.predict").run(_settings("pandas"), source, target)
    return {}


def contender_pandas_sklearn(source: Path, target: Path) -> dict:
    from sklearn_only import scikit_learn_only

    module("io.tracking").Registry.load = scikit_learn_only
    return contender_pandas(source, target)


def contender_spark(source: Path, target: Path) -> dict:
    settings = _settings("spark")
    module("pipeline.predict").run_spark(settings, source, target)
    session = module("io.spark").session(settings)
    pid = session.sparkContext._gateway.proc.pid  # the JVM: spark-submit execs java in local mode
    status = Path(f"/proc/{pid}/status").read_text()
    jvm_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return {"jvm_mb": jvm_kb / 1024}


CONTENDERS = {"pandas": contender_pandas, "pandas-sklearn": contender_pandas_sklearn, "spark": contender_spark}


def child(name: str, source: Path) -> None:
    target = WORK / f"spark_out_{name}.parquet"
    started = time.perf_counter()
    extra = CONTENDERS[name](source, target)
    seconds = time.perf_counter() - started
    python_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "python_mb": python_mb, "jvm_mb": extra.get("jvm_mb", 0.0)}))


def main() -> int:
    args = contender_arguments(__doc__, list(CONTENDERS))
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    print(
        f"Spark master {MASTER}.\n\n| input | contender | rows/s | seconds | driver peak RSS (MB): Python + JVM |\n"
        "| --- | --- | ---: | ---: | ---: |"
    )
    results = {}
    for factor in args.factors:
        rows = args.rows * factor
        source = make_input(rows)
        for name in args.contenders:
            result = results[(factor, name)] = measure(__file__, name, source)
            memory = f"{result['python_mb']:,.0f}" + (f" + {result['jvm_mb']:,.0f}" if result["jvm_mb"] else "")
            print(
                f"| {factor}x ({rows:,} rows) | {name} | {rows / result['seconds']:,.0f} | {result['seconds']:.1f} | "
                f"{memory} |",
                flush=True,
            )
    first, last = args.factors[0], args.factors[-1]
    print()
    for factor in args.factors:
        for name in ("pandas", "pandas-sklearn"):
            if (factor, name) in results and (factor, "spark") in results:
                ratio = results[(factor, name)]["seconds"] / results[(factor, "spark")]["seconds"]
                print(f"spark throughput / {name} at {factor}x: {ratio:.2f}")
    if last != first:
        for name in args.contenders:
            if (first, name) in results and (last, name) in results:
                a, b = results[(first, name)], results[(last, name)]
                growth = (b["python_mb"] + b["jvm_mb"]) / (a["python_mb"] + a["jvm_mb"])
                print(f"{name}: driver peak memory {last}x / {first}x: {growth:.2f} (flat means close to 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
