"""Step 4, validate: the gate a new version must pass to become the challenger. A failure never touches the champion."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.pipeline._common import read_record

HELP = "Check the trained version (signature, lineage tags, thresholds, slice floor); PASSED makes it @challenger"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Report:
    version: str
    checks: tuple[Check, ...]
    reused: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_json(self) -> str:
        return json.dumps([[c.name, c.passed, c.detail] for c in self.checks])

    @classmethod
    def from_json(cls, version: str, text: str) -> Report:
        return cls(version, tuple(Check(*row) for row in json.loads(text)), reused=True)


def checks(settings: Settings, registry: tracking.Registry, version: str) -> list[Check]:
    """Every check of the gate, each with a readable detail."""
    import mlflow

    found = []
    model_version = registry.version(version)
    info = mlflow.models.get_model_info(registry.uri(version))
    has_signature = info.signature is not None and info.signature.inputs is not None
    detail = "input signature logged" if has_signature else "the model was logged without a signature"
    found.append(Check("signature", has_signature, detail))
    missing = [tag for tag in settings.validate_.required_tags if not model_version.tags.get(tag)]
    found.append(Check("lineage tags", not missing, f"missing: {', '.join(missing)}" if missing else "all present"))
    run_metrics = registry.client.get_run(model_version.run_id).data.metrics
    for metric, limit in settings.validate_.thresholds.items():
        value = run_metrics.get(f"holdout_{metric}")
        sign = "<=" if metric in M.ERROR_METRICS else ">="
        if value is None:
            found.append(Check(f"threshold {metric}", False, f"holdout_{metric} was not logged: run evaluate first"))
        else:
            found.append(
                Check(f"threshold {metric}", M.passes(metric, value, limit), f"{value:.4f} (need {sign} {limit})")
            )
    metric = M.primary(settings.task)
    worst = run_metrics.get(f"holdout_worst_slice_{metric}")
    floor = settings.validate_.slice_floor
    if worst is None:
        found.append(
            Check("slice floor", True, f"no slice has {settings.validate_.slice_min_rows}+ rows: nothing to judge")
        )
    else:
        sign = "<=" if metric in M.ERROR_METRICS else ">="
        found.append(
            Check(
                "slice floor", M.passes(metric, worst, floor), f"worst slice {metric} {worst:.4f} (need {sign} {floor})"
            )
        )
    return found


def run(settings: Settings, version: str, *, dry_run: bool = False) -> Report:
    """Judge ``version``: PENDING while checking, then PASSED (+ alias challenger) or FAILED.

    A version that was already judged keeps its verdict (thresholds are training parameters, so a
    change of threshold trains a new version); the champion alias is never read or written here.
    """
    registry = tracking.connect(settings)
    current = registry.version(version).tags
    if current.get(tracking.STATUS_TAG) in {"PASSED", "FAILED"} and current.get("validation_report") and not dry_run:
        return Report.from_json(version, current["validation_report"])
    if not dry_run:
        registry.tag(version, {tracking.STATUS_TAG: "PENDING"})
    report = Report(version, tuple(checks(settings, registry, version)))
    if dry_run:
        return report
    registry.tag(
        version, {tracking.STATUS_TAG: "PASSED" if report.passed else "FAILED", "validation_report": report.as_json()}
    )
    if report.passed:
        registry.set_alias(tracking.CHALLENGER, version)
    return report


def add_arguments(parser) -> None:
    parser.add_argument("--version", help="registered version to judge (default: the one train just registered)")
    parser.add_argument("--dry-run", action="store_true", help="run the checks and print the report; change nothing")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    version = args.version or read_record(settings).version
    report = run(settings, version, dry_run=args.dry_run)
    name = settings.tracking.registered_model
    verdict = "PASSED" if report.passed else "FAILED"
    reused = " (earlier verdict)" if report.reused else ""
    print(f"\n== validate ({settings.env}): {name} v{version}: {verdict}{reused} ==")
    for check in report.checks:
        print(f"  [{'ok' if check.passed else 'FAIL'}] {check.name:<28} {check.detail}")
    if args.dry_run:
        print("  dry run: no tag or alias was changed")
    elif report.passed:
        print(f"  alias @{tracking.CHALLENGER} -> v{version}")
    else:
        print(f"  v{version} tagged {tracking.STATUS_TAG}=FAILED; @{tracking.CHAMPION} was not touched")
    return 0 if report.passed else 1
