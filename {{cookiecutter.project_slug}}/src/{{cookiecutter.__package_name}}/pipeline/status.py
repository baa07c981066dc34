"""Where things stand: the registry's aliases, the champion's figures and the latest predictions."""

from __future__ import annotations

import argparse

import pyarrow.parquet as pq

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import ci, tracking
from {{ cookiecutter.__package_name }}.io.data import output_path

RECENT_VERSIONS = 5
AUDIT_ENTRIES = 10
HELP = "Print the registry's champion/challenger/previous versions, their figures, and where to look next"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--champion-version", action="store_true", help="print only the @champion version number")
    parser.add_argument(
        "--summary", action="store_true", help="the champion's figures and lineage as Markdown (the CI run's page)"
    )


def markdown(registry: tracking.Registry) -> str:
    """The champion's figures and lineage tags as a Markdown table (for a CI job summary)."""
    champion = registry.version_by_alias(tracking.CHAMPION)
    if champion is None:
        return f"### {registry.name}: no @champion\n"
    rows = [f"| {k} | {v:.4f} |" for k, v in sorted(registry.holdout_metrics(champion).items())]
    rows += [
        f"| {k} | `{v}` |"
        for k, v in sorted(champion.tags.items())
        if k != "validation_report" and not k.startswith(audit.PREFIX)
    ]
    header = f"### {registry.name} v{champion.version} is @champion\n\n| figure or tag | value |\n| --- | --- |\n"
    trail = audit.trail([(v.version, v.tags) for v in registry.versions()], AUDIT_ENTRIES)
    lines = "".join(f"- `{audit.line(entry)}`\n" for entry in trail)
    return header + "\n".join(rows) + "\n" + (f"\n#### Audit trail (newest first)\n\n{lines}" if trail else "")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    registry = tracking.connect(settings)
    if args.summary:
        text = markdown(registry)
        ci.add_summary(text)
        print(text)
        return 0
    if args.champion_version:
        champion = registry.version_by_alias(tracking.CHAMPION)
        if champion is None:
            print(f"error: {registry.name} has no @champion")
            return 1
        print(champion.version)
        return 0
    print(f"\n== {registry.name} ({settings.env}) in {settings.tracking_uri} ==")
    metric = task_spec(settings.task).primary_metric

    def line(version: tracking.Version) -> str:
        value = registry.holdout_metrics(version).get(metric)
        figure = "not evaluated" if value is None else f"{metric} {value:.4f}"
        status = version.tags.get(tracking.STATUS_TAG, "not validated")
        promotion, commit = version.tags.get("promotion_decision", ""), version.tags.get("git_commit", "?")[:10]
        return f"v{version.version:<4} {status:<13} {figure:<16} {promotion:<9} commit {commit}"

    champion = registry.version_by_alias(tracking.CHAMPION)
    for alias in (tracking.CHAMPION, tracking.CHALLENGER, tracking.PREVIOUS):
        version = registry.version_by_alias(alias)
        print(f"  @{alias:<18} {'-' if version is None else line(version)}")
    versions = registry.versions()
    recent = versions[-RECENT_VERSIONS:]
    if recent:
        print(f"\nThe {len(recent)} newest versions (validation, holdout {metric}, promotion decision):")
        for version in reversed(recent):
            print(f"  {line(version)}")
    trail = audit.trail([(v.version, v.tags) for v in versions], AUDIT_ENTRIES)
    if trail:
        print(f"\nAudit trail, newest first (the {len(trail)} latest gate verdicts, approvals, promotions, rollbacks):")
        for entry in trail:
            print(f"  {audit.line(entry)}")
    root = settings.root.resolve()
    predictions = root / output_path(settings, "predictions.parquet")
    print("\nWhere to look:")
    print(f"  MLflow UI      cd {root} && make mlflow-ui   (then open http://127.0.0.1:5000)")
    if champion is not None:
        print(f"  champion       {registry.uri(tracking.CHAMPION)}  (version {champion.version})")
    parts = [predictions] if predictions.is_file() else sorted(predictions.rglob("*.parquet"))  # a folder: Spark's
    if parts:
        print(f"  predictions    {predictions}  ({sum(pq.ParquetFile(p).metadata.num_rows for p in parts):,} rows)")
    print(f"  metrics/plots  {root / output_path(settings, 'metrics.json')}, {root / output_path(settings, 'plots')}/")
    return 0
