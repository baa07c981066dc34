"""``publish``: snapshot what the cycle published, push the data to the DVC remote, commit the pointers to the data
branch, so that nothing lives only on a CI runner."""

from __future__ import annotations

import argparse
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import dvc, git
from {{ cookiecutter.__package_name }}.io.published import data_pointers

HELP = "dvc add the published folder, dvc push the data, commit the .dvc pointers to operate.data_branch"


def pointers(settings: Settings) -> list[Path]:
    """The pointer files the data branch holds for this environment, those that exist."""
    return [pointer for pointer in data_pointers(settings) if settings.path(pointer).is_file()]


def run(settings: Settings, message: str) -> str:
    """Snapshot ``published_dir``, push every snapshot, commit the pointers onto the data branch; its commit."""
    if settings.path(settings.published_dir).is_dir():
        dvc.add(settings.root, Path(settings.published_dir))
    shared = pointers(settings)
    dvc.push(settings.root, shared)
    return git.commit_files(settings.root, settings.operate.data_branch, shared, message)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--message", default="data: the newest snapshot", help="the data branch's commit message")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    commit = run(settings, args.message)
    print(f"published: {', '.join(map(str, pointers(settings)))} at {settings.operate.data_branch} {commit[:10]} "
          "(data pushed to the DVC remote)")  # fmt: skip
    return 0
