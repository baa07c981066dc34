"""``dispatch``: start production training (release.yml on the newest release branch) for a retraining episode,
record it so the same episode never dispatches twice, and say so."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.notify import Alert, announce

HELP = "Dispatch release.yml on the newest release branch for a retraining episode (once per episode), and alert"


def newest_release_branch(root: Path, prefix: str) -> str | None:
    """The highest-versioned ``<prefix>*`` branch on origin."""
    command = ["git", "for-each-ref", "--sort=-version:refname", "--format=%(refname:lstrip=3)"]
    listed = subprocess.run(
        [*command, f"refs/remotes/origin/{prefix}*"], capture_output=True, text=True, check=False, cwd=root
    )
    branches = listed.stdout.split()
    return branches[0] if branches else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episode", required=True, help="the episode monitoring named (its `episode` output)")
    parser.add_argument("--period", required=True, help="the period whose monitoring made retraining due")
    parser.add_argument("--trigger", default="", help="schedule, performance or drift")
    parser.add_argument("--prefix", default="release/", help="the release branches' prefix")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    registry = tracking.connect(settings)
    champion = registry.version_by_alias(tracking.CHAMPION)
    if champion is None:
        raise tracking.RegistryError(f"{registry.name} has no @champion: there is nothing to retrain")
    if args.episode in champion.tags.get("retraining_episodes", "").split(","):
        print(f"episode {args.episode} was dispatched already: nothing to do")
        return 0
    branch = newest_release_branch(settings.root, args.prefix)
    if branch is None:
        print(f"error: no {args.prefix}* branch on origin: cut a release first (RELEASING.md)")
        return 1
    command = ["gh", "workflow", "run", "release.yml", "--ref", branch, "-f", f"trigger={args.trigger or 'evidence'}"]
    if os.environ.get("ACT"):
        print(f"act: would run {' '.join(command)}")
    else:
        subprocess.run(command, check=True, cwd=settings.root)
        print(f"dispatched release.yml on {branch}")
    registry.record_dispatch(champion.version, args.episode, args.period)
    announce(settings, Alert("retraining-dispatched", f"production training dispatched on {branch}",
                             {"episode": args.episode, "trigger": args.trigger, "period": args.period}))  # fmt: skip
    return 0
