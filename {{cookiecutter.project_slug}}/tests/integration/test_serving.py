"""The HTTP server, for real on 127.0.0.1: raw records with the batch pipeline's answers, canary split, judging and
abort, shadow mode, /metrics, client errors, alias moves under load, the inference log, a start before any champion."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.explain import Explainer
from {{ cookiecutter.__package_name }}.core.features import build_features, flight_ids, request_records
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import read_features
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
    assert main(["online", *args]) == 0
    assert main(["train", *args]) == 0
    edit_yaml(root / "params.yaml", lambda doc: doc["train"].update(seed=7))
    assert main(["train", *args]) == 0
    settings = load_settings("dev", root)
    registry = tracking.connect(settings)
    registry.set_alias(tracking.CHAMPION, "1")
    registry.set_alias(tracking.CHALLENGER, "2")
    uvicorn_server, url = server.start(settings, server.free_port())
    batch = pd.read_parquet(root / "data/dev/batch.parquet").head(5).drop(columns=[settings.data.time_column])
    features = json.loads(batch.to_json(orient="records"))
    flights = pd.read_parquet(root / "data/raw/flights.parquet")
    labelled = flights[flights["dep_delay"].notna()].reset_index(drop=True)
    records = json.loads(request_records(labelled.head(5)).to_json(orient="records"))
    yield {"url": url, "records": records, "features": features, "flights": flights, "labelled": labelled,
           "registry": registry, "settings": settings, "root": root, "args": args}  # fmt: skip
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
    for loaded in meta["aliases"].values():  # served on ONNX exactly when validation verified the export
        assert loaded["flavour"] == ("onnx" if loaded["tags"].get("onnx") == "verified" else "sklearn"), loaded


def test_canary_split_is_sticky_and_about_ten_percent(served) -> None:
    """About 10 % of distinct request ids are answered by the challenger (within 4 standard errors), each response
    names its version, and the same id always gets the same version."""
    answered = {}
    # the routing is the same for both paths: /invocations skips the raw path's feature join, so 1,000 requests
    # take seconds (the raw path has its own tests)
    features, path = served["features"][:1], "/invocations"
    for index in range(1000):
        status, answer = predict(served["url"], features, f"req-{index}", path)
        assert status == 200
        answered[f"req-{index}"] = answer["model"]["version"]
    share = sum(version == "2" for version in answered.values()) / len(answered)
    standard_error = (0.1 * 0.9 / len(answered)) ** 0.5
    assert abs(share - 0.1) < 4 * standard_error, share
    for request_id in list(answered)[:50]:
        assert predict(served["url"], features, request_id, path)[1]["model"]["version"] == answered[request_id]
    assert predict(served["url"], served["records"][:1], "req-7")[1]["model"]["version"] == answered["req-7"]


def test_invocations_accepts_mlflow_formats(served) -> None:
    records = served["features"]
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
        ("missing field", 400, "missing field 'distance'"),
        ("extra field", 400, "unexpected field 'colour'"),
        ("wrong type", 400, "field 'distance' must be a number"),
        ("string expected", 400, "field 'carrier' must be a non-empty string"),
        ("time with an offset", 400, "field 'scheduled_departure' must be a local date-time"),
        ("computed features on /predict", 400, "unexpected field 'dep_hour'"),
        ("missing column on /invocations", 400, "missing column 'distance'"),
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
    elif name == "missing field":
        body = json.dumps({"records": [{k: v for k, v in record.items() if k != "distance"}]}).encode()
    elif name == "extra field":
        body = json.dumps({"records": [{**record, "colour": "blue"}]}).encode()
    elif name == "time with an offset":
        body = json.dumps({"records": [{**record, "scheduled_departure": "2013-01-01T06:00+05:00"}]}).encode()
    elif name == "computed features on /predict":
        body = json.dumps({"records": served["features"][:1]}).encode()
    elif name == "missing column on /invocations":
        feature_row = {k: v for k, v in served["features"][0].items() if k != "distance"}
        body = json.dumps({"records": [feature_row]}).encode()
    elif name == "wrong type":
        body = json.dumps({"records": [{**record, "distance": "far"}]}).encode()
    elif name == "string expected":
        body = json.dumps({"records": [{**record, "carrier": 42}]}).encode()
    elif name == "empty list":
        body = json.dumps({"records": []}).encode()
    elif name == "too large":
        body = json.dumps({"records": [record] * 6000}).encode()
        assert len(body) > 1_000_000
    else:
        body = json.dumps({"records": [record]}).encode()
        headers = {"Content-Type": "text/plain"} if name == "wrong content type" else {}
    path = "/invocations" if name.endswith("/invocations") else "/predict"
    got, answer = call(served["url"], "POST", path, body, headers)
    assert got == status, answer
    assert needle in answer["error"]
    assert "Traceback" not in answer["error"]


def under_load(url: str, records: list[dict], request_ids: list[str], change, new_version: str, undo):
    """Keep one client sending (cycling through ``request_ids``) while ``change()`` runs, until the answers come from
    ``new_version``; then ``undo()``. Returns (the versions that answered, in order; the failed answers)."""
    seen, failures, stop = [], [], threading.Event()

    def client() -> None:
        index = 0
        while not stop.is_set():
            status, answer = predict(url, records, request_ids[index % len(request_ids)])
            (seen if status == 200 else failures).append(answer["model"]["version"] if status == 200 else answer)
            index += 1

    worker = threading.Thread(target=client)
    worker.start()
    try:
        time.sleep(1.0)
        change()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not seen or seen[-1] != new_version):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
        undo()
    return seen, failures


def test_alias_move_under_load_drops_nothing(served) -> None:
    """While a client keeps sending, @champion moves from v1 to v2: every request succeeds and answers switch."""
    registry = served["registry"]
    champion_ids = [f"load-{i}" for i in range(100) if bucket(f"load-{i}") >= 0.1][:7]  # ids routed to @champion
    seen, failures = under_load(
        served["url"], served["records"][:1], champion_ids,
        change=lambda: registry.set_alias(tracking.CHAMPION, "2"), new_version="2",
        undo=lambda: registry.set_alias(tracking.CHAMPION, "1"),
    )  # fmt: skip
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
    expected_id = flight_ids(served["labelled"].head(1)).iloc[0]
    assert mine[0]["features"][served["settings"].data.id_column] == expected_id  # what judging joins labels on


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


def champion_ids(count: int, prefix: str, fraction: float = 0.1) -> list[str]:
    """Request ids the canary routes to @champion (bucket at or above the challenger's share)."""
    return [rid for rid in (f"{prefix}-{i}" for i in range(count * 3)) if bucket(rid) >= fraction][:count]


def test_raw_records_get_the_batch_pipelines_answers(served, tmp_path: Path) -> None:
    """1,000 real flights (cancelled ones too), sent raw: the server computes their inputs with the online feature
    table and answers what batch `predict` answers for the same flights, to 1e-9."""
    settings, root = served["settings"], served["root"]
    flights = served["flights"].sample(n=1000, random_state=3).reset_index(drop=True)
    weather, planes = (pd.read_parquet(root / f"data/raw/{name}.parquet") for name in ("weather", "planes"))
    batch = build_features(flights, weather, planes, settings.task, labelled_only=False)
    batch = batch.drop(columns=[settings.data.target])
    # the sample holds flights whose plane or weather hour the lookups lack: those take the missing-value path
    assert batch["plane_age"].isna().sum() >= 10 and batch["temp"].isna().sum() >= 1
    batch.to_parquet(tmp_path / "flights.parquet", index=False)
    out = tmp_path / "predictions.parquet"
    assert main(["predict", *served["args"], "--input", str(tmp_path / "flights.parquet"), "--output", str(out)]) == 0
    expected = pd.read_parquet(out).set_index(settings.data.id_column)["prediction"]
    records = json.loads(request_records(flights).to_json(orient="records"))
    ids = champion_ids(10, "parity")
    answered = {}
    for index in range(10):
        status, answer = predict(served["url"], records[index * 100 : (index + 1) * 100], ids[index])
        assert status == 200, answer
        assert answer["model"]["version"] == "1"
        answered.update(zip(answer["flight_id"], answer["predictions"], strict=True))
    assert len(answered) == len(expected) == 1000
    got = pd.Series(answered).reindex(expected.index)
    largest = float((got - expected).abs().max())
    print(f"parity: {len(got)} flights sent raw, largest |server - batch predict| = {largest:.3g}")
    assert largest <= 1e-9


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("content-type").startswith("text/plain")
    text = response.read().decode()
    connection.close()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_and_time_requests_per_model_version(served) -> None:
    """/metrics scraped before and after 100 requests: +100 answered by v1, a latency histogram for v1 with +100
    observations spread over its buckets, batch sizes, the model loads."""
    url = served["url"]
    before = scrape(url)
    for request_id in champion_ids(100, "metrics"):
        assert predict(url, served["records"][:2], request_id)[0] == 200
    after = scrape(url)

    def grown(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grown("serving_requests_total", route="/predict", status="2xx", model_version="1") == 100
    assert grown("serving_request_seconds_count", route="/predict", model_version="1") == 100
    buckets = [v for (name, labels), v in after.items() if name == "serving_request_seconds_bucket"
               and dict(labels).get("model_version") == "1" and dict(labels).get("route") == "/predict"]  # fmt: skip
    assert len(buckets) >= 10 and max(buckets) >= 100
    assert grown("serving_request_rows_count", route="/predict") == 100
    assert grown("serving_request_rows_sum", route="/predict") == 200
    assert grown("serving_batch_rows_count", model_version="1") >= 1
    assert after[("serving_model_loaded", (("alias", "champion"), ("model_version", "1")))] == 1
    assert after[("serving_model_load_seconds", (("alias", "champion"), ("model_version", "1")))] > 0


def test_canary_is_judged_on_labelled_traffic_then_aborted_without_a_failed_request(served, capsys) -> None:
    """With the challenger at 10 %, `canary judge` reports both versions' metric on the labelled flights each answered
    (with an interval and a p-value); `canary abort` while a client keeps sending returns every request to the
    champion, and no request fails."""
    url, labelled, args = served["url"], served["labelled"], served["args"]
    records = json.loads(request_records(labelled.sample(n=600, random_state=5)).to_json(orient="records"))
    for index in range(0, len(records), 5):  # 120 requests of 5 flights: each request's flights go to one version
        assert predict(url, records[index : index + 5], f"judge-{index}")[0] == 200
    capsys.readouterr()
    assert main(["canary", "judge", *args, "--min-labelled", "20"]) == 0
    report = capsys.readouterr().out
    with capsys.disabled():
        print(report)
    metric = task_spec(served["settings"].task).primary_metric
    lines = {line.split()[0]: line for line in report.splitlines() if line.strip().startswith("@")}
    assert "v1" in lines["@champion"] and "v2" in lines["@challenger"], report
    for line in lines.values():
        assert f"{metric} n/a" not in line and metric in line, report
    assert "95 % interval" in report and "p = " in report and "verdict" in report

    challenger_ids = [rid for rid in (f"abort-{i}" for i in range(300)) if bucket(rid) < 0.1][:5]

    def abort() -> None:
        assert main(["canary", "abort", *args]) == 0

    def ramp_back() -> None:
        assert main(["canary", "ramp", *args, "--to", "0.1"]) == 0
        time.sleep(1.0)

    seen, failures = under_load(url, served["records"][:1], challenger_ids, abort, new_version="1", undo=ramp_back)
    assert failures == []
    assert seen[0] == "2" and seen[-1] == "1"
    assert set(seen[seen.index("1") :]) == {"1"}


def test_shadow_mode_scores_with_the_challenger_and_answers_with_the_champion(served) -> None:
    """`canary ramp --shadow`: every request is answered by v1, and v2 scores the same records into the log."""
    url, args = served["url"], served["args"]
    assert main(["canary", "ramp", *args, "--shadow"]) == 0
    try:
        deadline = time.monotonic() + 20
        while call(url, "GET", "/metadata")[1]["canary_mode"] != "shadow" and time.monotonic() < deadline:
            time.sleep(0.1)
        ids = [rid for rid in (f"shadow-{i}" for i in range(300)) if bucket(rid) < 0.1][:3]  # ids a split would give v2
        for request_id in ids:
            status, answer = predict(url, served["records"][:2], request_id)
            assert status == 200 and answer["model"]["version"] == "1"
        time.sleep(1.0)  # the shadow scoring finishes after the answer
    finally:
        assert main(["canary", "ramp", *args, "--to", "0.1"]) == 0
        time.sleep(1.0)
    log_path = Path(served["root"]) / "data" / "dev" / served["settings"].serve.inference_log
    logged = [json.loads(line) for line in log_path.read_text().splitlines()]
    for request_id in ids:
        versions = sorted(line["model_version"] for line in logged if line["request_id"] == request_id)
        assert versions == ["1", "1", "2", "2"], (request_id, versions)


def explain(url: str, rows: list[dict], request_id: str, path: str, flag: str = "true"):
    body = json.dumps({"records": rows}).encode()
    headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
    return call(url, "POST", f"{path}?explain={flag}", body, headers)


def test_explanations_on_request_come_from_the_answering_versions_trees_on_either_flavour(served) -> None:
    """?explain=true adds each record's largest SHAP contributions: on the scikit-learn flavour and on a verified
    ONNX export alike they are core.explain's figures for the answering version's scikit-learn trees, raw flights
    included; beyond governance.explain_max_rows records, or with explain neither true nor false, a 400 says why;
    without explain=true the answer has no explanations."""
    settings, registry, features = served["settings"], served["registry"], served["features"][:3]
    top_k = settings.governance.explain_top_k
    request_id = next(f"explain-{i}" for i in range(100) if bucket(f"explain-{i}") >= 0.1)  # the champion answers

    batch = pd.read_parquet(served["root"] / "data/dev/batch.parquet").head(3)  # the rows of `features`

    def expected(version: str) -> list[list[dict]]:
        loaded = registry.load(registry.version(version))  # the scikit-learn flavour
        return Explainer(loaded.model).records(batch[list(loaded.inputs)], top_k)

    def same(answer: list[list[dict]], wanted: list[list[dict]]) -> None:
        assert [[item["feature"] for item in row] for row in answer] == [[i["feature"] for i in r] for r in wanted]
        got = [item["contribution"] for row in answer for item in row]
        assert got == pytest.approx([item["contribution"] for row in wanted for item in row], abs=1e-9)

    status, plain = predict(served["url"], features, request_id, "/invocations")
    assert status == 200 and "explanations" not in plain
    status, answer = explain(served["url"], features, request_id, "/invocations")
    assert status == 200 and answer["predictions"] == plain["predictions"] and answer["model"]["version"] == "1"
    same(answer["explanations"], expected("1"))
    assert answer["explanation_units"].startswith(("log-odds", "the label"))

    version = registry.version("1")
    holdout = holdout_split(settings, read_features(settings))[1]
    assert registry.verify_onnx(version, holdout)[tracking.ONNX_TAG] == tracking.ONNX_VERIFIED
    capped = settings.model_copy(
        update={"governance": settings.governance.model_copy(update={"explain_max_rows": len(features)})}
    )
    onnx_server, url = server.start(capped, server.free_port())
    try:
        assert call(url, "GET", "/metadata")[1]["aliases"]["champion"]["flavour"] == "onnx"
        status, answer = explain(url, features, request_id, "/invocations")
        assert status == 200 and answer["model"]["version"] == "1"
        same(answer["explanations"], expected("1"))
        status, answer = explain(url, served["records"][:3], request_id, "/predict")
        assert status == 200 and len(answer["explanations"]) == 3 == len(answer["predictions"])
        assert all(len(row) == top_k for row in answer["explanations"])
        status, answer = explain(url, served["features"][:4], request_id, "/invocations")
        assert status == 400 and "at most 3 are explained" in answer["error"] and "explain_max_rows" in answer["error"]
        status, answer = explain(url, features, request_id, "/invocations", flag="maybe")
        assert status == 400 and "explain must be true or false" in answer["error"]
    finally:
        onnx_server.should_exit = True
        registry.tag("1", {tracking.ONNX_TAG: version.tags[tracking.ONNX_TAG]})  # the others' server: scikit-learn


def test_a_server_started_before_any_champion_waits_then_serves_the_first_one(served) -> None:
    """A new project's first deploy: the model has no version yet. The server starts, /health/ready says 503 and
    what is missing, /predict says 503; once a first version is registered and made champion, it serves it, with
    no restart."""
    settings = served["settings"]
    fresh = settings.model_copy(
        update={"tracking": settings.tracking.model_copy(update={"registered_model": "first_deploy"})}
    )
    uvicorn_server, url = server.start(fresh, server.free_port())
    try:
        status, ready = call(url, "GET", "/health/ready")
        assert status == 503 and "no @champion loaded" in ready["status"] and "first_deploy" in ready["status"]
        status, answer = predict(url, served["records"][:1], "before")
        assert status == 503 and "no @champion" in answer["error"]
        registry = tracking.connect(fresh)
        source = registry.client.get_model_version(settings.tracking.registered_model, "1")
        registry.client.create_registered_model("first_deploy")
        created = registry.client.create_model_version("first_deploy", source.source, source.run_id)
        registry.set_alias(tracking.CHAMPION, str(created.version))
        deadline = time.monotonic() + 30
        while call(url, "GET", "/health/ready")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        status, answer = predict(url, served["records"][:1], "after")
        assert status == 200 and answer["model"] == {"name": "first_deploy", "version": "1", "alias": "champion"}
    finally:
        uvicorn_server.should_exit = True
