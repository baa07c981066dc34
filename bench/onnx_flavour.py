"""The champion's two flavours side by side, in one process: scikit-learn and its ONNX export in onnxruntime.

Measures a baked project whose dev @champion passed validation with a verified ONNX export (`make bench-onnx` bakes
one and runs its pipeline). Loads both flavours through the project's own registry adapter, checks they give the
same scores on the batch to score, then times them in turns (A B A B ...), so a change in the machine's speed hits
all alike:

- one row: scikit-learn on a one-row data frame (with OpenMP's default threads, and capped at one thread as the
  server's scoring thread is), the ONNX export on the same frame, and on one record (a dict, what the server
  passes it);
- batches of 8 and 256 rows (what the server's micro-batches hold) and 100,000 rows (a chunk of `predict`), from a
  data frame: scikit-learn with OpenMP's default threads, the ONNX export with onnxruntime's one thread (as the
  project runs it) and with two.

Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from project import ROOT, module


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def in_turns(contenders: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, list[float]]:
    """Seconds per call of each contender: ``rounds`` turns, each contender timed over ``calls`` calls per turn."""
    for call in contenders.values():  # warm-up
        call()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, call in contenders.items():
            seconds[name].append(timed(lambda call=call: [call() for _ in range(calls)]) / calls)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="turns of every contender (default 15)")
    args = parser.parse_args()
    settings = module("config").load_settings("dev", ROOT)
    tracking, onnx_export = module("io.tracking"), module("core.onnx_export")
    spec = module("core.task").task_spec(settings.task)
    registry = tracking.connect(settings)
    version = registry.version_by_alias(tracking.CHAMPION)
    if version is None or version.tags.get(tracking.ONNX_TAG) != tracking.ONNX_VERIFIED:
        tags = "no @champion" if version is None else f"onnx tag: {version.tags.get(tracking.ONNX_TAG)!r}"
        sys.exit(f"the dev @champion has no verified ONNX export ({tags}): run `make pipeline` in {ROOT}")
    sklearn_model = registry.load(version).model
    served = registry.load(version, prefer_onnx=True)
    onnx_model = served.model
    two_threads = onnx_export.OnnxPipeline(registry.onnx_model(version), threads=2)
    inputs = list(served.inputs)

    batch = pd.read_parquet(ROOT / settings.output_dir / "batch.parquet")[inputs]
    big = pd.concat([batch] * (100_000 // len(batch) + 1), ignore_index=True).head(100_000)
    parity = onnx_export.parity(spec.scores, sklearn_model, onnx_model, batch)
    one = batch.head(1)
    record = json.loads(one.to_json(orient="records"))

    print(
        f"champion v{version.version} ({settings.task}); onnx tag {version.tags[tracking.ONNX_TAG]}, "
        f"parity on the {len(batch):,}-row batch: {parity.describe()}"
    )
    print(
        f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"at start; {time.strftime('%Y-%m-%d %H:%M')}\n"
    )

    with ThreadPoolExecutor(1, initializer=module("serving.scoring").one_openmp_thread) as one_thread:
        latency = in_turns(
            {
                "scikit-learn, one-row data frame": lambda: spec.scores(sklearn_model, one),
                "scikit-learn, one-row data frame, one OpenMP thread": lambda: one_thread.submit(
                    spec.scores, sklearn_model, one
                ).result(),
                "ONNX, one-row data frame": lambda: spec.scores(onnx_model, one),
                "ONNX, one record (as served)": lambda: spec.scores(onnx_model, record),
            },
            args.rounds,
            calls=20,
        )
    floor = statistics.median(latency["scikit-learn, one-row data frame"])
    print("| one row | median (ms) | min (ms) | scikit-learn's median / this one |\n| --- | ---: | ---: | ---: |")
    for name, seconds in latency.items():
        median = statistics.median(seconds)
        print(f"| {name} | {median * 1e3:.3f} | {min(seconds) * 1e3:.3f} | {floor / median:.1f} |")

    print(
        "\n| rows per call | scikit-learn rows/s | scikit-learn, 1 OpenMP thread | ONNX rows/s, 1 thread "
        "| ONNX, 2 threads | ONNX (1 thread) / best scikit-learn |\n| ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    with ThreadPoolExecutor(1, initializer=module("serving.scoring").one_openmp_thread) as one_thread:
        for rows, calls in ((8, 20), (256, 5), (100_000, 1)):
            frame = big.head(rows)
            seconds = in_turns(
                {
                    "sklearn": lambda frame=frame: spec.scores(sklearn_model, frame),
                    "sklearn1": lambda frame=frame: one_thread.submit(spec.scores, sklearn_model, frame).result(),
                    "onnx": lambda frame=frame: spec.scores(onnx_model, frame),
                    "onnx2": lambda frame=frame: spec.scores(two_threads, frame),
                },
                max(3, args.rounds // (3 if rows == 100_000 else 1)),
                calls,
            )
            rate = {name: rows / statistics.median(values) for name, values in seconds.items()}
            print(
                f"| {rows:,} | {rate['sklearn']:,.0f} | {rate['sklearn1']:,.0f} | {rate['onnx']:,.0f} | "
                f"{rate['onnx2']:,.0f} | {rate['onnx'] / max(rate['sklearn'], rate['sklearn1']):.1f} × |",
                flush=True,
            )
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
