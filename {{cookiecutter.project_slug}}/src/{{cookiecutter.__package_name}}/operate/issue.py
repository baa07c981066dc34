"""``breach-issue``: a monitoring breach lands on the team's to-do list: one open GitHub issue per champion's breach
episode, opened on the first breach and commented on the next ones."""

from __future__ import annotations

import argparse
import json
import os
import subprocess

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.notify import run_url
from {{ cookiecutter.__package_name }}.io.published import read_history

HELP = "Open (or comment on) the GitHub issue of the champion's monitoring breach, with the evidence (GitHub CLI)"
LABEL = "monitoring-breach"


def evidence(settings: Settings, period: str) -> str:
    """The period's checks from the monitoring history, as a Markdown table, and where the report is."""
    history = read_history(settings)
    rows = history[history["run"] == period] if not history.empty else history
    lines = ["| period | check | value | limit or reference | breach |", "| --- | --- | ---: | ---: | --- |"]
    for row in rows.itertuples():
        limit = row.threshold if row.check != "performance" else row.reference
        lines.append(f"| {row.period} | {row.check} | {row.value:.4f} | {limit:.4f} | {bool(row.breach)} |")
    url = run_url(os.environ)
    where = f"\n\nThe HTML report is an artifact of {url}" if url else ""
    return "\n".join(lines) + where


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", required=True, help="the period that breached")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    champion = tracking.connect(settings).version_by_alias(tracking.CHAMPION)
    version = champion.version if champion else "none"
    title = f"Monitoring breach: {settings.tracking.registered_model} v{version}"
    body = f"Monitoring of {args.period} breached.\n\n{evidence(settings, args.period)}"
    listing = ["gh", "issue", "list", "--label", LABEL, "--state", "open", "--json", "number,title"]
    if os.environ.get("ACT"):
        print(f"act: would find or open the issue {title!r} (label {LABEL}) and post:\n{body}")
        return 0
    issues = json.loads(subprocess.run(listing, capture_output=True, text=True, check=True).stdout or "[]")
    same = [issue for issue in issues if issue["title"] == title]
    if same:
        subprocess.run(["gh", "issue", "comment", str(same[0]["number"]), "--body", body], check=True)
        print(f"commented on issue #{same[0]['number']}")
    else:
        subprocess.run(["gh", "label", "create", LABEL, "--force", "--color", "D93F0B"], check=False)
        subprocess.run(["gh", "issue", "create", "--title", title, "--label", LABEL, "--body", body], check=True)
        print(f"opened issue {title!r}")
    return 0
