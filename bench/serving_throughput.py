"""Serving benchmark: this project's server, on either flavour, against `mlflow models serve` on the same @champion.

Measures a baked project whose dev @champion passed validation with a verified ONNX export (`make bench-serving`
bakes one and runs its pipeline). Four servers run side by side, one worker each on 127.0.0.1: `serve` (the ONNX
flavour) on computed features (`/invocations`) and on raw flight records (`/predict`, which reads the online feature
table and joins the features per request), the same `serve` with the ONNX flavour switched off
(`bench/sklearn_only.py`), and `mlflow models serve`.
Each is measured at 1 and 8 concurrent clients, every client a thread with a kept-alive connection sending
one-record requests for a fixed time; the servers take turns, round after round, so a change in the machine's speed
hits all of them alike. The floor, a one-row prediction of the champion in this process (scikit-learn on a one-row
data frame; the ONNX export on one record), is measured in the same run. Prints Markdown for docs/benchmarks.md.
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
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from onnx_flavour import in_turns
from project import HERE, ROOT, module

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    command: list[str]  # without its port, which comes last
    ready: str  # the path that answers 200 once the model is loaded
    path: str  # the scoring path
    body: bytes  # one record, in the server's format
    flavour: str = ""  # the flavour the server's log must say it loaded ("" for MLflow's)


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


def load(port: int, path: str, body: bytes, clients: int, seconds: float) -> tuple[list[float], int]:
    """(latency of every request in seconds, errors) with ``clients`` concurrent keep-alive clients."""
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
    return [t for per in latencies for t in per], sum(errors)


def summary(latencies: list[float], seconds: float, errors: int) -> dict[str, float]:
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "errors": float(errors),
    }


def floors(settings, record: list[dict]) -> dict[str, list[float]]:
    """Seconds per one-row prediction of the champion in this process: scikit-learn on a one-row frame with OpenMP's
    default threads and, as the server calls it, from a thread capped at one OpenMP thread; the ONNX export on one
    record. In turns."""
    tracking = module("io.tracking")
    spec = module("core.task").task_spec(settings.task)
    registry = tracking.connect(settings)
    version = registry.version_by_alias(tracking.CHAMPION)
    sklearn_model = registry.load(version).model
    served = registry.load(version, prefer_onnx=True)
    if served.flavour != "onnx":
        sys.exit(f"the dev @champion has no verified ONNX export (onnx tag: {version.tags.get(tracking.ONNX_TAG)!r})")
    frame = pd.DataFrame(record)[list(served.inputs)]
    with ThreadPoolExecutor(1, initializer=module("serving.scoring").one_openmp_thread) as one_thread:
        return in_turns(
            {
                "scikit-learn, OpenMP default threads": lambda: spec.scores(sklearn_model, frame),
                "scikit-learn, one OpenMP thread (as served)": lambda: one_thread.submit(
                    spec.scores, sklearn_model, frame
                ).result(),
                "ONNX, one record (as served)": lambda: spec.scores(served.model, record),
            },
            rounds=15,
            calls=20,
        )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="measuring time per turn (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every server and client count (default 3)")
    args = parser.parse_args()
    settings = module("config").load_settings("dev", ROOT)
    batch = pd.read_parquet(ROOT / settings.output_dir / "batch.parquet").head(1)
    record = json.loads(
        batch.drop(columns=[settings.data.id_column, settings.data.time_column]).to_json(orient="records")
    )
    features = module("core.features")
    flights = pd.read_parquet(ROOT / "data" / "raw" / "flights.parquet")
    flight = flights[features.flight_ids(flights) == batch[settings.data.id_column].iloc[0]]
    raw = json.loads(features.request_records(flight).to_json(orient="records"))  # the same flight, as scheduled
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average {loadavg()} at start")
    floor = floors(settings, record)
    package = module("cli").__package__
    ours = [str(BIN / "python"), "-m", package, "serve", "--env", "dev", "--port"]
    ours_sklearn = [str(BIN / "python"), str(HERE / "sklearn_only.py"), "serve", "--env", "dev", "--port"]
    mlflow = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{settings.tracking.registered_model}@champion"]
    mlflow += ["--env-manager", "local", "-h", "127.0.0.1", "-w", "1", "-p"]
    ours_body = json.dumps({"records": record}).encode()
    contenders = {
        "this project, ONNX flavour": Server(ours, "/health/ready", "/invocations", ours_body, "onnx"),
        "this project, scikit-learn flavour": Server(
            ours_sklearn, "/health/ready", "/invocations", ours_body, "sklearn"
        ),
        "this project, ONNX flavour, raw record on /predict": Server(
            ours, "/health/ready", "/predict", json.dumps({"records": raw}).encode(), "onnx"
        ),
        "mlflow models serve": Server(
            mlflow, "/ping", "/invocations", json.dumps({"dataframe_records": record}).encode()
        ),
    }
    processes, ports = {}, {}
    logs = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        for index, (name, server) in enumerate(contenders.items()):
            ports[name] = free_port()
            with (logs / f"{index}.log").open("w") as log:
                processes[name] = subprocess.Popen(
                    [*server.command, str(ports[name])], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
                )
        for index, (name, server) in enumerate(contenders.items()):
            wait_ready(ports[name], server.ready)
            load(ports[name], server.path, server.body, 2, 3)  # warm-up
            text = (logs / f"{index}.log").read_text()
            if server.flavour and f"({server.flavour} flavour)" not in text:
                sys.exit(f"{name}: its log does not say it loaded the {server.flavour} flavour:\n{text[-2000:]}")
        pooled: dict[tuple[str, int], list] = {(name, c): [[], 0, 0.0] for name in contenders for c in (1, 8)}
        ratios = []
        for _ in range(args.rounds):
            rps = {}
            for clients in (1, 8):
                for name, server in contenders.items():
                    latencies, errors = load(ports[name], server.path, server.body, clients, args.seconds)
                    entry = pooled[(name, clients)]
                    entry[0] += latencies
                    entry[1] += errors
                    entry[2] += args.seconds
                    rps[(name, clients)] = len(latencies) / args.seconds
            ratios.append(rps[("this project, ONNX flavour", 8)] / rps[("mlflow models serve", 8)])
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    results = {key: summary(latencies, seconds, errors) for key, (latencies, errors, seconds) in pooled.items()}
    failed = {key: result["errors"] for key, result in results.items() if result["errors"]}
    if failed:
        sys.exit(f"requests failed, so no figure is valid: {failed}")
    print(f"load average {loadavg()} at the end; {args.rounds} rounds of {args.seconds:.0f} s per server and clients\n")
    print(
        "| server | clients | requests/s | p50 (ms) | p99 (ms) | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for (name, clients), result in results.items():
        print(
            f"| {name} | {clients} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | "
            f"{result['errors']:.0f} |"
        )
    print("\n| one-row prediction in this process | median (ms) | min (ms) |\n| --- | ---: | ---: |")
    for name, seconds in floor.items():
        print(f"| {name} | {statistics.median(seconds) * 1e3:.3f} | {min(seconds) * 1e3:.3f} |")
    onnx, sklearn, raw8, theirs = (results[(name, 8)] for name in contenders)
    onnx1, sklearn1, raw1 = (results[(name, 1)] for name in list(contenders)[:3])
    sk_default, sk_floor, onnx_floor = (statistics.median(seconds) * 1e3 for seconds in floor.values())
    print(
        f"\np50 at 1 client: ONNX flavour {onnx1['p50_ms']:.2f} ms = {onnx1['p50_ms'] / sk_floor:.2f} x the "
        f"scikit-learn floor ({onnx1['p50_ms'] / sk_default:.2f} x with OpenMP's default threads; "
        f"{onnx1['p50_ms'] / onnx_floor:.0f} x the ONNX floor); scikit-learn flavour {sklearn1['p50_ms']:.2f} ms = "
        f"{sklearn1['p50_ms'] / sk_floor:.2f} x its floor (target <= 1.5)"
    )
    print(
        f"throughput at 8 clients: ONNX flavour {onnx['rps'] / theirs['rps']:.1f} x mlflow models serve "
        f"(per round: {', '.join(f'{r:.1f}' for r in ratios)}; target >= 10), scikit-learn flavour "
        f"{sklearn['rps'] / theirs['rps']:.1f} x"
    )
    print(
        f"raw records on /predict (online lookup + feature join per request): p50 at 1 client {raw1['p50_ms']:.2f} ms "
        f"= {raw1['p50_ms'] / sk_floor:.2f} x the scikit-learn floor; {raw8['rps'] / theirs['rps']:.1f} x mlflow "
        f"models serve's throughput at 8 clients"
    )
    print(
        f"p99 at 8 clients: {onnx['p99_ms']:.1f} ms (ONNX), {sklearn['p99_ms']:.1f} ms (scikit-learn) vs "
        f"{theirs['p99_ms']:.1f} ms (mlflow models serve; target: lower)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
