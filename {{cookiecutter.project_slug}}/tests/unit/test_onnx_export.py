"""The ONNX flavour: an exact export of the pipeline, its parity check, and the server scoring with it."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from onnx import numpy_helper
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from {{ cookiecutter.__package_name }}.core import onnx_export
from {{ cookiecutter.__package_name }}.core.model import make_pipeline
from {{ cookiecutter.__package_name }}.core.task import TASKS, task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.serving.scoring import BatchScorer, InferenceLog

QUICK = {"learning_rate": 0.2, "max_iter": 15, "max_leaf_nodes": 8, "min_samples_leaf": 5, "l2_regularization": 0.0}
CATEGORICAL, NUMERIC = ["carrier", "route"], ["distance", "hour"]
ROUTES = 300  # more than the encoder's max_categories (250): the rarest routes share one code


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread():
    """scikit-learn's trees on one OpenMP thread here: these small fits and predictions gain nothing from a second
    one, and on a busy machine waiting for it costs seconds."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def table(rows: int, seed: int, unseen: bool = False) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Inputs with missing values everywhere, a column of rare categories and, if ``unseen``, unknown ones; and a
    binary and a numeric label that depend on the categories."""
    rng = np.random.default_rng(seed)
    carrier = rng.choice(["AA", "B6", "DL", "UA"], rows).astype(object)
    route = np.array([f"R{i}" for i in rng.integers(0, ROUTES, rows)], dtype=object)
    if unseen:
        carrier[rng.random(rows) < 0.1] = "ZZ"
        route[rng.random(rows) < 0.1] = "R-new"
    carrier[rng.random(rows) < 0.1] = None
    route[rng.random(rows) < 0.1] = None
    distance = rng.gamma(2.0, 500.0, rows)
    distance[rng.random(rows) < 0.1] = np.nan
    hour = rng.integers(5, 23, rows).astype(float)
    hour[rng.random(rows) < 0.05] = np.nan
    frame = pd.DataFrame({"carrier": carrier, "route": route, "distance": distance, "hour": hour})
    effect = pd.Series(carrier).map({"AA": 0.5, "B6": -0.7, "DL": 1.0}).fillna(0).to_numpy()
    signal = effect + np.nan_to_num(distance) / 1000 + np.nan_to_num(hour - 14) / 5 + rng.normal(0, 0.5, rows)
    return frame, pd.Series((signal > 1).astype(int)), pd.Series(signal * 10)


@functools.cache
def fitted(task: str, seed: int = 0):
    """A pipeline fitted on 2,000 rows of ``table`` (one per task and seed: the tests only read it)."""
    frame, binary, numeric = table(2000, seed)
    spec = task_spec(task)
    model = make_pipeline(spec, NUMERIC, CATEGORICAL, QUICK, seed=seed)
    return model.fit(frame[CATEGORICAL + NUMERIC], binary if spec.higher_is_better else numeric)


def records(frame: pd.DataFrame) -> list[dict]:
    """The frame as a request's records: None for a missing value."""
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@pytest.mark.parametrize("task", list(TASKS))
def test_the_export_predicts_what_scikit_learn_predicts(task: str) -> None:
    """On rows with unknown and missing categories, grouped rare ones and missing numbers, the ONNX export's scores
    (from a frame or from records) are within the parity tolerance of scikit-learn's, and the trees' categorical
    splits are exported as set-membership splits (the part skl2onnx gets wrong)."""
    spec, model = task_spec(task), fitted(task)
    holdout, _, _ = table(1500, seed=1, unseen=True)
    holdout = holdout[CATEGORICAL + NUMERIC]
    encoder = model.named_steps["preprocess"].named_transformers_["categorical"]
    assert encoder.infrequent_categories_[1] is not None  # rare routes grouped
    assert holdout["carrier"].eq("ZZ").any() and holdout["route"].eq("R-new").any() and holdout.isna().any().all()

    exported = onnx_export.OnnxPipeline(onnx_export.export(model))
    result = onnx_export.parity(spec.scores, model, exported, holdout)
    assert result.holds and result.rows == len(holdout), result.describe()
    assert spec.scores(exported, records(holdout)) == pytest.approx(spec.scores(model, holdout), abs=1e-9)

    modes = numpy_helper.to_array(onnx_export.tree_ensemble_attributes(model.named_steps["model"])["nodes_modes"])
    assert (modes == onnx_export.MEMBER).any()


def test_the_parity_check_catches_an_export_that_predicts_otherwise() -> None:
    """An export of another model (standing for a wrong conversion) is over the tolerance, and says so."""
    spec = task_spec("classification")
    model, other = fitted("classification", seed=0), fitted("classification", seed=5)
    holdout, _, _ = table(500, seed=1, unseen=True)
    result = onnx_export.parity(spec.scores, model, onnx_export.OnnxPipeline(onnx_export.export(other)), holdout)
    assert not result.holds and result.max_abs_diff > onnx_export.PARITY_TOLERANCE
    assert "over the tolerance" in result.describe()


def test_what_cannot_be_exported_exactly_is_an_export_error() -> None:
    """An empty string used as a real category (the graph's token for missing) and a multi-class target are refused
    with an ExportError that names the reason."""
    frame, binary, _ = table(600, seed=0)
    blank = frame.assign(carrier=frame["carrier"].where(frame["carrier"] != "AA", ""))
    model = make_pipeline(task_spec("classification"), NUMERIC, CATEGORICAL, QUICK, seed=0).fit(blank, binary)
    with pytest.raises(onnx_export.ExportError, match="empty string"):
        onnx_export.export(model)

    three = make_pipeline(task_spec("classification"), NUMERIC, CATEGORICAL, QUICK, seed=0)
    three.set_params(model=HistGradientBoostingClassifier(max_iter=5, categorical_features=[True, True, False, False]))
    three.fit(frame, binary + (frame["hour"] > 18))
    with pytest.raises(onnx_export.ExportError, match="binary"):
        onnx_export.export(three)


# --- serving -----------------------------------------------------------------------------------------------------


def test_the_server_scores_the_onnx_flavour_from_records_and_logs_every_prediction(tmp_path: Path) -> None:
    """Concurrent requests to a model of the ONNX flavour, scored from their records in one batch, each get what
    scikit-learn predicts for their own rows (to the parity tolerance), and each record is logged once."""
    model = fitted("classification")
    exported = onnx_export.OnnxPipeline(onnx_export.export(model))
    kinds = {"carrier": "string", "route": "string", "distance": "double", "hour": "double"}
    served = tracking.LoadedModel("m", "champion", "1", exported, tuple(kinds), kinds, flavour="onnx")
    holdout, _, _ = table(40, seed=3, unseen=True)
    holdout = holdout[list(kinds)]
    rows = records(holdout)
    spec = task_spec("classification")
    batches: list[int] = []

    class CountingScorer(BatchScorer):
        def _score(self, batch):
            batches.append(len(batch))
            return super()._score(batch)

    scorer = CountingScorer(spec, 256, InferenceLog(tmp_path / "log.jsonl"))

    async def send_all() -> list[list[float]]:
        scorer.start()
        try:
            return await asyncio.gather(*(scorer.score(f"r{i}", served, rows[2 * i : 2 * i + 2]) for i in range(20)))
        finally:
            await scorer.stop()

    answers = asyncio.run(send_all())
    assert batches == [20]
    expected = spec.scores(model, holdout)
    assert [s for answer in answers for s in answer] == pytest.approx(
        expected.tolist(), abs=onnx_export.PARITY_TOLERANCE
    )
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert sorted(line["request_id"] for line in logged) == sorted(f"r{i}" for i in range(20) for _ in range(2))
