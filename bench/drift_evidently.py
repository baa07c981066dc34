"""The Evidently side of the drift benchmark; runs in its own environment (see bench/drift_speed.py).

Reads the reference and current parquet files, runs Evidently's DataDriftPreset with the statistics the project
uses (KS for numeric and chi-square for categorical columns at significance `alpha`; then PSI at `psi`), and writes
each column's scores, Evidently's own verdicts (its per-column tests) and the seconds taken as JSON.

Evidently's built-in `chisquare` is a goodness-of-fit test against the reference's shares, not the two-sample test
this project uses; a third run registers the project's own test function through Evidently's custom stat-test API
and applies it to the categorical columns, so verdicts can also be compared on the very same statistic.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

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


def register_two_sample_chi_square(src: str, package: str) -> str:
    """The project's categorical test, ``core.drift.categorical_drift`` itself (imported from its src/; it needs
    only numpy, pandas and scipy), registered as an Evidently stat test. Returns its name for `cat_method`."""
    import importlib

    from evidently.legacy.calculations.stattests import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    sys.path.insert(0, src)
    categorical_drift = importlib.import_module(f"{package}.core.drift").categorical_drift

    def two_sample(reference: pd.Series, current: pd.Series, feature_type, threshold: float) -> tuple[float, bool]:
        p_value = categorical_drift(reference, current)["p_value"]
        return p_value, p_value < threshold

    name = "chi2_two_sample"
    test = StatTest(
        name=name, display_name="two-sample chi-square p_value", allowed_feature_types=[ColumnType.Categorical]
    )
    register_stattest(test, default_impl=two_sample)
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("--numeric", required=True, help="comma-separated numeric columns")
    parser.add_argument("--categorical", required=True, help="comma-separated categorical columns")
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--psi", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--src", required=True, help="the project's src/ folder")
    parser.add_argument("--package", required=True, help="the project's package name")
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
    categorical = args.categorical.split(",")
    same_test = DataDriftPreset(columns=categorical, cat_method=register_two_sample_chi_square(args.src, args.package), threshold=args.alpha)
    started = time.perf_counter()
    two_sample = run(reference, current, definition, same_test)
    two_sample_seconds = time.perf_counter() - started
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "version": evidently.__version__,
                "tests": tests,
                "psi": psi,
                "tests_seconds": tests_seconds,
                "psi_seconds": psi_seconds,
                "two_sample": two_sample,
                "two_sample_seconds": two_sample_seconds,
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
