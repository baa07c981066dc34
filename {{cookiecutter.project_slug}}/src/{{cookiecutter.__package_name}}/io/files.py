"""Atomic writes and the guard that keeps non-prod environments away from prod data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings


class ProdDataGuardError(PermissionError):
    """A non-prod environment tried to write under one of guard.prod_paths."""


def check_write_allowed(settings: Settings, target: Path) -> None:
    """Raise ProdDataGuardError when ``target`` is a prod path and the environment is not prod."""
    if settings.env == "prod":
        return
    resolved = settings.path(target).resolve()
    for protected in settings.guard.prod_paths:
        prod = settings.path(protected).resolve()
        if resolved == prod or prod in resolved.parents:
            raise ProdDataGuardError(
                f"prod-data guard (guard.prod_paths in params.yaml): the {settings.env} environment may not write "
                f"{target} because it lies under {protected}. Run with --env prod, or write elsewhere."
            )


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path next to ``target``; move it into place only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_atomic(settings: Settings, target: Path, writer: Callable[[Path], None]) -> Path:
    """Check the prod-data guard, then write ``target`` with ``writer(tmp_path)`` atomically."""
    check_write_allowed(settings, target)
    path = settings.path(target)
    with atomic_path(path) as tmp:
        writer(tmp)
    return path
