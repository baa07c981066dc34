"""The one entry point of the project: every command, for every environment.

Usage: ``{{ cookiecutter.project_slug }} <command> --env <env>``
   or: ``python -m {{ cookiecutter.__package_name }} <command> --env <env>``
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys

from {{ cookiecutter.__package_name }}.config import ENVIRONMENTS, ConfigError, load_settings
from {{ cookiecutter.__package_name }}.core.dataset import UnusableDataError
from {{ cookiecutter.__package_name }}.io.data import DataError
from {{ cookiecutter.__package_name }}.io.files import ProdDataGuardError
from {{ cookiecutter.__package_name }}.io.tracking import RegistryError
from {{ cookiecutter.__package_name }}.pipeline.predict import InputSchemaError

# command -> module exposing HELP, add_arguments(parser) and execute(settings, args) -> exit status.
COMMANDS = {
    "data": "{{ cookiecutter.__package_name }}.pipeline.data",
    "features": "{{ cookiecutter.__package_name }}.pipeline.features",
    "online": "{{ cookiecutter.__package_name }}.pipeline.online",
    "train": "{{ cookiecutter.__package_name }}.pipeline.train",
    "evaluate": "{{ cookiecutter.__package_name }}.pipeline.evaluate",
    "validate": "{{ cookiecutter.__package_name }}.pipeline.validate",
    "promote": "{{ cookiecutter.__package_name }}.pipeline.promote",
    "rollback": "{{ cookiecutter.__package_name }}.pipeline.rollback",
    "predict": "{{ cookiecutter.__package_name }}.pipeline.predict",
    "status": "{{ cookiecutter.__package_name }}.pipeline.status",
    "serve": "{{ cookiecutter.__package_name }}.serving.server",
    "smoke": "{{ cookiecutter.__package_name }}.serving.smoke",
    "monitor": "{{ cookiecutter.__package_name }}.monitoring.monitor",
    "ingest": "{{ cookiecutter.__package_name }}.pipeline.ingest",
    "score": "{{ cookiecutter.__package_name }}.pipeline.score",
    "cycle": "{{ cookiecutter.__package_name }}.operate.cycle",
    "publish": "{{ cookiecutter.__package_name }}.operate.publish",
    "retention": "{{ cookiecutter.__package_name }}.operate.retention",
    "dispatch": "{{ cookiecutter.__package_name }}.operate.dispatch",
    "alert": "{{ cookiecutter.__package_name }}.operate.alert",
    "canary": "{{ cookiecutter.__package_name }}.operate.canary",
    "breach-issue": "{{ cookiecutter.__package_name }}.operate.issue",
    "replay": "{{ cookiecutter.__package_name }}.operate.replay",
    "card": "{{ cookiecutter.__package_name }}.pipeline.card",
    "record-approval": "{{ cookiecutter.__package_name }}.pipeline.approval",
}


def _show_config(settings, args) -> int:
    if args.tracking_uri:
        print(settings.tracking_uri)
        return 0
    if args.require_shared_store:
        if settings.tracking_uri_origin == "default":
            print(
                f"::error::the {settings.env} MLflow store is the project's own SQLite file, which CI jobs cannot "
                "share. Set the repository variable MLFLOW_TRACKING_URI to your team's MLflow server "
                "(Settings > Secrets and variables > Actions > Variables), or tracking.uri in params.yaml."
            )
            return 1
        print(f"{settings.env} MLflow store: {settings.tracking_uri}")
        return 0
    print(json.dumps(settings.model_dump(mode="json", by_alias=True), indent=2))
    print(f"# tracking URI: {settings.tracking_uri}", file=sys.stderr)
    return 0


# Problems a user can fix: the message names the problem and the fix, and is printed instead of a traceback.
USER_ERRORS = (ConfigError, DataError, UnusableDataError, InputSchemaError, RegistryError, ProdDataGuardError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="{{ cookiecutter.project_slug }}", description=__doc__)
    parser.epilog = "Also: run STEP [STEP ...] --env ENV runs several steps in one process."
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {"config": ("Print the resolved settings of an environment as JSON", None)}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        commands[name] = (module.HELP, module)
    for name, (help_text, module) in commands.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--env", choices=ENVIRONMENTS, default="dev", help="environment config to use (default: dev)"
        )
        command.add_argument("--root", default=".", help="project root (default: the current folder)")
        command.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        if module is not None:
            module.add_arguments(command)
        else:
            command.add_argument("--tracking-uri", action="store_true", help="print only the MLflow tracking URI")
            command.add_argument(
                "--require-shared-store",
                action="store_true",
                help="exit 1 when no MLflow store is configured (the local SQLite default): CI jobs need a shared one",
            )
        command.set_defaults(handler=module.execute if module is not None else _show_config)
    return parser


def run_steps(argv: list[str]) -> int:
    """``run STEP [STEP ...] --env ENV``: several steps in one process, stopping at the first failure."""
    parser = argparse.ArgumentParser(prog="{{ cookiecutter.project_slug }} run", description=run_steps.__doc__)
    parser.add_argument("steps", nargs="+", choices=list(COMMANDS), metavar="STEP", help=", ".join(COMMANDS))
    parser.add_argument("--env", choices=ENVIRONMENTS, default="dev")
    parser.add_argument("--root", default=".")
    args = parser.parse_args(argv)
    for step in args.steps:
        status = main([step, "--env", args.env, "--root", args.root])
        if status != 0:
            return status
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before the commands import MLflow
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_steps(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("mlflow", "alembic", "urllib3", "git", "matplotlib", "PIL", "dvc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(args.env, args.root)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        return args.handler(settings, args)
    except USER_ERRORS as err:  # a problem the user can fix: one line naming it, never a traceback
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
