"""Rollback: point @champion back at the previous champion (run it again to roll forward)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit
from {{ cookiecutter.__package_name }}.io import audit as audit_io
from {{ cookiecutter.__package_name }}.io import card, tracking

HELP = "Move @champion back to @previous_champion; the replaced version becomes @previous_champion"


def run(settings: Settings, reason: str = "") -> tuple[str, str]:
    """Point @champion back at @previous_champion (and keep the current one as previous, to roll forward); record who,
    when and why on the restored version."""
    registry = tracking.connect(settings)
    try:
        restored, replaced = registry.roll_back()
    except tracking.PermissionDeniedError as err:
        raise tracking.PermissionDeniedError(
            f"{err}. Nothing was moved. Roll {settings.env} back through the rollback workflow, behind the production "
            'approval: gh workflow run rollback.yml -f reason="..."'
        ) from err
    if replaced is not None:
        registry.tag(replaced, {"rolled_back_at": datetime.now(UTC).isoformat(timespec="seconds")})
    detail = f"@{tracking.CHAMPION} v{replaced or 'none'} -> v{restored}"
    audit_io.record(registry, "rollback", restored, settings.root, reason=reason, detail=detail)
    for version in (restored, *([replaced] if replaced else [])):
        card.publish(settings, registry, version)  # the aliases on the cards moved
    return restored, replaced or "none"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", type=audit.reason, help="why, recorded with your name and the time")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    restored, replaced = run(settings, reason=args.reason or "")
    print(f"@{tracking.CHAMPION} -> v{restored} (was v{replaced}; v{replaced} is now @{tracking.PREVIOUS})")
    return 0
