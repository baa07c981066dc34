"""``alert``: post an alert from a workflow step (a failed release), through the same notifier as the steps."""

from __future__ import annotations

import argparse

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.notify import EVENTS, Alert, announce

HELP = "Post an alert to the webhook in $ALERT_WEBHOOK_URL (alerts.webhook_env): e.g. a failed release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event", required=True, choices=EVENTS)
    parser.add_argument("--title", required=True, help="one line saying what happened")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    announce(settings, Alert(args.event, args.title))
    return 0
