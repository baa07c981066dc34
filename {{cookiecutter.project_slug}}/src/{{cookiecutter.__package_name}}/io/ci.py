"""What a step hands to GitHub Actions: outputs for the next job, Markdown for the run page."""

from __future__ import annotations

import os
from collections.abc import Mapping


def in_workflow(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (or act), where $GITHUB_OUTPUT names the outputs file."""
    return bool((os.environ if environ is None else environ).get("GITHUB_OUTPUT"))


def set_outputs(values: Mapping[str, object], environ: Mapping[str, str] | None = None) -> None:
    """Append ``name=value`` lines to $GITHUB_OUTPUT (nothing outside a workflow)."""
    path = (os.environ if environ is None else environ).get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={_text(value)}\n" for key, value in values.items())


def add_summary(markdown: str, environ: Mapping[str, str] | None = None) -> None:
    """Append Markdown to $GITHUB_STEP_SUMMARY, the run's page (nothing outside a workflow)."""
    path = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n\n")


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value).replace("\n", " ")
