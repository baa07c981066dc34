"""Metrics per slice: the primary metric for each value of the slice columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }}.core.task import TaskSpec


def slice_metrics(
    spec: TaskSpec, frame: pd.DataFrame, y_true: str, scores: np.ndarray, by: list[str], min_rows: int
) -> pd.DataFrame:
    """The primary metric per value of each ``by`` column, for slices with at least ``min_rows`` rows.

    A slice whose labels take fewer distinct values than the task needs (one class only) has no metric and is left out.
    """
    metric = spec.primary_metric
    rows = []
    data = frame.assign(_score=scores)
    for column in by:
        for value, group in data.groupby(column, observed=True):
            if len(group) < min_rows or group[y_true].nunique() < spec.min_classes:
                continue
            value_metric = spec.metrics(group[y_true].to_numpy(), group["_score"].to_numpy())[metric]
            rows.append({"column": column, "value": str(value), "rows": len(group), metric: value_metric})
    return pd.DataFrame(rows, columns=["column", "value", "rows", metric])
