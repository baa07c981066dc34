"""``monitor``: judge new data against the champion's training reference; record, report, and say what is due.

Two kinds of window. A period of the production cycle (``--period``, the default once raw_dir holds periods): its
rows against a sample of the periods the champion learned from, its published scores, and the champion's metric on
the period whose labels have just arrived. Or any table (``--batch``, ``--inference-log``, ``--same-period``): its
rows against the training split, and a metric when ``--ground-truth`` labels are joined. Either way one row per check
goes to the monitoring history, an HTML report is written, an MLflow run is logged, and exit status 3 means a breach.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.drift import Thresholds, feature_drift, prediction_drift
from {{ cookiecutter.__package_name }}.core.policy import (
    PeriodRecord,
    Retraining,
    WindowVerdict,
    decide_retraining,
    degraded,
    judge_window,
    retraining_due,
)
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec
from {{ cookiecutter.__package_name }}.io import ci, tracking
from {{ cookiecutter.__package_name }}.io.data import (
    DataError,
    feature_table,
    output_path,
    period_files,
    read_features,
)
from {{ cookiecutter.__package_name }}.io.notify import Alert, announce
from {{ cookiecutter.__package_name }}.io.published import (
    HISTORY,
    read_history,
    read_predictions,
    write_history,
    write_report,
)
from {{ cookiecutter.__package_name }}.monitoring import report

HELP = "Drift (KS, chi-square, PSI) and performance of new data against the champion's reference; exit 3 on a breach"
BREACH_EXIT = 3
MIN_LABELLED_ROWS = 50
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one monitoring run found, and what it makes due."""

    run: str
    summary: dict
    drift: pd.DataFrame
    verdict: WindowVerdict
    checks: pd.DataFrame
    retraining: Retraining
    report_path: Path
    performance: dict = field(default_factory=dict)

    @property
    def breach(self) -> bool:
        return self.verdict.breach


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=rows, random_state=seed) if len(frame) > rows else frame


def reference_window(settings: Settings, features: pd.DataFrame) -> pd.DataFrame:
    """A sample of the training split: at most monitor.reference_rows, and at most three quarters of it."""
    train, _ = holdout_split(settings, features)
    rows = min(settings.monitor.reference_rows, len(train) * 3 // 4)
    return train.sample(n=rows, random_state=settings.train.seed)


def champion_reference(settings: Settings, labelled: pd.DataFrame, version: tracking.Version) -> pd.DataFrame:
    """A sample of the periods the champion learned from (its ``data_from`` .. ``data_through`` tags)."""
    first, last = version.tags.get("data_from"), version.tags.get("data_through")
    if not (first and last and settings.data.time_column):
        return reference_window(settings, labelled)
    periods = P.periods_of(labelled[settings.data.time_column], settings.operate.period)
    window = labelled[periods.isin(P.between(first, last, settings.operate.period))]
    if window.empty:
        raise DataError(f"none of the periods v{version.version} learned from ({first} .. {last}) is in raw_dir")
    return sample(window, settings.monitor.reference_rows, settings.train.seed)


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
    # The champion's answers: a canary's or shadow challenger's predictions come from another model.
    rows = [row for row in rows if row.get("model_alias", "champion") == "champion"]
    if not rows:
        raise DataError(f"{path}: no prediction of @champion logged yet. Serve some requests, or pass --batch FILE.")
    frame = pd.DataFrame([row["features"] for row in rows])
    frame["prediction"] = [row["prediction"] for row in rows]
    return frame


def labelled_metric(spec: TaskSpec, truth: pd.Series, scores: np.ndarray) -> float | None:
    """The primary metric on rows with a label; None without enough of them (or with one class only)."""
    known = truth.notna().to_numpy()
    if known.sum() < MIN_LABELLED_ROWS or truth[known].nunique() < spec.min_classes:
        return None
    return spec.metrics(truth[known].to_numpy(), np.asarray(scores)[known])[spec.primary_metric]


def check_rows(run: str, version: str, source: str, **checks: dict) -> pd.DataFrame:
    """History rows, one per check: the period it judged, value, reference, threshold, breach."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [{"run": run, "period": row.get("period", run), "check": name, "model_version": version, "source": source,
             "evaluated_at": now, **{k: v for k, v in row.items() if k != "period"}}
            for name, row in checks.items() if row]  # fmt: skip
    return pd.DataFrame(rows)


def record_history(settings: Settings, checks: pd.DataFrame) -> pd.DataFrame:
    """Replace this run's rows in the history (monitoring a period twice leaves one set), then write it."""
    history = read_history(settings)
    if not history.empty:
        history = history[~history["run"].isin(checks["run"].unique())]
    history = pd.concat([history, checks], ignore_index=True).sort_values(["run", "check"], kind="stable")
    write_history(settings, history.reset_index(drop=True))
    return history


def champion_records(history: pd.DataFrame, champion: str) -> list[PeriodRecord]:
    """The current champion's monitored periods, newest first: did drift breach, did performance decay."""
    if history.empty:
        return []
    mine = history[(history["model_version"] == champion) & (history["source"] == "cycle")]
    records = []
    for run, rows in sorted(mine.groupby("run"), key=lambda item: item[0], reverse=True):
        drift = rows[rows["check"].isin(["feature_drift", "prediction_drift"])]["breach"].astype(bool).any()
        decay = rows[rows["check"] == "performance"]["breach"].astype(bool).any()
        records.append(PeriodRecord(run, bool(drift), bool(decay)))
    return records


def drift_checks(settings: Settings, verdict: WindowVerdict, predictions: dict) -> dict:
    monitor = settings.monitor
    return {
        "feature_drift": {"value": verdict.share_drifted, "reference": np.nan, "threshold": monitor.drift_share,
                          "breach": verdict.dataset_drift},
        "prediction_drift": {"value": predictions["statistic"], "reference": np.nan,
                             "threshold": monitor.prediction_ks_threshold, "breach": verdict.prediction_drift},
    }  # fmt: skip


def judge(
    settings: Settings,
    spec: TaskSpec,
    champion: tracking.LoadedModel,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    current_scores: np.ndarray,
) -> tuple[pd.DataFrame, dict]:
    """Feature drift and prediction drift of ``current`` against ``reference``."""
    monitor = settings.monitor
    thresholds = Thresholds(monitor.alpha, monitor.ks_threshold, monitor.psi_threshold)
    drift = feature_drift(reference, current, champion.numeric, champion.categorical, thresholds)
    predictions = prediction_drift(spec.scores(champion.model, reference[list(champion.inputs)]), current_scores)
    return drift, predictions


def monitor_period(settings: Settings, features: pd.DataFrame, period: str) -> Outcome:
    """One period of the cycle: its drift, the champion's metric on the period labelled now, what is due."""
    spec, monitor, unit = task_spec(settings.task), settings.monitor, settings.operate.period
    key, target, when = settings.data.id_column, settings.data.target, settings.data.time_column
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION)
    if champion is None:
        raise tracking.RegistryError(f"{registry.name} has no @champion: monitoring judges the model in service")
    version = registry.version(champion.version)
    periods = P.periods_of(features[when], unit)
    labelled = features[features[target].notna()]
    reference = champion_reference(settings, labelled, version)
    current = features[periods == period]
    if current.empty:
        raise DataError(f"no rows of {period} in {settings.raw_dir}: ingest it first (make ingest ENV={settings.env})")
    published = read_predictions(settings, period)
    if published is not None and set(published["model_version"]) == {champion.version}:
        scores = current[[key]].merge(published[[key, "prediction"]], on=key, how="left")["prediction"].to_numpy()
    else:
        scores = spec.scores(champion.model, current[list(champion.inputs)])
    drift, predictions = judge(settings, spec, champion, reference, current, scores)

    reference_metric = registry.holdout_metrics(version).get(spec.primary_metric)
    judged = P.labelled_through(period, settings.operate.label_lag, unit)
    truth = labelled[periods[labelled.index] == judged]
    performance, served = {}, {}
    if len(truth) >= MIN_LABELLED_ROWS:
        metric = labelled_metric(spec, truth[target], spec.scores(champion.model, truth[list(champion.inputs)]))
        if metric is not None:
            decayed = degraded(spec, metric, reference_metric, monitor.performance_tolerance)
            performance = {"period": judged, "value": metric, "reference": reference_metric,
                           "threshold": monitor.performance_tolerance, "breach": decayed}  # fmt: skip
        old = read_predictions(settings, judged)
        if old is not None:
            joined = P.join_labels(old, truth, key, target)
            value = labelled_metric(spec, joined[target], joined["prediction"].to_numpy())
            if value is not None:
                served = {"period": judged, "value": value, "reference": reference_metric, "threshold": np.nan,
                          "breach": False, "served_by": ",".join(sorted(set(old["model_version"])))}  # fmt: skip
    verdict = judge_window(
        spec,
        monitor,
        drifted=drift["drifted"].tolist(),
        prediction_ks=predictions["statistic"],
        prediction_p_value=predictions["p_value"],
        metric=performance.get("value"),
        reference_metric=reference_metric,
    )
    checks = check_rows(period, champion.version, "cycle", **drift_checks(settings, verdict, predictions),
                        performance=performance, served=served)  # fmt: skip
    history = record_history(settings, checks)
    retraining = decide_retraining(
        period=period,
        champion=champion.version,
        trained_through=version.tags.get("data_through"),
        records=champion_records(history, champion.version),
        policy=monitor.retrain,
        operate=settings.operate,
        last_dispatch=registry.model_tags().get("retraining_dispatched_at"),
        dispatched=frozenset(filter(None, version.tags.get("retraining_episodes", "").split(","))),
    )
    learned = f"{version.tags.get('data_from', '?')} .. {version.tags.get('data_through', '?')}"
    judged_metric = "labels not in yet" if not performance else (
        f"{performance['value']:.4f} (reference {reference_metric:.4f})")  # fmt: skip
    summary = {
        "period": period, "rows": len(current), "model": f"{registry.name} v{champion.version} (@champion)",
        "reference": f"{len(reference):,} rows of {learned}",
        "features drifted": f"{int(drift['drifted'].sum())} of {len(drift)} ({verdict.share_drifted:.0%}; dataset "
                            f"drift at {monitor.drift_share:.0%})",
        "prediction drift (KS)": f"{predictions['statistic']:.3f}",
        f"{spec.primary_metric} on {judged}": judged_metric,
        "breach": verdict.breach, "retraining due": f"{retraining.due} ({retraining.reason})",
    }  # fmt: skip
    outcome = Outcome(period, summary, drift, verdict, checks, retraining, Path(), performance)
    return finish(settings, registry, champion.version, outcome, reference, current, history)


def monitor_table(settings: Settings, current: pd.DataFrame, source: str, truth: pd.DataFrame | None) -> Outcome:
    """Any table: drift against the training split, performance when labels are joined, the N-of-M policy."""
    spec, monitor = task_spec(settings.task), settings.monitor
    key, target = settings.data.id_column, settings.data.target
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION)
    if champion is None:
        raise tracking.RegistryError(f"{registry.name} has no @champion: monitoring judges the model in service")
    reference = reference_window(settings, read_features(settings))
    if truth is not None:
        current = current.drop(columns=[target], errors="ignore").merge(truth[[key, target]], on=key, how="left")
    missing = [c for c in champion.inputs if c not in current.columns]
    if missing:
        raise DataError(f"the current window lacks the model's input column(s): {', '.join(missing)}")
    if "prediction" in current.columns:
        scores = current["prediction"].to_numpy(float)
    else:
        scores = spec.scores(champion.model, current[list(champion.inputs)])
    drift, predictions = judge(settings, spec, champion, reference, current, scores)
    reference_metric = registry.holdout_metrics(registry.version(champion.version)).get(spec.primary_metric)
    metric = labelled_metric(spec, current[target], scores) if target in current.columns else None
    verdict = judge_window(spec, monitor, drifted=drift["drifted"].tolist(), prediction_ks=predictions["statistic"],
                           prediction_p_value=predictions["p_value"], metric=metric,
                           reference_metric=reference_metric)  # fmt: skip
    run = datetime.now(UTC).strftime("window-%Y-%m-%dT%H-%M-%S.%f")
    performance = (
        {}
        if metric is None
        else {
            "value": metric,
            "reference": reference_metric,
            "threshold": monitor.performance_tolerance,
            "breach": verdict.degraded,
        }
    )
    checks = check_rows(run, champion.version, source, **drift_checks(settings, verdict, predictions),
                        performance=performance)  # fmt: skip
    history = record_history(settings, checks)
    policy = monitor.retrain
    due = retraining_due([verdict.breach, *registry.monitoring_breaches(champion.version, policy.windows - 1)], policy)
    retraining = Retraining(due, "drift" if due else None, None, f"{policy.breaches} of the last {policy.windows}")
    window_metric = "no ground truth" if metric is None else f"{metric:.4f} (reference {reference_metric:.4f})"
    summary = {
        "window": run, "source": source, "rows": len(current),
        "model": f"{registry.name} v{champion.version} (@champion)",
        "features drifted": f"{int(drift['drifted'].sum())} of {len(drift)} ({verdict.share_drifted:.0%}; dataset "
                            f"drift at {monitor.drift_share:.0%})",
        "prediction drift (KS)": f"{predictions['statistic']:.3f}",
        spec.primary_metric: window_metric,
        "breach": verdict.breach,
        f"retraining due ({policy.breaches} of the last {policy.windows} windows)": due,
    }  # fmt: skip
    outcome = Outcome(run, summary, drift, verdict, checks, retraining, Path(), performance)
    return finish(settings, registry, champion.version, outcome, reference, current, history)


def finish(
    settings: Settings,
    registry: tracking.Registry,
    version: str,
    outcome: Outcome,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    history: pd.DataFrame,
) -> Outcome:
    """Write the report, log the run to MLflow (tagged with the champion's version), hand back the outcome."""
    run, verdict, retraining = outcome.run, outcome.verdict, outcome.retraining
    title = f"Monitoring: {registry.name} ({settings.env}), {run}"
    page = report.render(title, outcome.summary, outcome.drift, reference, current, history)
    path = write_report(settings, f"{settings.env}-{run}.html", page)
    write_report(settings, f"{settings.env}-latest.html", page)
    values = outcome.checks.set_index("check")["value"]
    metrics = {"share_drifted": verdict.share_drifted, "breach": float(verdict.breach),
               "prediction_ks": float(values["prediction_drift"])}  # fmt: skip
    if outcome.performance:
        metrics[task_spec(settings.task).primary_metric] = outcome.performance["value"]
    tags = {"model_version": version, "run": run, "breach": str(verdict.breach),
            "retraining_due": str(retraining.due), "retraining_trigger": retraining.trigger or ""}  # fmt: skip
    history_file = settings.path(Path(settings.published_dir) / HISTORY)
    registry.log_monitoring_window(f"monitor-{run}", tags=tags, metrics=metrics, artifacts=(path, history_file))
    return Outcome(run, outcome.summary, outcome.drift, verdict, outcome.checks, retraining, path, outcome.performance)


def breach_alert(outcome: Outcome) -> Alert:
    """The alert for a breach: what breached, the figures, where the report is."""
    details = {key: str(value) for key, value in outcome.summary.items() if key != "breach"}
    return Alert("breach", f"monitoring breach on {outcome.run}: {', '.join(outcome.verdict.reasons)}",
                 {**details, "report": str(outcome.report_path)})  # fmt: skip


def write_workflow_outputs(outcome: Outcome) -> None:
    """Hand the verdict to the next workflow jobs (and a table to the run page)."""
    retraining = outcome.retraining
    ci.set_outputs({"breach": outcome.breach, "retrain": retraining.due, "trigger": retraining.trigger or "",
                    "episode": retraining.episode or "", "period": outcome.run})  # fmt: skip
    rows = "".join(f"| {key} | {value} |\n" for key, value in outcome.summary.items())
    ci.add_summary(f"### Monitoring\n\n| | |\n| --- | --- |\n{rows}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--period", help="a period of the cycle (default once raw_dir holds periods: the newest)")
    source.add_argument("--batch", type=Path, help="parquet file of the window (default: data/<env>/batch.parquet)")
    source.add_argument("--inference-log", action="store_true", help="use the serving inference log as the window")
    source.add_argument("--same-period", action="store_true", help="control: a window from the training period itself")
    parser.add_argument("--ground-truth", type=Path, help="parquet file with the id and the true label, joined by id")
    parser.add_argument(
        "--workflow", action="store_true", help="for CI: outputs to $GITHUB_OUTPUT, a table to the page"
    )


def table_window(settings: Settings, args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    if args.inference_log:
        return inference_log_window(settings), "inference log"
    if args.same_period:
        features = read_features(settings)
        return same_period_window(settings, features, reference_window(settings, features)), "same period"
    path = args.batch or output_path(settings, "batch.parquet")
    if not settings.path(path).is_file():
        raise DataError(
            f"{settings.path(path)}: not found. Build it with `make features ENV={settings.env}`, or pass --batch FILE."
        )
    return pd.read_parquet(settings.path(path)), str(path)


def execute(settings: Settings, args: argparse.Namespace) -> int:
    cycle = period_files(settings, "flights")
    if args.period or (cycle and not (args.batch or args.inference_log or args.same_period)):
        outcome = monitor_period(settings, feature_table(settings, labelled_only=False), args.period or max(cycle))
    else:
        truth = pd.read_parquet(args.ground_truth) if args.ground_truth else None
        outcome = monitor_table(settings, *table_window(settings, args), truth)
    print(f"\n== monitor ({settings.env}) ==")
    for key, value in outcome.summary.items():
        print(f"  {key:<44} {value}")
    drifted = outcome.drift[outcome.drift["drifted"]].sort_values("psi", ascending=False)
    for row in drifted.head(8).itertuples():
        print(f"    drifted: {row.feature:<24} {row.test} {row.statistic:.3f}  PSI {row.psi:.3f}")
    print(f"  report: {outcome.report_path}")
    print(f"retraining due: {str(outcome.retraining.due).lower()}")
    if args.workflow:
        write_workflow_outputs(outcome)
    if outcome.breach:
        print(f"  BREACH: {', '.join(outcome.verdict.reasons)} (exit status 3)")
        announce(settings, breach_alert(outcome))
        return BREACH_EXIT
    return 0
