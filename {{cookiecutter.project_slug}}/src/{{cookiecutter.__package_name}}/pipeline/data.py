"""``data``: the data an environment reads, fetched: the DVC pointers of prod from the data branch, then `dvc pull`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import ci, dvc, git
from {{ cookiecutter.__package_name }}.io.data import DataError
from {{ cookiecutter.__package_name }}.io.published import data_pointers

HELP = "Fetch an environment's data: its .dvc pointers (prod's from the data branch), then dvc pull"
log = logging.getLogger(__name__)


def fetch_pointers(settings: Settings) -> list[Path]:
    """Write the pointers the data branch holds for this environment into the work tree; return those present."""
    commit = git.fetch_branch(settings.root, settings.operate.data_branch)
    for pointer in data_pointers(settings):
        content = git.show(settings.root, commit, pointer.as_posix()) if commit else None
        target = settings.path(pointer)
        if content is not None and (not target.is_file() or target.read_bytes() != content):
            target.write_bytes(content)
            log.info("%s from %s %s", pointer, settings.operate.data_branch, commit[:10])
    return [pointer for pointer in data_pointers(settings) if settings.path(pointer).is_file()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--if-reachable",
        action="store_true",
        help="when the DVC remote cannot serve this machine (a local remote seen from a CI runner), say why and exit "
        "0 without the data; in Actions the step's output `pulled` is then false (the notebooks check reads it)",
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    problem = dvc.remote_problem(settings.root) if args.if_reachable else None
    if problem is not None:
        notice = "::notice::" if os.environ.get("GITHUB_ACTIONS") == "true" else ""
        print(f"{notice}no {settings.env} data here, so what needs it is skipped: {problem}")
        ci.set_outputs({"pulled": False})
        return 0
    pointers = fetch_pointers(settings)
    if Path(f"{settings.raw_dir}.dvc") not in pointers:
        hint = (f"make ingest ENV={settings.env} UNTIL=2013-06, then make publish ENV={settings.env}"
                if settings.data.source == "nycflights13" else f"dvc add {settings.raw_dir}")  # fmt: skip
        raise DataError(f"{settings.raw_dir}.dvc: not found here nor on the {settings.operate.data_branch} branch, so "
                        f"DVC does not track {settings.raw_dir} yet. Start it: {hint}")  # fmt: skip
    for pointer in pointers:
        try:
            dvc.pull(settings.root, pointer)
        except DataError as err:
            if os.environ.get("GITHUB_ACTIONS") != "true":
                raise
            print(f"::error::{err}")  # one annotation on the run's page, in GitHub Actions and under act
            return 1
        print(f"{str(pointer).removesuffix('.dvc')}: pulled from the DVC remote ({pointer})")
    ci.set_outputs({"pulled": True})
    return 0
