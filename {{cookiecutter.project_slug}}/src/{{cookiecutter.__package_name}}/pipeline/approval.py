"""``record-approval``: the release's promote job records who approved the production environment, when, and the run,
on the version the release trained (GitHub's review log; act's stand-in under act)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit
from {{ cookiecutter.__package_name }}.io import audit as audit_io
from {{ cookiecutter.__package_name }}.io import card, tracking

HELP = "Record the production environment's approval of this release run on a version (in the promote job)"


def run(settings: Settings, version: str, environ=None) -> list[audit.Approval]:
    """Tag ``version`` with the run's approvals (``approved_by``, ``approval_at``, ``approval_run_url``, ...) and an
    audit entry each; republish its model card. No approval found: nothing is tagged."""
    environ = os.environ if environ is None else environ
    registry = tracking.connect(settings)
    registry.version(version)  # a version that does not exist fails here, before anything is recorded
    found = audit_io.approvals(settings.root, environ)
    if not found:
        return found
    registry.tag(
        version,
        {
            "approved_by": ", ".join(a.user for a in found),
            "approval_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "approval_environment": found[0].environment,
            "approval_run_url": found[0].run_url,
            "approval_comment": " | ".join(a.comment for a in found if a.comment),
            "approval_source": found[0].source,
        },
    )
    for approval in found:
        detail = f"{approval.environment} approved ({approval.source}) in {approval.run_url}"
        audit_io.record(
            registry, "approval", version, settings.root, reason=approval.comment, detail=detail, user=approval.user
        )
    card.publish(settings, registry, version)
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", required=True, help="the version this release run trained (train's output)")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    try:
        found = run(settings, args.version)
    except audit_io.ApprovalError as err:
        print(f"error: {err}")
        return 1
    if not found:
        print(
            f"::warning::no approving review of the {audit_io.ENVIRONMENT} environment in this run: give the "
            f"environment required reviewers (RELEASING.md). Nothing was recorded on v{args.version}."
        )
        return 0
    for approval in found:
        print(f"v{args.version}: approved by {approval.user} ({approval.source}) in {approval.run_url}")
    return 0
