"""Drift benchmark: this project's drift statistics against Evidently's DataDriftPreset on 1M rows x 20 features.

Run with `make bench-drift`. Both sides get the same two parquet files (a seeded synthetic reference and current
window, written under bench/.work/drift/) and the thresholds of params.yaml, and each is timed from data frames in
memory to per-feature results. Evidently runs in its own throw-away environment (`uv run --isolated --with
evidently`), so it never enters this project's lock. Prints Markdown tables for docs/benchmarks.md.

Half of the features drift by design, in ways large and small; the others are drawn from the same distribution in
both windows. Each side's verdicts are compared statistic by statistic: KS (numeric) and chi-square (categorical)
p-values against `monitor.alpha`, and PSI against `monitor.psi_threshold`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from project import ROOT, WORK, module, package_name

WORK = WORK / "drift"
EVIDENTLY = "evidently==0.7.23"
Sampler = Callable[[np.random.Generator, int, bool], np.ndarray]


def zipf(categories: int) -> np.ndarray:
    weights = 1 / np.arange(1, categories + 1) ** 1.2
    return weights / weights.sum()


def with_missing(values: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    values = values.astype(object) if values.dtype.kind in "OUS" else values.astype(float)
    values[rng.random(len(values)) < share] = None if values.dtype == object else np.nan
    return values


def labels(count: int) -> np.ndarray:
    return np.array([f"c{index:02d}" for index in range(count)], dtype=object)


def flattened(categories: int) -> np.ndarray:
    return 0.3 * zipf(categories) + 0.7 / categories


def new_category(rng: np.random.Generator, n: int) -> np.ndarray:
    values = rng.choice(labels(50), n, p=zipf(50))
    values[rng.random(n) < 0.05] = "unseen"
    return values


# name -> (kind, sampler(rng, rows, drifted)); a feature drifts by design when its sampler uses `drifted`
FEATURES: dict[str, tuple[str, Sampler]] = {
    "normal": ("numeric", lambda rng, n, d: rng.normal(0, 1, n)),
    "normal_mean_shift": ("numeric", lambda rng, n, d: rng.normal(0.3 if d else 0, 1, n)),
    "lognormal": ("numeric", lambda rng, n, d: rng.lognormal(0, 1, n)),
    "lognormal_scaled": ("numeric", lambda rng, n, d: rng.lognormal(0, 1, n) * (1.5 if d else 1)),
    "uniform": ("numeric", lambda rng, n, d: rng.uniform(0, 1, n)),
    "uniform_shift": ("numeric", lambda rng, n, d: rng.uniform(0.2 if d else 0, 1.2 if d else 1, n)),
    "exponential": ("numeric", lambda rng, n, d: rng.exponential(2, n)),
    "normal_wider": ("numeric", lambda rng, n, d: rng.normal(10, 1.3 if d else 1, n)),
    "poisson": ("numeric", lambda rng, n, d: rng.poisson(3, n).astype(float)),
    "poisson_shift": ("numeric", lambda rng, n, d: rng.poisson(4.5 if d else 3, n).astype(float)),
    "normal_missing": ("numeric", lambda rng, n, d: with_missing(rng.normal(0, 1, n), rng, 0.05)),
    "normal_missing_shift": ("numeric", lambda rng, n, d: with_missing(rng.normal(0.6 if d else 0, 1, n), rng, 0.05)),
    "gamma": ("numeric", lambda rng, n, d: rng.gamma(2, 2, n)),
    "normal_tiny_shift": ("numeric", lambda rng, n, d: rng.normal(0.01 if d else 0, 1, n)),
    "zipf10": ("categorical", lambda rng, n, d: rng.choice(labels(10), n, p=zipf(10))),
    "zipf10_flattened": (
        "categorical",
        lambda rng, n, d: rng.choice(labels(10), n, p=flattened(10) if d else zipf(10)),
    ),
    "zipf50": ("categorical", lambda rng, n, d: rng.choice(labels(50), n, p=zipf(50))),
    "zipf50_new_category": (
        "categorical",
        lambda rng, n, d: new_category(rng, n) if d else rng.choice(labels(50), n, p=zipf(50)),
    ),
    "three_missing": (
        "categorical",
        lambda rng, n, d: with_missing(rng.choice(labels(3), n, p=[0.6, 0.3, 0.1]), rng, 0.02),
    ),
    "three_reweighted": (
        "categorical",
        lambda rng, n, d: rng.choice(labels(3), n, p=[0.4, 0.3, 0.3] if d else [0.6, 0.3, 0.1]),
    ),
}
DRIFTED_BY_DESIGN = {
    "normal_mean_shift",
    "lognormal_scaled",
    "uniform_shift",
    "normal_wider",
    "poisson_shift",
    "normal_missing_shift",
    "normal_tiny_shift",
    "zipf10_flattened",
    "zipf50_new_category",
    "three_reweighted",
}


def make_windows(rows: int, seed: int = 2013) -> tuple[Path, Path]:
    """The reference and current windows as parquet (strings for categories, NaN/None for missing)."""
    WORK.mkdir(parents=True, exist_ok=True)
    paths = WORK / f"reference_{rows}.parquet", WORK / f"current_{rows}.parquet"
    if all(path.exists() for path in paths):
        return paths
    rng = np.random.default_rng(seed)
    for drifted, path in zip((False, True), paths, strict=True):
        frame = pd.DataFrame({name: sampler(rng, rows, drifted) for name, (_, sampler) in FEATURES.items()})
        for name, (kind, _) in FEATURES.items():
            if kind == "categorical":
                frame[name] = frame[name].astype("string")
        partial = path.with_suffix(".partial")
        frame.to_parquet(partial, index=False)
        partial.replace(path)
    return paths


def ours(reference: pd.DataFrame, current: pd.DataFrame, thresholds, repeats: int) -> tuple[pd.DataFrame, list[float]]:
    feature_drift = module("core.drift").feature_drift

    numeric = [name for name, (kind, _) in FEATURES.items() if kind == "numeric"]
    categorical = [name for name, (kind, _) in FEATURES.items() if kind == "categorical"]
    seconds, table = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        table = feature_drift(reference, current, numeric, categorical, thresholds)
        seconds.append(time.perf_counter() - started)
    return table.set_index("feature"), seconds


def evidently(paths: tuple[Path, Path], alpha: float, psi: float, uv: str) -> dict:
    out = WORK / "evidently.json"
    numeric = [name for name, (kind, _) in FEATURES.items() if kind == "numeric"]
    categorical = [name for name, (kind, _) in FEATURES.items() if kind == "categorical"]
    environment = [uv, "run", "--no-project", "--isolated", "--python", sys.executable]
    environment += ["--with", EVIDENTLY, "--with", "pandas<3"]  # Evidently 0.7 does not import under pandas 3
    script = [str(Path(__file__).with_name("drift_evidently.py")), str(paths[0]), str(paths[1])]
    options = ["--numeric", ",".join(numeric), "--categorical", ",".join(categorical)]
    options += ["--alpha", str(alpha), "--psi", str(psi), "--out", str(out)]
    options += ["--src", str(ROOT / "src"), "--package", package_name()]
    command = [*environment, "python", *script, *options]
    try:
        subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "DO_NOT_TRACK": "1"})
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(
            f"ERROR: Evidently could not be installed or run ({err}). uv ({uv}) fetches it from the package index into "
            "a throw-away environment: check that both are reachable, or point --uv at a uv executable."
        ) from None
    return json.loads(out.read_text())


def goodness_of_fit_p(reference: pd.Series, current: pd.Series) -> float:
    """Evidently's chi-square: scipy.stats.chisquare of current counts against reference shares, no missing."""
    ref, cur = reference.dropna(), current.dropna()
    keys = sorted(set(ref) | set(cur))
    observed = cur.value_counts().reindex(keys, fill_value=0).to_numpy(float)
    expected = ref.value_counts().reindex(keys, fill_value=0).to_numpy(float) * len(cur) / len(ref)
    with np.errstate(divide="ignore"):  # a category unseen in the reference: infinite statistic, p-value 0
        return float(stats.chisquare(observed, expected)[1])


def false_alarms(rows: int, alpha: float, trials: int = 1000, seed: int = 7) -> tuple[float, float]:
    """Share of same-distribution window pairs (zipf50, ``rows`` each) flagged at ``alpha`` by the two-sample
    chi-square test this project uses and by the goodness-of-fit test Evidently uses."""
    rng = np.random.default_rng(seed)
    shares = zipf(50)
    flagged = np.zeros(2)
    for _ in range(trials):
        reference, current = rng.multinomial(rows, shares), rng.multinomial(rows, shares)
        two_sample = stats.chi2_contingency(np.vstack([reference, current]) + 0.5)[1]
        goodness_of_fit = stats.chisquare(current, reference * current.sum() / reference.sum())[1]
        flagged += [two_sample < alpha, goodness_of_fit < alpha]
    return flagged[0] / trials, flagged[1] / trials


def differs(ours: bool, theirs: bool) -> str:
    return "" if ours == theirs else " ≠"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each window (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of this project's statistics (default 3)")
    parser.add_argument("--uv", default=os.environ.get("UV", "uv"), help="uv executable (default: $UV, else uv)")
    args = parser.parse_args()
    monitor = module("config").load_settings("dev", ROOT).monitor
    Thresholds = module("core.drift").Thresholds  # noqa: N806 - a class
    thresholds = Thresholds(monitor.alpha, monitor.ks_threshold, monitor.psi_threshold)
    paths = make_windows(args.rows)
    reference, current = (pd.read_parquet(path) for path in paths)
    table, seconds = ours(reference, current, thresholds, args.repeats)
    theirs = evidently(paths, monitor.alpha, monitor.psi_threshold, args.uv)

    print("| feature | by design | test | p (ours) | p (Evidently) | PSI (ours) | PSI (Evidently) | drifted (ours) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
    agree = {"test": 0, "psi": 0, "two_sample": 0}
    for name, (kind, _) in FEATURES.items():
        row, test, psi = table.loc[name], theirs["tests"][name], theirs["psi"][name]
        test_ours, psi_ours = row["p_value"] < monitor.alpha, row["psi"] >= monitor.psi_threshold
        agree["test"] += test_ours == test["drifted"]
        agree["psi"] += psi_ours == psi["drifted"]
        cells = [
            name,
            "drift" if name in DRIFTED_BY_DESIGN else "same",
            "KS" if kind == "numeric" else "chi²",
            f"{row['p_value']:.3g}{differs(test_ours, test['drifted'])}",
            f"{test['score']:.3g}",
            f"{row['psi']:.3f}{differs(psi_ours, psi['drifted'])}",
            f"{psi['score']:.3f}",
            "yes" if row["drifted"] else "no",
        ]
        print(f"| {' | '.join(cells)} |")
    print("\nEvidently's chi-square p-values, recomputed as a goodness-of-fit test (scipy.stats.chisquare):")
    for name, (kind, _) in FEATURES.items():
        if kind == "categorical":
            recomputed = goodness_of_fit_p(reference[name], current[name])
            print(f"  {name}: {recomputed:.6g} (Evidently: {theirs['tests'][name]['score']:.6g})")
    print("\nThe two-sample chi-square registered in Evidently as a custom stat test (the same statistic as ours):\n")
    print("| feature | p (ours) | p (Evidently, two-sample) | same verdict |\n| --- | ---: | ---: | --- |")
    for name, (kind, _) in FEATURES.items():
        if kind == "categorical":
            ours_p, same = table.loc[name, "p_value"], theirs["two_sample"][name]
            agree["two_sample"] += (ours_p < monitor.alpha) == same["drifted"]
            print(f"| {name} | {ours_p:.6g} | {same['score']:.6g} | {(ours_p < monitor.alpha) == same['drifted']} |")
    ours_rate, theirs_rate = false_alarms(args.rows, monitor.alpha)
    print(
        f"\nFalse alarms on 1,000 same-distribution pairs (zipf50, {args.rows:,} rows each) at alpha {monitor.alpha}: "
        f"{ours_rate:.1%} with the two-sample test (this project), {theirs_rate:.1%} with the goodness-of-fit test"
    )
    median = statistics.median(seconds)
    both = theirs["tests_seconds"] + theirs["psi_seconds"]
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"\n{args.rows:,} rows x {len(FEATURES)} features, Evidently {theirs['version']}")
    print(f"this project: {median:.2f} s (median of {runs}), KS/chi-square and PSI in one pass")
    tests_seconds, psi_seconds = theirs["tests_seconds"], theirs["psi_seconds"]
    print(f"Evidently: {tests_seconds:.2f} s (KS/chi-square) + {psi_seconds:.2f} s (PSI) = {both:.2f} s")
    alone = tests_seconds / median
    print(f"speed-up: {both / median:.1f} x both reports, {alone:.1f} x the KS/chi-square report alone (target >= 5)")
    print(f"verdicts in agreement: tests {agree['test']}/{len(FEATURES)}, PSI {agree['psi']}/{len(FEATURES)}")
    categorical = sum(kind == "categorical" for kind, _ in FEATURES.values())
    seconds_inside = theirs["two_sample_seconds"]
    print(f"two-sample chi-square inside Evidently: {agree['two_sample']}/{categorical} ({seconds_inside:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
