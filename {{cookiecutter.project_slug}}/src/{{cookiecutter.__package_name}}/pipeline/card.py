"""``card``: write a version's model card (Markdown and HTML) to a folder, and publish it again on its run."""

from __future__ import annotations

import argparse
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import card, tracking

HELP = "Write the model card of a version (default: @champion) to reports/ as Markdown and HTML"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", help="the registered version (default: the one behind @champion)")
    parser.add_argument("--output", type=Path, default=Path("reports"), help="folder to write to (default: reports)")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    registry = tracking.connect(settings)
    version = args.version
    if not version:
        champion = registry.version_by_alias(tracking.CHAMPION)
        if champion is None:
            raise tracking.RegistryError(f"{registry.name} has no @champion: pass --version")
        version = champion.version
    uri = card.publish(settings, registry, version)
    markdown, page = card.write(settings, registry, version, args.output)
    print(f"model card of {registry.name} v{version}:\n  {page}\n  {markdown}\n  published: {uri}")
    return 0
