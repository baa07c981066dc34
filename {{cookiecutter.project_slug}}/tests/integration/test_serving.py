"""The HTTP server, for real on 127.0.0.1: canary split, client errors, alias moves under load, the inference log."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.serving import server
from {{ cookiecutter.__package_name }}.serving.models import Router, bucket
from {{ cookiecutter.__package_name }}.serving.scoring import BatchScorer, InferenceLog

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """Two registered versions (champion v1, challenger v2), served with a 10 % canary and a 0.3 s alias refresh."""
    root = copy_project(tmp_path_factory.mktemp("serving"))
    edit_yaml(root / "params.yaml", lambda doc: doc["serve"].update(challenger_fraction=0.1, refresh_seconds=0.3))
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    args = ["--env", "dev", "--root", str(root)]
    assert main(["features", *args]) == 0
    assert main(["train", *args]) == 0
    edit_yaml(root / "params.yaml", lambda doc: doc["train"].update(seed=7))
    assert main(["train", *args]) == 0
    settings = load_settings("dev", root)
    registry = tracking.connect(settings)
    registry.set_alias(tracking.CHAMPION, "1")
    registry.set_alias(tracking.CHALLENGER, "2")
    uvicorn_server, url = server.start(settings, server.free_port())
    batch = pd.read_parquet(root / "data/dev/batch.parquet").head(5).drop(columns=[settings.data.time_column])
    records = json.loads(batch.to_json(orient="records"))
    yield {"url": url, "records": records, "registry": registry, "settings": settings, "root": root}
    uvicorn_server.should_exit = True


def call(url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload) if payload else None


def predict(url: str, records: list[dict], request_id: str, path: str = "/predict"):
    body = json.dumps({"records": records}).encode()
    return call(url, "POST", path, body, {"Content-Type": "application/json", "X-Request-ID": request_id})


def test_health_and_metadata(served) -> None:
    """Live and ready answer 200 once the champion is loaded; metadata names versions, aliases and lineage."""
    assert call(served["url"], "GET", "/health/live")[0] == 200
    status, ready = call(served["url"], "GET", "/health/ready")
    assert status == 200 and ready["champion"] == "1"
    status, meta = call(served["url"], "GET", "/metadata")
    assert status == 200 and meta["aliases"]["champion"]["version"] == "1"
    assert meta["aliases"]["challenger"]["version"] == "2"
    assert meta["aliases"]["champion"]["tags"]["git_commit"]


def test_canary_split_is_sticky_and_about_ten_percent(served) -> None:
    """About 10 % of distinct request ids are answered by the challenger (within 4 standard errors), each response
    names its version, and the same id always gets the same version."""
    answered = {}
    for index in range(1000):
        status, answer = predict(served["url"], served["records"][:1], f"req-{index}")
        assert status == 200
        answered[f"req-{index}"] = answer["model"]["version"]
    share = sum(version == "2" for version in answered.values()) / len(answered)
    standard_error = (0.1 * 0.9 / len(answered)) ** 0.5
    assert abs(share - 0.1) < 4 * standard_error, share
    for request_id in list(answered)[:50]:
        assert predict(served["url"], served["records"][:1], request_id)[1]["model"]["version"] == answered[request_id]


def test_invocations_accepts_mlflow_formats(served) -> None:
    records = served["records"]
    columns = list(records[0])
    split = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records]}}
    headers = {"Content-Type": "application/json"}
    status, answer = call(served["url"], "POST", "/invocations", json.dumps(split).encode(), headers)
    assert status == 200 and len(answer["predictions"]) == len(records)
    status, answer = call(
        served["url"], "POST", "/invocations", json.dumps({"dataframe_records": records}).encode(), headers
    )
    assert status == 200 and len(answer["predictions"]) == len(records)


@pytest.mark.parametrize(
    ("name", "status", "needle"),
    [
        ("malformed JSON", 400, "malformed JSON"),
        ("missing column", 400, "missing column 'distance'"),
        ("extra column", 400, "unexpected column 'colour'"),
        ("wrong type", 400, "column 'distance' must be a finite number"),
        ("string expected", 400, "column 'carrier' must be a string"),
        ("empty list", 400, "non-empty list"),
        ("too large", 413, "over the limit"),
        ("wrong content type", 415, "Content-Type must be application/json"),
        ("no content type", 415, "Content-Type must be application/json"),
    ],
)
def test_client_errors_are_client_errors(served, name: str, status: int, needle: str) -> None:
    """Bad requests get 400/413/415 with a JSON error naming the problem; never a 500, never a stack trace."""
    record = dict(served["records"][0])
    headers = {"Content-Type": "application/json"}
    body: bytes
    if name == "malformed JSON":
        body = b'{"records": [{"carrier": "UA",'
    elif name == "missing column":
        body = json.dumps({"records": [{k: v for k, v in record.items() if k != "distance"}]}).encode()
    elif name == "extra column":
        body = json.dumps({"records": [{**record, "colour": "blue"}]}).encode()
    elif name == "wrong type":
        body = json.dumps({"records": [{**record, "distance": "far"}]}).encode()
    elif name == "string expected":
        body = json.dumps({"records": [{**record, "carrier": 42}]}).encode()
    elif name == "empty list":
        body = json.dumps({"records": []}).encode()
    elif name == "too large":
        body = json.dumps({"records": [record] * 3000}).encode()
        assert len(body) > 1_000_000
    else:
        body = json.dumps({"records": [record]}).encode()
        headers = {"Content-Type": "text/plain"} if name == "wrong content type" else {}
    got, answer = call(served["url"], "POST", "/predict", body, headers)
    assert got == status, answer
    assert needle in answer["error"]
    assert "Traceback" not in answer["error"]


def test_alias_move_under_load_drops_nothing(served) -> None:
    """While a client keeps sending, @champion moves from v1 to v2: every request succeeds and answers switch."""
    registry, url = served["registry"], served["url"]
    seen, failures, stop = [], [], threading.Event()

    champion_ids = [f"load-{i}" for i in range(100) if bucket(f"load-{i}") >= 0.1][:7]  # ids routed to @champion

    def client() -> None:
        index = 0
        while not stop.is_set():
            status, answer = predict(url, served["records"][:1], champion_ids[index % len(champion_ids)])
            (seen if status == 200 else failures).append(answer["model"]["version"] if status == 200 else answer)
            index += 1

    worker = threading.Thread(target=client)
    worker.start()
    try:
        time.sleep(1.0)
        registry.set_alias(tracking.CHAMPION, "2")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not seen or seen[-1] != "2"):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
        registry.set_alias(tracking.CHAMPION, "1")
    assert failures == []
    assert seen[0] == "1" and seen[-1] == "2"
    first_new = seen.index("2")
    assert set(seen[first_new:]) == {"2"}


def test_every_prediction_is_logged(served) -> None:
    """The inference log has features, prediction, model version, timestamp and request id for each record."""
    predict(served["url"], served["records"], "logged-request")
    log_path = Path(served["root"]) / "data" / "dev" / served["settings"].serve.inference_log
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    mine = [line for line in lines if line["request_id"] == "logged-request"]
    assert len(mine) == len(served["records"])
    assert {"features", "prediction", "model_version", "timestamp", "request_id"} <= set(mine[0])
    assert mine[0]["features"]["distance"] == served["records"][0]["distance"]


def test_concurrent_requests_share_a_batch_and_keep_their_own_answers(served, tmp_path: Path) -> None:
    """50 requests queued at once, split between two versions, are scored as one batch; each gets exactly what its
    own model predicts for its own records alone, and each record is logged once."""
    settings = served["settings"]
    router = Router(settings)
    router.refresh()
    versions = [router.champion, router.challenger]
    inputs = list(versions[0].inputs)
    frame = pd.read_parquet(served["root"] / "data/dev/batch.parquet").head(100)[inputs]
    records = frame.to_dict(orient="records")
    batches: list[int] = []

    class CountingScorer(BatchScorer):
        def _score(self, batch):
            batches.append(len(batch))
            return super()._score(batch)

    spec = task_spec(settings.task)
    scorer = CountingScorer(spec, 256, InferenceLog(tmp_path / "inference.jsonl"))

    async def send_all() -> list[list[float]]:
        scorer.start()
        try:
            requests = (scorer.score(f"r{i}", versions[i % 2], records[2 * i : 2 * i + 2]) for i in range(50))
            return await asyncio.gather(*requests)
        finally:
            await scorer.stop()

    answers = asyncio.run(send_all())
    assert batches == [50]
    for index, answer in enumerate(answers):
        alone = spec.scores(versions[index % 2].model, frame.iloc[2 * index : 2 * index + 2])
        assert answer == pytest.approx(alone.tolist(), rel=1e-12, abs=1e-12)
    logged = [json.loads(line) for line in (tmp_path / "inference.jsonl").read_text().splitlines()]
    assert sorted(line["request_id"] for line in logged) == sorted(f"r{i}" for i in range(50) for _ in range(2))
    assert {line["model_version"] for line in logged} == {versions[0].version, versions[1].version}
