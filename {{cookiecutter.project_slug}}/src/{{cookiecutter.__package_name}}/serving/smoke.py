"""``smoke``: check a running server from outside: ready, the example records scored, one line of verdict."""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from importlib import resources

from {{ cookiecutter.__package_name }}.config import Settings

HELP = "Check a running server: wait for GET /health/ready, POST the example records to /predict, check the answer"
EXAMPLES = "examples.json"  # raw flight records, shipped in this package
POLL_SECONDS = 1.0  # between two readiness checks
REQUEST_SECONDS = 30.0  # the most one request may take
ANSWERS = (OSError, http.client.HTTPException)  # no answer: refused, reset, timed out, not HTTP


class SmokeTestError(Exception):
    """The server failed the smoke test; the message says how, in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for GET /health/ready to answer 200 (default: 60)"
    )


def examples() -> dict:
    """The example request body: ``{"records": [...]}`` of raw flights."""
    return json.loads(resources.files(__package__).joinpath(EXAMPLES).read_text(encoding="utf-8"))


def call(url: str, body: dict | None = None, timeout: float = REQUEST_SECONDS) -> tuple[int, Message, object]:
    """GET ``url`` (or POST ``body`` as JSON): (status, headers, the JSON answer or its text). Raises when no answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json", "X-Request-ID": "smoke"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:  # an answer, with a status other than 2xx
        status, answer_headers, raw = err.code, err.headers, err.read()
    text = raw.decode("utf-8", errors="replace")
    try:
        return status, answer_headers, json.loads(text)
    except ValueError:
        return status, answer_headers, text.strip()


def _said(answer: object, key: str, limit: int = 500) -> str:
    """What a JSON answer says under ``key`` (the app's error or status), else the answer's text, shortened."""
    said = answer.get(key) if isinstance(answer, dict) else None
    text = " ".join(str(said if said is not None else answer).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wait_until_ready(url: str, timeout: float) -> dict:
    """GET /health/ready until it answers 200 or ``timeout`` seconds pass; then the last reason is the failure."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            status, _, answer = call(f"{url}/health/ready", timeout=min(REQUEST_SECONDS, remaining))
            if status == 200 and isinstance(answer, dict):
                return answer
            reason = _said(answer, "status").removeprefix("not ready: ") + f" (HTTP {status})"
        except ANSWERS as err:
            reason = f"no answer from {url} ({getattr(err, 'reason', err)})"
        if time.monotonic() + POLL_SECONDS > deadline:
            raise SmokeTestError(f"not ready: {reason}, after {timeout:g} s")
        time.sleep(POLL_SECONDS)


def score_examples(url: str) -> tuple[str, int]:
    """POST the example records to /predict: (the version that answered, how many records it scored)."""
    body = examples()
    records = body["records"]
    try:
        status, headers, answer = call(f"{url}/predict", body)
    except ANSWERS as err:
        raise SmokeTestError(f"POST /predict got no answer ({getattr(err, 'reason', err)})") from err
    if status != 200:
        raise SmokeTestError(f"POST /predict answered HTTP {status}: {_said(answer, 'error')}")
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(records):
        count = len(predictions) if isinstance(predictions, list) else "no"
        raise SmokeTestError(f"POST /predict answered {count} predictions for {len(records)} records")
    if any(prediction is None for prediction in predictions):
        raise SmokeTestError("POST /predict answered a null prediction")
    version = headers.get("x-model-version")
    if not version:
        raise SmokeTestError("POST /predict answered without an X-Model-Version header")
    return version, len(records)


def run(url: str, timeout: float) -> tuple[bool, str]:
    """The whole smoke test against ``url``: (passed, the one-line verdict)."""
    url = url.rstrip("/")
    try:
        ready = wait_until_ready(url, timeout)
        version, count = score_examples(url)
    except SmokeTestError as failure:
        return False, f"smoke test failed: {failure}"
    return True, (
        f"smoke test passed: {url} is ready (@champion v{ready.get('champion', '?')}); "
        f"{count} example records scored by v{version}"
    )


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL, or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"--url must be http://host:port or https://host (got {url!r})"
    return None


def execute(settings: Settings, args: argparse.Namespace) -> int:
    problem = check_url(args.url) or (None if args.timeout > 0 else "--timeout must be a positive number of seconds")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    passed, verdict = run(args.url, args.timeout)
    print(verdict)
    return 0 if passed else 1
