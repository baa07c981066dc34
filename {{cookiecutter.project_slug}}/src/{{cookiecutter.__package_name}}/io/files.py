"""Atomic writes and the guard that keeps non-prod environments away from prod data."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
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


def umask() -> int:
    """The process's file-creation mask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete temporaries of ``target`` left by writers that died (killed mid-write); return what was removed."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+\.tmp$")
    removed = []
    for candidate in target.parent.glob(f".{target.name}.*.tmp"):
        found = pattern.match(candidate.name)
        if found and not _alive(int(found.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path next to ``target``; move it into place only if the block succeeds.

    The temporary is named after this process (``.<name>.<pid>.<random>.tmp``), so the next writer removes what a
    killed one left behind; the published file gets the permissions the user's umask gives a new file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp_path = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        yield tmp_path
        if tmp_path.is_file():
            tmp_path.chmod(0o666 & ~umask())
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


def rotate_log(path: Path, rotate: bool, delete: list[Path]) -> None:
    """Rename the live log to ``<name>.<UTC timestamp>`` (a writer reopens the path on its next append), then delete
    the rotated files the retention rules name."""
    if rotate and path.is_file():
        path.rename(path.with_name(f"{path.name}.{datetime.now(UTC):%Y%m%dT%H%M%S%f}"))
    for old in delete:
        old.unlink(missing_ok=True)
