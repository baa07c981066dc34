"""Rollback: point @champion back at the previous champion (run it again to roll forward)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import tracking

HELP = "Move @champion back to @previous_champion; the replaced version becomes @previous_champion"


def run(settings: Settings) -> tuple[str, str]:
    """Point @champion back at @previous_champion (and keep the current one as previous, to roll forward)."""
    registry = tracking.connect(settings)
    previous, current = registry.version_by_alias(tracking.PREVIOUS), registry.version_by_alias(tracking.CHAMPION)
    if previous is None:
        raise LookupError(f"{registry.name} has no @{tracking.PREVIOUS}: there is nothing to roll back to")
    registry.set_alias(tracking.CHAMPION, previous.version)
    if current is not None:
        registry.set_alias(tracking.PREVIOUS, current.version)
        registry.tag(current.version, {"rolled_back_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return previous.version, current.version if current is not None else "none"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    try:
        restored, replaced = run(settings)
    except LookupError as err:
        print(f"error: {err}")
        return 1
    print(f"@{tracking.CHAMPION} -> v{restored} (was v{replaced}; v{replaced} is now @{tracking.PREVIOUS})")
    return 0
