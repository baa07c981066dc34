"""The HTTP app: /predict, MLflow-compatible /invocations, health, metadata; every prediction is logged."""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io.data import output_path
from {{ cookiecutter.__package_name }}.serving.models import Router
from {{ cookiecutter.__package_name }}.serving.payload import (
    ClientError,
    check_records,
    parse_json,
    record_schema,
    records_of,
)
from {{ cookiecutter.__package_name }}.serving.scoring import BatchScorer, InferenceLog

log = logging.getLogger(__name__)
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
CLIENT_ERRORS = {
    400: "malformed JSON, missing or unexpected columns, values of the wrong type",
    413: "a body over serve.max_body_bytes",
    415: "a Content-Type other than application/json",
    503: "no model loaded yet",
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
    router = router or Router(settings)
    inference_log = InferenceLog(settings.path(output_path(settings, settings.serve.inference_log)))
    scorer = BatchScorer(task_spec(settings.task), settings.serve.max_batch_rows, inference_log)
    key = settings.data.id_column

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(router.refresh)
        watcher = threading.Thread(target=router.watch, name="alias-watcher", daemon=True)
        watcher.start()
        scorer.start()
        yield
        await scorer.stop()
        router.stop()

    app = FastAPI(title=f"{settings.tracking.registered_model} ({settings.env})", lifespan=lifespan)
    app.state.router = router

    @app.exception_handler(ClientError)
    async def client_error(request: Request, err: ClientError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status)

    @app.exception_handler(Exception)
    async def server_error(request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"error": "internal error; see the server log"}, status_code=500)

    async def score(request: Request) -> JSONResponse:
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        model = router.pick(request_id)
        if model is None:
            raise ClientError(503, "no model is loaded yet: the registry has no @champion")
        rows = records_of(parse_json(await read_body(request, settings.serve.max_body_bytes)))
        check_records(rows, model, allowed_extra=(key,))
        predictions = await scorer.score(request_id, model, rows)
        return JSONResponse(
            {
                "predictions": predictions,
                "model": {"name": model.name, "version": model.version, "alias": model.alias},
                "request_id": request_id,
            },
            headers={"x-model-version": model.version, "x-request-id": request_id},
        )

    errors = {str(code): {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
              for code, text in CLIENT_ERRORS.items()}  # fmt: skip
    records = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1}
    body = {"type": "object", "properties": {"records": records}, "required": ["records"]}
    mlflow_body = {"type": "object", "properties": {"dataframe_records": records}, "required": ["dataframe_records"]}
    for path, schema in (("/predict", body), ("/invocations", {"anyOf": [body, mlflow_body]})):
        request_body = {"required": True, "content": {"application/json": {"schema": schema}}}
        app.post(path, openapi_extra={"requestBody": request_body}, responses=errors)(score)

    def openapi() -> dict:
        """The OpenAPI document, with the loaded champion's inputs as the schema of a record."""
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        document.setdefault("components", {}).setdefault("schemas", {})["Record"] = record_schema(
            router.champion, allowed_extra=(key,)
        )
        return document

    app.openapi = openapi

    @app.get("/health/live")
    async def live() -> dict:
        return {"status": "alive"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        if router.champion is None:
            return JSONResponse({"status": "not ready: no @champion loaded"}, status_code=503)
        return JSONResponse({"status": "ready", "champion": router.champion.version})

    @app.get("/metadata")
    async def metadata() -> dict:
        loaded = {
            m.alias: {"version": m.version, "inputs": list(m.inputs), "tags": m.tags}
            for m in (router.champion, router.challenger)
            if m is not None
        }
        return {
            "model": settings.tracking.registered_model,
            "environment": settings.env,
            "challenger_fraction": router.fraction,
            "aliases": loaded,
        }

    return app
