"""Metrics, the promotion rule and the model factory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.core.model import make_pipeline, predict_scores


@pytest.mark.parametrize(
    ("task", "candidate", "reference", "margin", "expected"),
    [
        ("classification", 0.70, 0.70, 0.0, False),  # a tie never promotes
        ("classification", 0.701, 0.70, 0.0, True),
        ("classification", 0.701, 0.70, 0.002, False),  # better, but not by the margin
        ("regression", 9.0, 10.0, 0.5, True),  # lower error is better
        ("regression", 10.0, 9.0, 0.0, False),
    ],
)
def test_better_is_strict_and_respects_the_margin(task, candidate, reference, margin, expected) -> None:
    assert M.better(task, candidate, reference, margin) is expected


def test_thresholds_are_floors_for_scores_and_ceilings_for_errors() -> None:
    assert M.passes("roc_auc", 0.7, 0.6) and not M.passes("roc_auc", 0.5, 0.6)
    assert M.passes("mae", 10.0, 12.0) and not M.passes("mae", 13.0, 12.0)


def test_slice_metrics_skip_small_and_single_class_slices() -> None:
    frame = pd.DataFrame({"carrier": ["A"] * 4 + ["B"] * 4 + ["C"], "y": [0, 1, 0, 1, 1, 1, 1, 1, 0]})
    scores = np.array([0.1, 0.9, 0.2, 0.8, 0.5, 0.6, 0.7, 0.8, 0.3])
    table = M.slice_metrics("classification", frame, "y", scores, ["carrier"], min_rows=2)
    assert table.to_dict(orient="records") == [{"column": "carrier", "value": "A", "rows": 4, "roc_auc": 1.0}]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_model_handles_unknown_and_missing_categories(task: str) -> None:
    """A category never seen in training, or a missing one, is scored instead of failing."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"c": rng.choice(["a", "b"], 200), "n": rng.normal(size=200)})
    y = (x["n"] > 0).astype(int) if task == "classification" else x["n"] * 3
    model = make_pipeline(
        task,
        ["n"],
        ["c"],
        {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 8, "min_samples_leaf": 5, "l2_regularization": 0.0},
        seed=0,
    )
    model.fit(x, y)
    new = pd.DataFrame({"c": ["zzz", None], "n": [0.5, -0.5]})
    scores = predict_scores(model, new, task)
    assert scores.shape == (2,) and np.isfinite(scores).all()
