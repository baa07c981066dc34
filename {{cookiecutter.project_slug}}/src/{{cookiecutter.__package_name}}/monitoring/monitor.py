"""``monitor``: compare a current window with the training reference; record, report, and signal a breach."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.core.features import time_split
from {{ cookiecutter.__package_name }}.core.model import predict_scores
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path, read_features
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.monitoring import report
from {{ cookiecutter.__package_name }}.monitoring.drift import Thresholds, feature_drift, prediction_drift
from {{ cookiecutter.__package_name }}.serving.models import load

HELP = "Drift (KS, chi-square, PSI) and performance of a window against the training reference; exit 3 on a breach"
BREACH_EXIT = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    summary: dict
    drift: pd.DataFrame
    breach: bool
    retrain: bool
    report_path: Path


def reference_window(settings: Settings, features: pd.DataFrame) -> pd.DataFrame:
    """A sample of the training period: at most monitor.reference_rows, and at most three quarters of it."""
    train, _ = time_split(features, settings.data.time_column, settings.train.holdout_fraction)
    rows = min(settings.monitor.reference_rows, len(train) * 3 // 4)
    return train.sample(n=rows, random_state=settings.train.seed)


def same_period_window(settings: Settings, features: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """A control window shaped like a batch (no labels): training-period rows that are not in the reference."""
    train, _ = time_split(features, settings.data.time_column, settings.train.holdout_fraction)
    rest = train.drop(index=reference.index, errors="ignore").drop(columns=[settings.data.target])
    return rest.sample(n=min(len(rest), 5000), random_state=settings.train.seed + 1)


def inference_log_window(settings: Settings) -> pd.DataFrame:
    path = settings.path(output_path(settings, settings.serve.inference_log))
    if not path.is_file():
        raise DataError(f"{path}: no inference log yet. Serve some requests, or pass --batch FILE.")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    frame = pd.DataFrame([row["features"] for row in rows])
    frame["prediction"] = [row["prediction"] for row in rows]
    return frame


def history_path(settings: Settings) -> Path:
    return output_path(settings, "monitoring/history.parquet")


def run(settings: Settings, current: pd.DataFrame, source: str, ground_truth: pd.DataFrame | None = None) -> Outcome:
    """Judge ``current`` against the reference; append to the history; write the report; log to MLflow."""
    import mlflow

    registry = tracking.connect(settings)
    champion = load(registry, tracking.CHAMPION)
    if champion is None:
        raise LookupError(f"{registry.name} has no @champion: monitoring compares against the model in service")
    features = read_features(settings)
    reference = reference_window(settings, features)
    key, target, monitor = settings.data.id_column, settings.data.target, settings.monitor
    if ground_truth is not None:
        current = current.drop(columns=[target], errors="ignore").merge(ground_truth[[key, target]], on=key, how="left")
    missing = [c for c in champion.inputs if c not in current.columns]
    if missing:
        raise DataError(f"the current window lacks the model's input column(s): {', '.join(missing)}")
    numeric = [c for c in champion.inputs if champion.is_numeric(c)]
    categorical = [c for c in champion.inputs if not champion.is_numeric(c)]
    thresholds = Thresholds(monitor.alpha, monitor.ks_threshold, monitor.psi_threshold)
    drift = feature_drift(reference, current, numeric, categorical, thresholds)
    reference_scores = predict_scores(champion.model, reference[list(champion.inputs)], settings.task)
    if "prediction" in current.columns:
        current_scores = current["prediction"].to_numpy(float)
    else:
        current_scores = predict_scores(champion.model, current[list(champion.inputs)], settings.task)
    predictions = prediction_drift(reference_scores, current_scores)
    metric_name = M.primary(settings.task)
    reference_metric = registry.client.get_run(registry.version(champion.version).run_id).data.metrics.get(
        f"holdout_{metric_name}"
    )
    metric, degraded = None, False
    labelled = current[target].notna() if target in current.columns else pd.Series(False, index=current.index)
    if labelled.sum() >= 50 and (settings.task == "regression" or current.loc[labelled, target].nunique() == 2):
        metric = M.task_metrics(
            settings.task, current.loc[labelled, target].to_numpy(), current_scores[labelled.to_numpy()]
        )[metric_name]
        if reference_metric is not None:
            if settings.higher_is_better:
                degraded = metric < reference_metric - monitor.performance_tolerance
            else:
                degraded = metric > reference_metric * (1 + monitor.performance_tolerance)
    share = float(drift["drifted"].mean()) if len(drift) else 0.0
    dataset_drift = share >= monitor.drift_share
    prediction_drifted = (
        predictions["statistic"] >= monitor.prediction_ks_threshold and predictions["p_value"] < monitor.alpha
    )
    breach = bool(dataset_drift or prediction_drifted or degraded)
    window = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S")

    record = {
        "window": window, "source": source, "rows": len(current), "model_version": champion.version,
        "share_drifted": share, "drifted_features": ",".join(drift.loc[drift["drifted"], "feature"]),
        "prediction_ks": predictions["statistic"], "metric_name": metric_name, "metric": metric,
        "reference_metric": reference_metric, "breach": breach,
    }  # fmt: skip
    target_history = history_path(settings)
    existing = settings.path(target_history)
    history = pd.concat(
        [pd.read_parquet(existing), pd.DataFrame([record])] if existing.is_file() else [pd.DataFrame([record])]
    )
    history = history.reset_index(drop=True)
    write_atomic(settings, target_history, lambda tmp: history.to_parquet(tmp, index=False))
    policy = monitor.retrain

    mlflow.set_experiment(f"{settings.tracking.experiment}-monitoring")
    with mlflow.start_run(run_name=f"monitor-{window}") as monitor_run:
        mlflow.set_tags({"model_version": champion.version, "source": source, "breach": str(breach)})
        values = {"share_drifted": share, "prediction_ks": predictions["statistic"], "breach": float(breach)}
        if metric is not None:
            values[metric_name] = metric
        mlflow.log_metrics(values)
    # The policy reads the registry's own record of windows, which outlives any one CI workspace.
    recent = mlflow.search_runs(
        experiment_names=[f"{settings.tracking.experiment}-monitoring"],
        order_by=["attributes.start_time DESC"],
        max_results=policy.windows,
    )
    retrain = int((recent["metrics.breach"] > 0).sum()) >= policy.breaches

    summary = {
        "window": window, "source": source, "rows": len(current),
        "model": f"{registry.name} v{champion.version} (@champion)",
        "features drifted": f"{int(drift['drifted'].sum())} of {len(drift)} ({share:.0%}; dataset drift at "
        f"{monitor.drift_share:.0%})",
        "prediction drift (KS)": f"{predictions['statistic']:.3f}",
        f"{metric_name}": "no ground truth" if metric is None else f"{metric:.4f} (reference {reference_metric:.4f})",
        "breach": breach,
        f"retraining due ({policy.breaches} of the last {policy.windows} windows)": retrain,
    }  # fmt: skip
    page = report.render(f"Monitoring: {registry.name} ({settings.env})", summary, drift, reference, current, history)
    report_path = Path("reports") / "monitoring" / f"{settings.env}-{window}.html"
    write_atomic(settings, report_path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    write_atomic(settings, Path("reports") / "monitoring" / f"{settings.env}-latest.html",
                 lambda tmp: tmp.write_text(page, encoding="utf-8"))  # fmt: skip

    with mlflow.start_run(run_id=monitor_run.info.run_id):
        mlflow.log_artifact(str(settings.path(report_path)), "monitoring")
    return Outcome(summary, drift, breach, retrain, settings.path(report_path))


def write_workflow_outputs(outcome: Outcome) -> None:
    """Hand the verdict to the next workflow job (and a table to the run page)."""
    import os

    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as handle:
            handle.write(f"breach={str(outcome.breach).lower()}\nretrain={str(outcome.retrain).lower()}\n")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        rows = "".join(f"| {key} | {value} |\n" for key, value in outcome.summary.items())
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(f"### Monitoring\n\n| | |\n| --- | --- |\n{rows}")
    print(f"retraining due: {str(outcome.retrain).lower()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--batch", type=Path, help="parquet file of the current window (default: data.batch_path)")
    source.add_argument("--inference-log", action="store_true", help="use the serving inference log as the window")
    source.add_argument("--same-period", action="store_true", help="control: a window from the training period itself")
    parser.add_argument("--ground-truth", type=Path, help="parquet file with the id and the true label, joined by id")
    parser.add_argument(
        "--workflow",
        action="store_true",
        help="for CI: write breach/retrain to $GITHUB_OUTPUT, the summary to $GITHUB_STEP_SUMMARY; exit 0 on a breach",
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    truth = pd.read_parquet(args.ground_truth) if args.ground_truth else None
    if args.inference_log:
        current, source = inference_log_window(settings), "inference log"
    elif args.same_period:
        features = read_features(settings)
        current, source = same_period_window(settings, features, reference_window(settings, features)), "same period"
    else:
        path = args.batch or settings.data.batch_path
        if not settings.path(path).is_file():
            raise DataError(f"{settings.path(path)}: not found. Run the features step, or pass --batch FILE.")
        current, source = pd.read_parquet(settings.path(path)), str(path)
    try:
        outcome = run(settings, current, source, truth)
    except (DataError, LookupError) as err:
        print(f"error: {err}")
        return 1
    print(f"\n== monitor ({settings.env}) ==")
    for key, value in outcome.summary.items():
        print(f"  {key:<44} {value}")
    drifted = outcome.drift[outcome.drift["drifted"]].sort_values("psi", ascending=False)
    for row in drifted.head(8).itertuples():
        print(f"    drifted: {row.feature:<24} {row.test} {row.statistic:.3f}  PSI {row.psi:.3f}")
    print(f"  report: {outcome.report_path}")
    if args.workflow:
        write_workflow_outputs(outcome)
        return 0
    if outcome.breach:
        print("  BREACH: the window differs from the training reference beyond the thresholds (exit status 3)")
        return BREACH_EXIT
    return 0
