"""``serve``: run the app with uvicorn; ``serve --smoke``: start it, run the smoke test against it, stop."""

from __future__ import annotations

import argparse
import socket
import threading
import time

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.serving import smoke as smoke_test
from {{ cookiecutter.__package_name }}.serving.app import create_app

SMOKE_READY_SECONDS = 10.0  # the app loads its models before it answers: ready by then, or never
HELP = "Serve @champion (and @challenger for serve.challenger_fraction of request ids) over HTTP"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serve.port)")
    parser.add_argument(
        "--smoke", action="store_true", help="start on a free port, run the smoke test (the example records), stop"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(settings: Settings, port: int):
    """Start uvicorn in a background thread; return (server, base URL) once it answers."""
    import uvicorn

    config = uvicorn.Config(create_app(settings), host=settings.serve.host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="uvicorn", daemon=True).start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not start within 120 s")
        time.sleep(0.1)
    return server, f"http://{settings.serve.host}:{port}"


def smoke(settings: Settings) -> int:
    """Start the app on a free port, run the smoke test (serving/smoke.py) against it, stop."""
    server, url = start(settings, free_port())
    try:
        passed, verdict = smoke_test.run(url, SMOKE_READY_SECONDS)
    finally:
        server.should_exit = True
    print(verdict)
    return 0 if passed else 1


def execute(settings: Settings, args: argparse.Namespace) -> int:
    if args.smoke:
        return smoke(settings)
    import uvicorn

    host, port = args.host or settings.serve.host, args.port or settings.serve.port
    print(f"serving {settings.tracking.registered_model} on http://{host}:{port} (Ctrl-C to stop)")
    # No access log: the inference log has every request already, and a line per request costs throughput.
    uvicorn.run(create_app(settings), host=host, port=port, workers=1, log_level="info", access_log=False)
    return 0
