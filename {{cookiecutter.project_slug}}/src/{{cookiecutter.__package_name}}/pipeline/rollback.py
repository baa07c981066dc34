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
    restored, replaced = registry.roll_back()
    if replaced is not None:
        registry.tag(replaced, {"rolled_back_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return restored, replaced or "none"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    restored, replaced = run(settings)
    print(f"@{tracking.CHAMPION} -> v{restored} (was v{replaced}; v{replaced} is now @{tracking.PREVIOUS})")
    return 0
