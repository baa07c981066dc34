"""Serving benchmark: this project's server against `mlflow models serve` on the same @champion.

Measures a baked project with a champion in its dev registry (`make bench-project` bakes one and runs its pipeline).
Both servers run one worker on 127.0.0.1; each is measured at 1 and 8 concurrent clients, every client a thread with
a kept-alive connection sending one-record requests for a fixed time. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from project import ROOT, module

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"nothing answered 200 on 127.0.0.1:{port}{path}")


def load(port: int, path: str, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    """Requests per second and latency percentiles with ``clients`` concurrent keep-alive clients."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = threading.Event()
    headers = {"Content-Type": "application/json"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers={**headers, "X-Request-ID": f"bench-{index}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors[index] += 1
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    every = sorted(t for per in latencies for t in per)
    quantiles = statistics.quantiles(every, n=100)
    return {
        "rps": len(every) / seconds,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "errors": float(sum(errors)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="measuring time per run (default 20)")
    args = parser.parse_args()
    settings = module("config").load_settings("dev", ROOT)
    batch = pd.read_parquet(ROOT / settings.output_dir / "batch.parquet").head(1)
    record = json.loads(
        batch.drop(columns=[settings.data.id_column, settings.data.time_column]).to_json(orient="records")
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    ours_port, mlflow_port = free_port(), free_port()
    contenders = {
        "this project (make serve)": (
            [str(BIN / "python"), "-m", module("cli").__package__, "serve", "--env", "dev", "--port", str(ours_port)],
            ours_port,
            "/health/ready",
            "/predict",
            json.dumps({"records": record}).encode(),
        ),
        "mlflow models serve": (
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                f"models:/{settings.tracking.registered_model}@champion",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(mlflow_port),
                "-w",
                "1",
            ],
            mlflow_port,
            "/ping",
            "/invocations",
            json.dumps({"dataframe_records": record}).encode(),
        ),
    }
    results = {}
    print(
        "| server | clients | requests/s | p50 (ms) | p99 (ms) | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, (command, port, ready, path, body) in contenders.items():
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(port, ready)
            load(port, path, body, 2, 3)  # warm-up
            for clients in (1, 8):
                result = results[(name, clients)] = load(port, path, body, clients, args.seconds)
                print(
                    f"| {name} | {clients} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | "
                    f"{result['errors']:.0f} |",
                    flush=True,
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    ours, theirs = results[("this project (make serve)", 8)], results[("mlflow models serve", 8)]
    print(f"\nthroughput at 8 clients: {ours['rps'] / theirs['rps']:.2f} x mlflow models serve (target >= 1.5)")
    print(f"p99 at 8 clients: {ours['p99_ms']:.1f} ms vs {theirs['p99_ms']:.1f} ms (target: no worse)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
