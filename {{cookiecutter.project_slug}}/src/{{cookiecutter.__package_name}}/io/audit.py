"""Who is acting (for the audit trail) and who approved a release run (GitHub's review log, or act's stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from {{ cookiecutter.__package_name }}.core import audit
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.notify import run_url

ENVIRONMENT = "production"  # the release workflow's environment whose reviewers approve a promotion


class ApprovalError(RuntimeError):
    """The approval of a run cannot be read; the message names the cause and the fix."""


def _git_config(root: Path, key: str) -> str:
    try:
        found = subprocess.run(["git", "config", key], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip()


def actor(root: Path, environ: Mapping[str, str] | None = None) -> str:
    """Who runs this command: the GitHub actor in a workflow, else git's user.name <user.email>, else $USER."""
    environ = os.environ if environ is None else environ
    if environ.get("GITHUB_ACTIONS") and environ.get("GITHUB_ACTOR"):
        where = "act" if environ.get("ACT") else "GitHub Actions"
        return f"{environ['GITHUB_ACTOR']} ({where})"
    name, email = _git_config(root, "user.name"), _git_config(root, "user.email")
    if name:
        return f"{name} <{email}>" if email else name
    return environ.get("USER") or environ.get("LOGNAME") or "unknown"


def approvals(
    root: Path, environ: Mapping[str, str] | None = None, environment: str = ENVIRONMENT
) -> list[audit.Approval]:
    """The approving reviews of this workflow run's ``environment``, from
    ``GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`` (the GitHub CLI, with GH_TOKEN).

    Under act there are no reviewers and no such API: one approval by the stand-in ``act (local: <who>)``, marked
    with source ``act``.
    """
    environ = os.environ if environ is None else environ
    if not environ.get("GITHUB_RUN_ID"):
        raise ApprovalError(
            "no workflow run (GITHUB_RUN_ID is unset): the approval is recorded by the release workflow's promote job"
        )
    url = run_url(environ) or ""
    if environ.get("ACT"):
        local = actor(root, {k: v for k, v in environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_ACTOR")})
        comment = "act runs the production environment without reviewers: a local stand-in, not a review"
        return [audit.Approval(f"act (local: {local})", comment, environment, url, "act")]
    path = f"repos/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{environ['GITHUB_RUN_ID']}/approvals"
    try:
        answer = subprocess.run(["gh", "api", path], cwd=root, capture_output=True, text=True, timeout=60)
    except OSError as err:
        raise ApprovalError(f"the GitHub CLI (gh) cannot run ({err}): install it, or run in GitHub Actions") from err
    if answer.returncode != 0:
        raise ApprovalError(
            f"GitHub refused {path}: {answer.stderr.strip() or answer.stdout.strip()} "
            "(the job needs GH_TOKEN and `actions: read`)"
        )
    return audit.approvals_of(json.loads(answer.stdout or "[]"), environment, url)


def record(
    registry: tracking.Registry,
    action: str,
    version: str,
    root: Path,
    *,
    reason: str = "",
    detail: str = "",
    user: str | None = None,
) -> audit.Entry:
    """Tag ``version`` with an audit entry of ``action``, by ``user`` (default: who runs this), now (UTC)."""
    entry = audit.entry(datetime.now(UTC), action, version, user or actor(root), reason, detail)
    registry.tag(version, dict([entry.tag()]))
    return entry
