"""No request body gets a 5xx: requests generated from the app's own OpenAPI document (schemathesis) and hostile
payloads (hypothesis), sent to the real server on 127.0.0.1, bounded in count and time."""

from __future__ import annotations

import http.client
import json
import math

import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.features import request_records
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import read_features
from {{ cookiecutter.__package_name }}.serving import server

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration
BOUNDED = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """A champion served on a free port of 127.0.0.1, in its verified ONNX flavour (what `serve` serves)."""
    root = copy_project(tmp_path_factory.mktemp("fuzz"))
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    for step in ("features", "online", "train"):
        assert main([step, "--env", "dev", "--root", str(root)]) == 0
    settings_ = load_settings("dev", root)
    registry = tracking.connect(settings_)
    champion = registry.versions()[-1]
    registry.set_alias(tracking.CHAMPION, champion.version)
    holdout = holdout_split(settings_, read_features(settings_))[1]
    assert registry.verify_onnx(champion, holdout)[tracking.ONNX_TAG] == tracking.ONNX_VERIFIED  # served: ONNX
    uvicorn_server, url = server.start(settings_, server.free_port())
    yield {"url": url, "settings": settings_}
    uvicorn_server.should_exit = True


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_requests_generated_from_the_openapi_document_never_get_a_server_error(live, mode: GenerationMode) -> None:
    """Valid and invalid requests for every operation, derived from the schema the server publishes (the loaded
    champion's columns and their types): none is answered with a 5xx."""
    api = schemathesis.openapi.from_url(f"{live['url']}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/invocations"}
    sent: list[int] = []
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.body):
            continue  # nothing to make invalid in a request without parameters or body (GET /health/live)

        @BOUNDED
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            response = case.call_and_validate(checks=[not_a_server_error], timeout=60)
            sent.append(response.status_code)

        check()
    print(f"{mode.value}: {len(sent)} requests, status classes {sorted({code // 100 * 100 for code in sent})}")


def post(url: str, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# Values at and beyond what a float64 column can hold, text of every kind, and everything else JSON can say.
EDGE_NUMBERS = st.sampled_from(["1e308", "-1.7976931348623157e308", "1e309", "-1e400", "NaN", "Infinity",
                                "-Infinity", "1" + "0" * 400, "-0.0", "5e-324", "1e-400"])  # fmt: skip
TEXT = st.one_of(st.text(max_size=50), st.text(min_size=1, max_size=3).map(lambda t: t * 40_000))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def encode(value) -> str:
    """JSON text, with Python's NaN/Infinity as JSON's unofficial literals (the server must refuse or handle them)."""
    return json.dumps(value, allow_nan=True)


@st.composite
def hostile_bodies(draw, records: list[dict]) -> bytes:
    """A body around a real record: a column of any JSON type, an edge number written raw, deep nesting, lone
    surrogates, huge strings, truncations, or no JSON at all."""
    record = dict(draw(st.sampled_from(records)))
    kind = draw(st.sampled_from(["value", "edge-number", "nesting", "surrogate", "truncated", "bytes", "shape"]))
    column = draw(st.sampled_from(sorted(record)))
    if kind == "value":
        record[column] = draw(JSON)
        return encode({"records": [record]}).encode()
    if kind == "edge-number":
        text = encode({"records": [{**record, column: None}]})
        return text.replace(f'"{column}": null', f'"{column}": {draw(EDGE_NUMBERS)}').encode()
    if kind == "nesting":
        depth = draw(st.integers(min_value=100, max_value=100_000))
        return ("[" * depth + "]" * depth).encode() if draw(st.booleans()) else ('{"records": ' + "[" * depth).encode()
    if kind == "surrogate":
        return encode({"records": [{**record, column: None}]}).replace("null", '"\\ud800\\udfff\\udbff"', 1).encode()
    if kind == "truncated":
        text = encode({"records": [record]}).encode()
        return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return encode(draw(JSON)).encode()


@pytest.mark.parametrize("path", ["/predict", "/invocations"])
def test_hostile_payloads_never_get_a_server_error(live, path: str) -> None:
    """Numbers beyond float range, deep nesting, huge strings, unicode, mixed types, broken JSON, around real raw
    flight records (/predict) or real model inputs (/invocations): each is a 2xx or a 4xx with a JSON error naming
    the problem, never a 5xx or a trace."""
    root = live["settings"].root
    if path == "/predict":
        records = json.loads(
            request_records(pd.read_parquet(root / "data/raw/flights.parquet").head(20)).to_json(orient="records")
        )
    else:
        frame = pd.read_parquet(root / "data" / "dev" / "batch.parquet").head(20)
        records = json.loads(frame.drop(columns=[live["settings"].data.time_column]).to_json(orient="records"))

    statuses: list[int] = []

    @BOUNDED
    @given(body=hostile_bodies(records))
    def check(body: bytes) -> None:
        status, payload = post(live["url"], path, body)
        statuses.append(status)
        assert status < 500, (status, payload[:300], body[:300])
        answer = json.loads(payload)
        if status >= 400:
            assert answer["error"] and "Traceback" not in answer["error"]
        else:
            assert all(isinstance(p, float) and math.isfinite(p) for p in answer["predictions"])

    check()
    print(f"hostile bodies on {path}: {len(statuses)} requests, statuses {sorted(set(statuses))}")
