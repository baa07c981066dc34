"""The audit trail: who judged, approved, promoted or rolled back a version, when and why, as registry tags."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

PREFIX = "audit_"
MAX_REASON = 500  # characters: a reason is a sentence; a ticket or a document holds the rest
ACTIONS = ("gate", "approval", "promote", "rollback")


@dataclass(frozen=True)
class Entry:
    """One event in a version's life: ``action`` on ``version`` by ``user`` at ``at`` (UTC), with why and what."""

    at: str  # ISO 8601, UTC, seconds
    action: str
    version: str
    user: str
    reason: str = ""
    detail: str = ""

    def tag(self) -> tuple[str, str]:
        """The registry tag holding this entry: a key unique to the microsecond, the entry as JSON."""
        stamp = self.at.replace("-", "").replace(":", "").replace("+0000", "").replace("+00:00", "")
        return f"{PREFIX}{stamp}_{self.action}", json.dumps(asdict(self), ensure_ascii=False)


def entry(when: datetime, action: str, version: str, user: str, reason: str = "", detail: str = "") -> Entry:
    """An entry at ``when`` (an aware UTC datetime, microseconds kept in the tag key so two never collide)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: use one of {', '.join(ACTIONS)}")
    return Entry(when.isoformat(timespec="microseconds"), action, str(version), user, reason, detail)


def entries(version: str, tags: Mapping[str, str]) -> list[Entry]:
    """The entries recorded on one version, oldest first (a tag that is not a readable entry is skipped)."""
    found = []
    for key, value in tags.items():
        if not key.startswith(PREFIX):
            continue
        try:
            data = json.loads(value)
            found.append(Entry(**{**data, "version": str(data.get("version", version))}))
        except (ValueError, TypeError):
            continue
    return sorted(found, key=lambda e: e.at)


def trail(versions: Iterable[tuple[str, Mapping[str, str]]], limit: int | None = None) -> list[Entry]:
    """Every version's entries, newest first (the ``limit`` newest when given)."""
    merged = sorted((e for version, tags in versions for e in entries(version, tags)), key=lambda e: e.at, reverse=True)
    return merged if limit is None else merged[:limit]


@dataclass(frozen=True)
class Approval:
    """One approving review of a workflow run's deployment ``environment``."""

    user: str
    comment: str
    environment: str
    run_url: str
    source: str  # github: GitHub's review log; act: the local stand-in (act has no reviewers)


def approvals_of(reviews: Iterable[Mapping], environment: str, run_url: str) -> list[Approval]:
    """The approving reviews of ``environment`` in a run's review log (the answer of GitHub's
    ``GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals``); rejected and pending ones are not approvals."""
    return [
        Approval(review["user"]["login"], review.get("comment") or "", environment, run_url, "github")
        for review in reviews
        if review.get("state") == "approved"
        and any(env.get("name") == environment for env in review.get("environments", []))
    ]


def line(item: Entry) -> str:
    """One line of ``make status``: when, what, on which version, who, why."""
    when = item.at[:19].replace("T", " ") + "Z"
    label = "comment" if item.action == "approval" else "reason"  # a reviewer's comment, or the --reason given
    why = f"  {label}: {item.reason}" if item.reason else ""
    return f"{when}  {item.action:<8} v{item.version:<4} {item.detail}  by {item.user}{why}"


def reason(text: str) -> str:
    """A ``--reason`` as recorded: one line, not blank, at most ``MAX_REASON`` characters (argparse type)."""
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise argparse.ArgumentTypeError("give the reason in words (it is recorded with your name and the time)")
    if len(cleaned) > MAX_REASON:
        raise argparse.ArgumentTypeError(
            f"{len(cleaned)} characters: keep it under {MAX_REASON} and point to a ticket or document for the rest"
        )
    return cleaned
