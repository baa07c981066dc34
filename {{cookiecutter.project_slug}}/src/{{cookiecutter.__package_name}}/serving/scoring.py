"""Scoring behind the HTTP app: concurrent requests share one model call, and every prediction is logged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits

from {{ cookiecutter.__package_name }}.core.task import TaskSpec
from {{ cookiecutter.__package_name }}.io.tracking import LoadedModel
from {{ cookiecutter.__package_name }}.serving.payload import to_frame

log = logging.getLogger(__name__)


class InferenceLog:
    """Append-only JSON lines: features, prediction, model version, timestamp, request id (what monitoring reads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, entries: list[tuple[str, LoadedModel, list[dict], list[float]]]) -> None:
        """Log (request id, model, records, predictions) for each request, in one write."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [
            json.dumps(
                {
                    "request_id": request_id,
                    "timestamp": now,
                    "model_name": model.name,
                    "model_version": model.version,
                    "model_alias": model.alias,
                    "features": row,
                    "prediction": prediction,
                }
            )
            for request_id, model, rows, predictions in entries
            for row, prediction in zip(rows, predictions, strict=True)
        ]
        if not lines:
            return
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


@dataclass
class Pending:
    """One request waiting for its predictions."""

    request_id: str
    model: LoadedModel
    rows: list[dict]
    future: asyncio.Future


def one_openmp_thread() -> None:
    """Cap OpenMP at one thread in the calling thread only (OpenMP's setting is per thread).

    A HistGradientBoosting prediction opens one OpenMP parallel region per tree; for a request's few rows, waiting
    for a second thread costs more than it saves, and far more on a busy machine: a one-row prediction took 12 ms
    on one thread against a median of 250 ms on two while other processes held the cores.
    """
    threadpool_limits(limits=1, user_api="openmp")


def model_input(rows: list[dict], model: LoadedModel):
    """What the model is called with: the ONNX flavour builds its inputs from the records; scikit-learn gets a frame."""
    return rows if model.flavour == "onnx" else to_frame(rows, model)


class BatchScorer:
    """Scores requests in micro-batches, from one worker task.

    A request waits only while the previous batch is in the model; whatever queued meanwhile (until the batch holds
    ``max_rows`` records) then goes in as one model call per version. A lone client sees no added wait; under
    concurrent load the fixed cost of a model call (building its input, the column transformer, the trees' set-up)
    is paid once per batch instead of once per request. Each request still gets exactly its own predictions.

    A batch for the ONNX flavour is scored on the event loop itself: it takes a fraction of a millisecond, less
    than the two hops to a thread and back. A scikit-learn batch (milliseconds) goes to the scorer's own thread, so
    the loop keeps reading the requests that will make the next batch; there scikit-learn's trees use one OpenMP
    thread (``one_openmp_thread``).
    """

    def __init__(self, spec: TaskSpec, max_rows: int, inference_log: InferenceLog) -> None:
        self.spec = spec
        self.max_rows = max_rows
        self.inference_log = inference_log
        self.on_batch: Callable[[LoadedModel, int], None] | None = None  # e.g. metrics: records per model call
        self._queue: asyncio.Queue[Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._thread: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker on the running event loop (from the app's lifespan)."""
        self._queue = asyncio.Queue()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="batch-scorer", initializer=one_openmp_thread)
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="batch-scorer")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._thread is not None:
            self._thread.shutdown(wait=False)

    async def score(self, request_id: str, model: LoadedModel, rows: list[dict]) -> list[float]:
        """The predictions for ``rows`` (already checked against the model's signature), once logged."""
        if self._queue is None:
            raise RuntimeError("BatchScorer.start() was not called: serve the app with its lifespan")
        pending = Pending(request_id, model, rows, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].rows)
            while size < self.max_rows and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                size += len(batch[-1].rows)
            try:
                if all(pending.model.flavour == "onnx" for pending in batch):
                    results = self._score(batch)
                else:
                    results = await asyncio.get_running_loop().run_in_executor(self._thread, self._score, batch)
            except Exception as err:  # e.g. the inference log cannot be written: every waiting request learns it
                results = [err] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.future.done():  # cancelled: the client went away
                    continue
                if isinstance(result, Exception):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)

    def _score(self, batch: list[Pending]) -> list[list[float] | Exception]:
        """Predict each model version's share of the batch in one call, log, and split the answers per request."""
        answers: dict[int, list[float] | Exception] = {}
        by_model: dict[int, list[Pending]] = {}
        for pending in batch:
            by_model.setdefault(id(pending.model), []).append(pending)
        for group in by_model.values():
            model = group[0].model
            try:
                rows = [row for pending in group for row in pending.rows]
                scores = self.spec.scores(model.model, model_input(rows, model)).tolist()
                if self.on_batch is not None:
                    self.on_batch(model, len(rows))
            except Exception:  # score one by one, so one request's failure is not its neighbours'
                log.exception("batch of %d requests failed; scoring them one by one", len(group))
                answers.update((id(pending), self._score_alone(pending)) for pending in group)
                continue
            start = 0
            for pending in group:
                answers[id(pending)] = scores[start : start + len(pending.rows)]
                start += len(pending.rows)
        results = [answers[id(pending)] for pending in batch]
        self.inference_log.append(
            [
                (pending.request_id, pending.model, pending.rows, result)
                for pending, result in zip(batch, results, strict=True)
                if not isinstance(result, Exception)
            ]
        )
        return results

    def _score_alone(self, pending: Pending) -> list[float] | Exception:
        try:
            return self.spec.scores(pending.model.model, model_input(pending.rows, pending.model)).tolist()
        except Exception as err:
            return err
