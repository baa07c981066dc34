"""Task metrics, overall and per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

ERROR_METRICS = {"mae", "rmse", "log_loss", "brier"}  # lower is better


def task_metrics(task: str, y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Holdout metrics of the task; ``scores`` are probabilities (classification) or predictions."""
    if task == "classification":
        return {
            "roc_auc": float(skm.roc_auc_score(y_true, scores)),
            "average_precision": float(skm.average_precision_score(y_true, scores)),
            "log_loss": float(skm.log_loss(y_true, np.clip(scores, 1e-6, 1 - 1e-6))),
            "brier": float(skm.brier_score_loss(y_true, scores)),
            "accuracy": float(skm.accuracy_score(y_true, scores >= 0.5)),
            "positive_rate": float(np.mean(y_true)),
        }
    return {
        "mae": float(skm.mean_absolute_error(y_true, scores)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, scores))),
        "r2": float(skm.r2_score(y_true, scores)),
    }


def primary(task: str) -> str:
    return "roc_auc" if task == "classification" else "mae"


def better(task: str, candidate: float, reference: float, margin: float = 0.0) -> bool:
    """True when ``candidate`` strictly beats ``reference``, by at least ``margin``, on the primary metric."""
    gain = candidate - reference if task == "classification" else reference - candidate
    return gain > 0 and gain >= margin


def passes(metric: str, value: float, limit: float) -> bool:
    """Floors for scores, ceilings for error metrics."""
    return value <= limit if metric in ERROR_METRICS else value >= limit


def slice_metrics(
    task: str, frame: pd.DataFrame, y_true: str, scores: np.ndarray, by: list[str], min_rows: int
) -> pd.DataFrame:
    """The primary metric per value of each ``by`` column, for slices with at least ``min_rows`` rows."""
    metric = primary(task)
    rows = []
    data = frame.assign(_score=scores)
    for column in by:
        for value, group in data.groupby(column, observed=True):
            if len(group) < min_rows:
                continue
            if task == "classification" and group[y_true].nunique() < 2:
                continue
            value_metric = task_metrics(task, group[y_true].to_numpy(), group["_score"].to_numpy())[metric]
            rows.append({"column": column, "value": str(value), "rows": len(group), metric: value_metric})
    return pd.DataFrame(rows, columns=["column", "value", "rows", metric])
