"""Step 4, validate: the gate a new version must pass to become the challenger. A failure never touches the champion."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit, gate
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.fairness import FairnessReport
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import audit as audit_io
from {{ cookiecutter.__package_name }}.io import card, ci, tracking
from {{ cookiecutter.__package_name }}.io.data import read_features
from {{ cookiecutter.__package_name }}.io.notify import Alert, announce
from {{ cookiecutter.__package_name }}.pipeline._common import read_record

HELP = "Check the trained version (signature, lineage, thresholds, slices, fairness); PASSED makes it @challenger"
REPORT_TAG = "validation_report"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    version: str
    verdict: gate.Verdict
    reused: bool = False
    card: str = ""  # where the version's model card was published

    @property
    def passed(self) -> bool:
        return self.verdict.passed


def fairness_of(registry: tracking.Registry, version: tracking.Version) -> FairnessReport | None:
    """The fairness report evaluate recorded on the version's run (None when it recorded none)."""
    record = registry.read_record(version.run_id, card.GOVERNANCE_RECORD) or {}
    return FairnessReport.from_dict(record["fairness"]) if record.get("fairness") else None


def run(settings: Settings, version: str, *, dry_run: bool = False, reason: str = "") -> Report:
    """Judge ``version``: PENDING while checking, then PASSED (+ alias challenger) or FAILED.

    A version that was already judged keeps its verdict (thresholds are training parameters, so a
    change of threshold trains a new version); the champion alias is never read or written here.
    """
    registry = tracking.connect(settings)
    current = registry.version(version)
    if current.tags.get(tracking.STATUS_TAG) in {"PASSED", "FAILED"} and current.tags.get(REPORT_TAG) and not dry_run:
        return Report(version, gate.Verdict.from_json(current.tags[REPORT_TAG]), reused=True)
    if not dry_run:
        registry.tag(version, {tracking.STATUS_TAG: "PENDING"})
        registry.verify_onnx(current, holdout_split(settings, read_features(settings))[1])  # serve ONNX only if equal
    verdict = gate.judge(
        task_spec(settings.task),
        settings.validate_,
        has_signature=registry.input_kinds(version) is not None,
        tags=current.tags,
        holdout=registry.holdout_metrics(current),
        governance=settings.governance,
        fairness=fairness_of(registry, current),
    )
    if dry_run:
        return Report(version, verdict)
    registry.tag(
        version, {tracking.STATUS_TAG: "PASSED" if verdict.passed else "FAILED", REPORT_TAG: verdict.as_json()}
    )
    failed = "; ".join(f"{c.name}: {c.detail}" for c in verdict.checks if not c.passed)
    if verdict.passed:
        registry.set_alias(tracking.CHALLENGER, version)
    audit_io.record(
        registry,
        "gate",
        version,
        settings.root,
        reason=reason,
        detail=f"PASSED: @{tracking.CHALLENGER} -> v{version}" if verdict.passed else f"FAILED: {failed}",
    )
    published = card.publish(settings, registry, version)
    if not verdict.passed:
        announce(settings, Alert("gate-failed", f"v{version} failed the validation gate", {"failed checks": failed}))
    return Report(version, verdict, card=published)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", help="registered version to judge (default: the one train just registered)")
    parser.add_argument("--dry-run", action="store_true", help="run the checks and print the report; change nothing")
    parser.add_argument("--reason", type=audit.reason, help="why, recorded with your name and the time")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    version = args.version or read_record(settings).version
    report = run(settings, version, dry_run=args.dry_run, reason=args.reason or "")
    ci.set_outputs({"version": version, "passed": report.passed})
    verdict = "PASSED" if report.passed else "FAILED"
    reused = " (earlier verdict)" if report.reused else ""
    print(f"\n== validate ({settings.env}): {settings.tracking.registered_model} v{version}: {verdict}{reused} ==")
    for check in report.verdict.checks:
        print(f"  [{'ok' if check.passed else 'FAIL'}] {check.name:<28} {check.detail}")
    if args.dry_run:
        print("  dry run: no tag or alias was changed")
    elif report.passed:
        print(f"  alias @{tracking.CHALLENGER} -> v{version}")
    else:
        print(f"  v{version} tagged {tracking.STATUS_TAG}=FAILED; @{tracking.CHAMPION} was not touched")
    if report.card:
        print(f"  model card  {report.card}")
    return 0 if report.passed else 1
