"""The task spec, slice metrics and the model factory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.core.metrics import slice_metrics
from {{ cookiecutter.__package_name }}.core.model import make_pipeline
from {{ cookiecutter.__package_name }}.core.task import TASKS, passes, task_spec

CLASSIFICATION, REGRESSION = task_spec("classification"), task_spec("regression")
QUICK = {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 8, "min_samples_leaf": 5, "l2_regularization": 0.0}


@pytest.mark.parametrize(
    ("spec", "candidate", "reference", "margin", "expected"),
    [
        (CLASSIFICATION, 0.70, 0.70, 0.0, False),  # a tie never promotes
        (CLASSIFICATION, 0.701, 0.70, 0.0, True),
        (CLASSIFICATION, 0.701, 0.70, 0.002, False),  # better, but not by the margin
        (REGRESSION, 9.0, 10.0, 0.5, True),  # lower error is better
        (REGRESSION, 10.0, 9.0, 0.0, False),
    ],
)
def test_better_is_strict_and_respects_the_direction_and_margin(spec, candidate, reference, margin, expected) -> None:
    """The challenger must strictly beat the reference, in the metric's direction, by at least the margin."""
    assert spec.better(candidate, reference, margin) is expected


def test_thresholds_are_floors_for_scores_and_ceilings_for_errors() -> None:
    assert passes("roc_auc", 0.7, 0.6) and not passes("roc_auc", 0.5, 0.6)
    assert passes("mae", 10.0, 12.0) and not passes("mae", 13.0, 12.0)


def test_every_task_names_a_metric_its_own_metrics_compute() -> None:
    """The primary metric, the worst-of rule and the scorer agree with each task's direction; ``primary`` computes
    exactly what ``metrics`` reports under the primary metric's name."""
    y = np.array([0, 1, 0, 1, 1])
    scores = np.array([0.2, 0.8, 0.4, 0.6, 0.9])
    for spec in TASKS.values():
        assert spec.primary(y, scores) == spec.metrics(y, scores)[spec.primary_metric]
        assert spec.worst([1.0, 2.0]) == (1.0 if spec.higher_is_better else 2.0)
        assert spec.sklearn_scoring.endswith(spec.primary_metric.replace("mae", "mean_absolute_error"))


def test_naive_scores_are_the_class_prior_or_the_median() -> None:
    """The baseline predictor ignores the inputs: the positive rate for classification, the median for regression."""
    assert CLASSIFICATION.naive_scores(np.array([0, 0, 0, 1]), 3).tolist() == [0.25] * 3
    assert REGRESSION.naive_scores(np.array([1.0, 2.0, 100.0]), 2).tolist() == [2.0, 2.0]
    assert CLASSIFICATION.metrics(np.array([0, 1, 0, 1]), CLASSIFICATION.naive_scores(np.array([0, 1]), 4))[
        "roc_auc"
    ] == pytest.approx(0.5)


def test_unknown_task_names_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of classification, regression"):
        task_spec("clustering")


def test_slice_metrics_skip_small_and_single_class_slices() -> None:
    frame = pd.DataFrame({"carrier": ["A"] * 4 + ["B"] * 4 + ["C"], "y": [0, 1, 0, 1, 1, 1, 1, 1, 0]})
    scores = np.array([0.1, 0.9, 0.2, 0.8, 0.5, 0.6, 0.7, 0.8, 0.3])
    table = slice_metrics(CLASSIFICATION, frame, "y", scores, ["carrier"], min_rows=2)
    assert table.to_dict(orient="records") == [{"column": "carrier", "value": "A", "rows": 4, "roc_auc": 1.0}]


@pytest.mark.parametrize("spec", TASKS.values(), ids=list(TASKS))
def test_model_handles_unknown_and_missing_categories(spec) -> None:
    """A category never seen in training, or a missing one, is scored instead of failing."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"c": rng.choice(["a", "b"], 200), "n": rng.normal(size=200)})
    y = (x["n"] > 0).astype(int) if spec.higher_is_better else x["n"] * 3
    model = make_pipeline(spec, ["n"], ["c"], QUICK, seed=0)
    model.fit(x, y)
    scores = spec.scores(model, pd.DataFrame({"c": ["zzz", None], "n": [0.5, -0.5]}))
    assert scores.shape == (2,) and np.isfinite(scores).all()
