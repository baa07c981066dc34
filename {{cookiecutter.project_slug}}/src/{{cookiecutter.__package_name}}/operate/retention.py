"""``retention``: rotate the serving inference log, archive old registry versions that hold no alias."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.policy import rotation, to_archive
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path
from {{ cookiecutter.__package_name }}.io.files import rotate_log

HELP = "Rotate the inference log (size and age caps); archive registry versions older than the cap that hold no alias"
DAY = 86_400


@dataclass(frozen=True)
class Retained:
    rotated: bool
    deleted: int
    archived: tuple[str, ...]


def run(settings: Settings, now: float | None = None) -> Retained:
    """Apply ``retention.*``: an aliased version is never archived, whatever its age."""
    now = time.time() if now is None else now
    rules = settings.retention
    log = settings.path(output_path(settings, settings.serve.inference_log))
    rotated = sorted(log.parent.glob(f"{log.name}.*"), key=lambda p: p.stat().st_mtime, reverse=True)
    rotate, delete = rotation(
        log.stat().st_size if log.is_file() else 0,
        rules.inference_log_max_mb * 1e6,
        [(now - p.stat().st_mtime) / DAY for p in rotated],
        rules.inference_log_keep,
        rules.inference_log_max_age_days,
    )
    rotate_log(log, rotate, [rotated[i] for i in delete])
    registry = tracking.connect(settings)
    versions = [(v.version, (now * 1000 - v.created_ms) / 1000 / DAY, bool(v.aliases), "archived_at" in v.tags)
                for v in registry.versions()]  # fmt: skip
    archived = to_archive(versions, rules.archive_after_days)
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    for version in archived:
        registry.tag(version, {"archived_at": stamp})
    return Retained(rotate, len(delete), tuple(archived))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    done = run(settings)
    print(
        f"inference log: {'rotated' if done.rotated else 'under its cap'}; {done.deleted} old rotated file(s) deleted"
    )
    print(f"registry: {len(done.archived)} version(s) archived" + (f" (v{', v'.join(done.archived)})" if done.archived
                                                                      else ""))  # fmt: skip
    return 0
