"""The task spec: everything that differs between classification and regression, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

ERROR_METRICS = frozenset({"mae", "rmse", "log_loss", "brier"})  # lower is better


def classification_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Holdout metrics of a probability of the positive class."""
    return {
        "roc_auc": float(skm.roc_auc_score(y_true, scores)),
        "average_precision": float(skm.average_precision_score(y_true, scores)),
        "log_loss": float(skm.log_loss(y_true, np.clip(scores, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "brier": float(skm.brier_score_loss(y_true, scores)),
        "accuracy": float(skm.accuracy_score(y_true, scores >= 0.5)),
        "positive_rate": float(np.mean(y_true)),
    }


def regression_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Holdout metrics of a numeric prediction."""
    return {
        "mae": float(skm.mean_absolute_error(y_true, scores)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, scores))),
        "r2": float(skm.r2_score(y_true, scores)),
    }


@dataclass(frozen=True)
class TaskSpec:
    """What a task means for every step: its label, metric, direction, model and how it scores."""

    name: str
    label: str  # what the label column holds
    primary_metric: str
    higher_is_better: bool
    sklearn_scoring: str  # the same metric as a scikit-learn scorer (tuning, permutation importance)
    pyfunc_predict_fn: str  # what MLflow's pyfunc flavour calls
    estimator: type
    loss: str
    metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]]
    primary: Callable[[np.ndarray, np.ndarray], float]  # metrics()[primary_metric] alone, for resampling loops
    min_classes: int  # distinct label values a holdout needs before its metric means anything

    def scores(self, model: Any, frame) -> np.ndarray:
        """Probability of the positive class (classification) or the prediction (regression)."""
        if self.pyfunc_predict_fn == "predict_proba":
            return model.predict_proba(frame)[:, 1]
        return np.asarray(model.predict(frame), dtype=float)

    def better(self, candidate: float, reference: float, margin: float = 0.0) -> bool:
        """True when ``candidate`` strictly beats ``reference`` on the primary metric, by at least ``margin``."""
        gain = candidate - reference if self.higher_is_better else reference - candidate
        return gain > 0 and gain >= margin

    def worst(self, values) -> float:
        """The worst of several primary-metric values (the lowest score, or the highest error)."""
        return float(min(values) if self.higher_is_better else max(values))

    def naive_scores(self, y_train: np.ndarray, rows: int) -> np.ndarray:
        """What a model that ignores every input predicts: the class prior, or the median."""
        value = float(np.mean(y_train)) if self.higher_is_better else float(np.median(y_train))
        return np.full(rows, value)


TASKS = {
    "classification": TaskSpec(
        name="classification",
        label="1 when the event happened (e.g. the flight left 15 minutes or more late), else 0",
        primary_metric="roc_auc",
        higher_is_better=True,
        sklearn_scoring="roc_auc",
        pyfunc_predict_fn="predict_proba",
        estimator=HistGradientBoostingClassifier,
        loss="log_loss",
        metrics=classification_metrics,
        primary=skm.roc_auc_score,
        min_classes=2,
    ),
    "regression": TaskSpec(
        name="regression",
        label="a number (e.g. the arrival delay in minutes)",
        primary_metric="mae",
        higher_is_better=False,
        sklearn_scoring="neg_mean_absolute_error",
        pyfunc_predict_fn="predict",
        estimator=HistGradientBoostingRegressor,
        loss="absolute_error",  # delays are heavy-tailed and judged by mae: fit the median, not the mean
        metrics=regression_metrics,
        primary=skm.mean_absolute_error,
        min_classes=1,
    ),
}


def task_spec(name: str) -> TaskSpec:
    """The spec of a task by name (``classification`` or ``regression``)."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}: use one of {', '.join(TASKS)}") from None


def passes(metric: str, value: float, limit: float) -> bool:
    """Floors for scores, ceilings for error metrics."""
    return value <= limit if metric in ERROR_METRICS else value >= limit
