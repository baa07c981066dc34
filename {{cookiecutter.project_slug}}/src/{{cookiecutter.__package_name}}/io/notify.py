"""Alerts: a JSON POST to a webhook (Slack-compatible or generic) whose URL comes from the environment, never a file.

A delivery that fails is retried a bounded number of times and then reported; it never changes the outcome that the
alert was about (the caller's exit status stays that of the real outcome).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import ci

log = logging.getLogger(__name__)
EVENTS = ("breach", "gate-failed", "release-failed", "retraining-dispatched", "rolled-back")


@dataclass(frozen=True)
class Alert:
    event: str
    title: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    sent: bool
    attempts: int
    detail: str


def run_url(environ: Mapping[str, str]) -> str | None:
    """The CI run that raised the alert (GitHub Actions), if any."""
    if not environ.get("GITHUB_RUN_ID"):
        return None
    server, repository = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
    return f"{server}/{repository}/actions/runs/{environ['GITHUB_RUN_ID']}"


def payload(settings: Settings, alert: Alert, environ: Mapping[str, str]) -> dict:
    """The JSON body: Slack's ``{"text": ...}`` (mrkdwn), or the event with its fields (generic)."""
    details = {**alert.details, **({"run": url} if (url := run_url(environ)) else {})}
    if settings.alerts.format == "slack":
        lines = [f"*[{settings.tracking.registered_model}] {alert.title}*"]
        lines += [f"• {key}: {value}" for key, value in details.items()]
        return {"text": "\n".join(lines)}
    return {"event": alert.event, "model": settings.tracking.registered_model, "environment": settings.env,
            "title": alert.title, "details": details}  # fmt: skip


def send(settings: Settings, alert: Alert, environ: Mapping[str, str] | None = None, pause: float = 0.5) -> Delivery:
    """POST the alert to the URL in ``$<alerts.webhook_env>``; retried ``alerts.attempts`` times with back-off."""
    environ = os.environ if environ is None else environ
    url = environ.get(settings.alerts.webhook_env, "")
    if not url:
        return Delivery(False, 0, f"not sent: ${settings.alerts.webhook_env} is not set")
    if not url.startswith(("https://", "http://")):
        return Delivery(False, 0, f"not sent: ${settings.alerts.webhook_env} is not an http(s) URL")
    body = json.dumps(payload(settings, alert, environ)).encode()
    detail = ""
    for attempt in range(1, settings.alerts.attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=settings.alerts.timeout_seconds) as response:
                if 200 <= response.status < 300:
                    return Delivery(True, attempt, f"delivered ({response.status})")
                detail = f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            detail = f"HTTP {err.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            detail = str(getattr(err, "reason", err))
        if attempt < settings.alerts.attempts:
            time.sleep(pause * 2 ** (attempt - 1))
    log.warning("alert %r not delivered after %d attempts: %s", alert.event, settings.alerts.attempts, detail)
    return Delivery(
        False, settings.alerts.attempts, f"not delivered after {settings.alerts.attempts} attempts: {detail}"
    )


def announce(settings: Settings, alert: Alert, environ: Mapping[str, str] | None = None) -> Delivery:
    """Send the alert and say what became of it, on stderr and on the CI run's page; never raises."""
    delivery = send(settings, alert, environ)
    line = f"alert {alert.event}: {delivery.detail}"
    print(line if delivery.sent or delivery.attempts == 0 else f"warning: {line}", file=sys.stderr)
    ci.add_summary(f"**Alert `{alert.event}`**: {alert.title}. {delivery.detail}.")
    return delivery
