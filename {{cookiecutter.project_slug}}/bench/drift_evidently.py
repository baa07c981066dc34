"""The Evidently side of the drift benchmark; runs in its own environment (see bench/drift_speed.py).

Reads the reference and current parquet files, runs Evidently's DataDriftPreset twice with the statistics the
project uses (KS for numeric and chi-square for categorical columns at significance `alpha`; then PSI at `psi`),
and writes each column's scores, Evidently's own verdicts (its per-column tests) and the seconds taken as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import pandas as pd


def run(reference: pd.DataFrame, current: pd.DataFrame, definition, preset) -> dict[str, dict]:
    """Scores and verdicts per column from one Evidently report."""
    from evidently import Dataset, Report

    result = Report([preset], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    payload = result.dict()
    scores = {
        metric["config"]["column"]: float(metric["value"])
        for metric in payload["metrics"]
        if metric["config"]["type"].endswith(":ValueDrift")
    }
    verdicts = {
        test["metric_config"]["params"]["column"]: test["status"] == "FAIL"
        for test in payload["tests"]
        if test["metric_config"]["params"]["type"].endswith(":ValueDrift")
    }
    return {column: {"score": scores[column], "drifted": verdicts[column]} for column in scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("--numeric", required=True, help="comma-separated numeric columns")
    parser.add_argument("--categorical", required=True, help="comma-separated categorical columns")
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--psi", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import evidently
    from evidently import DataDefinition
    from evidently.presets import DataDriftPreset

    reference, current = pd.read_parquet(args.reference), pd.read_parquet(args.current)
    definition = DataDefinition(
        numerical_columns=args.numeric.split(","), categorical_columns=args.categorical.split(",")
    )
    started = time.perf_counter()
    tests = run(
        reference, current, definition, DataDriftPreset(num_method="ks", cat_method="chisquare", threshold=args.alpha)
    )
    tests_seconds = time.perf_counter() - started
    started = time.perf_counter()
    psi = run(reference, current, definition, DataDriftPreset(method="psi", threshold=args.psi))
    psi_seconds = time.perf_counter() - started
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "version": evidently.__version__,
                "tests": tests,
                "psi": psi,
                "tests_seconds": tests_seconds,
                "psi_seconds": psi_seconds,
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
