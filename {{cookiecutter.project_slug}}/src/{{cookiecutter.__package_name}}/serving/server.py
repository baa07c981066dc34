"""``serve``: run the app with uvicorn; ``serve --smoke``: start it, score one real record, stop."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.data import output_path
from {{ cookiecutter.__package_name }}.serving.app import create_app

HELP = "Serve @champion (and @challenger for serve.challenger_fraction of request ids) over HTTP"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serve.port)")
    parser.add_argument(
        "--smoke", action="store_true", help="start on a free port, score records of the batch to score, check, stop"
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
    server, url = start(settings, free_port())
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=30) as response:
            ready = json.load(response)
        batch = pd.read_parquet(settings.path(output_path(settings, "batch.parquet"))).head(3)
        records = json.loads(batch.drop(columns=[settings.data.time_column]).to_json(orient="records"))
        request = urllib.request.Request(
            f"{url}/predict",
            data=json.dumps({"records": records}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "smoke"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        print(f"serving smoke test failed: HTTP {err.code}: {err.read().decode()}")
        return 1
    finally:
        server.should_exit = True
    assert len(answer["predictions"]) == len(records)
    print(
        f"serving smoke test passed: {url} ready with v{ready['champion']}; "
        f"{len(records)} records scored by {answer['model']['name']} v{answer['model']['version']}"
    )
    return 0


def execute(settings: Settings, args: argparse.Namespace) -> int:
    if args.smoke:
        return smoke(settings)
    import uvicorn

    host, port = args.host or settings.serve.host, args.port or settings.serve.port
    print(f"serving {settings.tracking.registered_model} on http://{host}:{port} (Ctrl-C to stop)")
    # No access log: the inference log has every request already, and a line per request costs throughput.
    uvicorn.run(create_app(settings), host=host, port=port, workers=1, log_level="info", access_log=False)
    return 0
