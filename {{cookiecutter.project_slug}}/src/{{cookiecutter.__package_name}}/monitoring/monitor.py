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
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.drift import Thresholds, feature_drift, prediction_drift
from {{ cookiecutter.__package_name }}.core.policy import judge_window, retraining_due
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec
from {{ cookiecutter.__package_name }}.io import ci, tracking
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path, read_features
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.monitoring import report

HELP = "Drift (KS, chi-square, PSI) and performance of a window against the training reference; exit 3 on a breach"
BREACH_EXIT = 3
MIN_LABELLED_ROWS = 50
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
    train, _ = holdout_split(settings, features)
    rows = min(settings.monitor.reference_rows, len(train) * 3 // 4)
    return train.sample(n=rows, random_state=settings.train.seed)


def same_period_window(settings: Settings, features: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """A control window shaped like a batch (no labels): training-period rows that are not in the reference."""
    train, _ = holdout_split(settings, features)
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


def window_metric(spec: TaskSpec, current: pd.DataFrame, target: str, scores) -> float | None:
    """The primary metric on the window's labelled rows; None without enough labels (or with one class only)."""
    if target not in current.columns:
        return None
    labelled = current[target].notna().to_numpy()
    truth = current.loc[labelled, target]
    if labelled.sum() < MIN_LABELLED_ROWS or truth.nunique() < spec.min_classes:
        return None
    return spec.metrics(truth.to_numpy(), scores[labelled])[spec.primary_metric]


def run(settings: Settings, current: pd.DataFrame, source: str, ground_truth: pd.DataFrame | None = None) -> Outcome:
    """Judge ``current`` against the reference; append to the history; write the report; log to MLflow."""
    spec = task_spec(settings.task)
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION)
    if champion is None:
        raise tracking.RegistryError(
            f"{registry.name} has no @champion: monitoring compares against the model in service"
        )
    reference = reference_window(settings, read_features(settings))
    key, target, monitor = settings.data.id_column, settings.data.target, settings.monitor
    if ground_truth is not None:
        current = current.drop(columns=[target], errors="ignore").merge(ground_truth[[key, target]], on=key, how="left")
    missing = [c for c in champion.inputs if c not in current.columns]
    if missing:
        raise DataError(f"the current window lacks the model's input column(s): {', '.join(missing)}")
    thresholds = Thresholds(monitor.alpha, monitor.ks_threshold, monitor.psi_threshold)
    drift = feature_drift(reference, current, champion.numeric, champion.categorical, thresholds)
    reference_scores = spec.scores(champion.model, reference[list(champion.inputs)])
    if "prediction" in current.columns:
        current_scores = current["prediction"].to_numpy(float)
    else:
        current_scores = spec.scores(champion.model, current[list(champion.inputs)])
    predictions = prediction_drift(reference_scores, current_scores)
    metric_name = spec.primary_metric
    reference_metric = registry.holdout_metrics(registry.version(champion.version)).get(metric_name)
    metric = window_metric(spec, current, target, current_scores)
    verdict = judge_window(
        spec,
        monitor,
        drifted=drift["drifted"].tolist(),
        prediction_ks=predictions["statistic"],
        prediction_p_value=predictions["p_value"],
        metric=metric,
        reference_metric=reference_metric,
    )
    window = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S")
    record = {
        "window": window, "source": source, "rows": len(current), "model_version": champion.version,
        "share_drifted": verdict.share_drifted, "drifted_features": ",".join(drift.loc[drift["drifted"], "feature"]),
        "prediction_ks": predictions["statistic"], "metric_name": metric_name, "metric": metric,
        "reference_metric": reference_metric, "breach": verdict.breach,
    }  # fmt: skip
    target_history = history_path(settings)
    existing = settings.path(target_history)
    history = pd.DataFrame([record])
    if existing.is_file():
        history = pd.concat([pd.read_parquet(existing), history], ignore_index=True)
    write_atomic(settings, target_history, lambda tmp: history.to_parquet(tmp, index=False))

    values = {"share_drifted": verdict.share_drifted, "prediction_ks": predictions["statistic"],
              "breach": float(verdict.breach)}  # fmt: skip
    if metric is not None:
        values[metric_name] = metric
    policy = monitor.retrain
    earlier = registry.monitoring_breaches(champion.version, policy.windows - 1)
    retrain = retraining_due([verdict.breach, *earlier], policy)

    summary = {
        "window": window, "source": source, "rows": len(current),
        "model": f"{registry.name} v{champion.version} (@champion)",
        "features drifted": f"{int(drift['drifted'].sum())} of {len(drift)} ({verdict.share_drifted:.0%}; dataset "
        f"drift at {monitor.drift_share:.0%})",
        "prediction drift (KS)": f"{predictions['statistic']:.3f}",
        f"{metric_name}": "no ground truth" if metric is None else f"{metric:.4f} (reference {reference_metric:.4f})",
        "breach": verdict.breach,
        f"retraining due ({policy.breaches} of the last {policy.windows} windows)": retrain,
    }  # fmt: skip
    page = report.render(f"Monitoring: {registry.name} ({settings.env})", summary, drift, reference, current, history)
    report_path = Path("reports") / "monitoring" / f"{settings.env}-{window}.html"
    write_atomic(settings, report_path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    write_atomic(settings, Path("reports") / "monitoring" / f"{settings.env}-latest.html",
                 lambda tmp: tmp.write_text(page, encoding="utf-8"))  # fmt: skip
    registry.log_monitoring_window(
        f"monitor-{window}",
        tags={"model_version": champion.version, "source": source, "breach": str(verdict.breach)},
        metrics=values,
        artifacts=(settings.path(report_path),),
    )
    return Outcome(summary, drift, verdict.breach, retrain, settings.path(report_path))


def write_workflow_outputs(outcome: Outcome) -> None:
    """Hand the verdict to the next workflow job (and a table to the run page)."""
    ci.set_outputs({"breach": outcome.breach, "retrain": outcome.retrain})
    rows = "".join(f"| {key} | {value} |\n" for key, value in outcome.summary.items())
    ci.add_summary(f"### Monitoring\n\n| | |\n| --- | --- |\n{rows}")
    print(f"retraining due: {str(outcome.retrain).lower()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--batch", type=Path, help="parquet file of the current window (default: data/<env>/batch.parquet)"
    )
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
        path = args.batch or output_path(settings, "batch.parquet")
        if not settings.path(path).is_file():
            raise DataError(
                f"{settings.path(path)}: not found. Build it with `make features ENV={settings.env}`, "
                "or pass --batch FILE."
            )
        current, source = pd.read_parquet(settings.path(path)), str(path)
    try:
        outcome = run(settings, current, source, truth)
    except (DataError, tracking.RegistryError) as err:
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
