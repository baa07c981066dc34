"""Fairness across groups: fairlearn's MetricFrame per group column, and the largest disparity the gate judges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from {{ cookiecutter.__package_name }}.config import GovernanceConfig
from {{ cookiecutter.__package_name }}.core.task import TaskSpec

# Which way is better for each metric the gate can compare; None: neither (a selection rate is judged by its spread).
DIRECTION: dict[str, str | None] = {
    "selection_rate": None,
    "true_positive_rate": "higher",
    "false_positive_rate": "lower",
    "roc_auc": "higher",
    "mae": "lower",
}


def _rate(y_true, y_pred, *, threshold: float, label: int) -> float:
    """The share of rows whose label is ``label`` that the model selects (score >= threshold); NaN without any."""
    y_true, selected = np.asarray(y_true), np.asarray(y_pred) >= threshold
    rows = y_true == label
    return float(selected[rows].mean()) if rows.any() else float("nan")


def _roc_auc(y_true, y_pred) -> float:
    y_true = np.asarray(y_true)
    return float(skm.roc_auc_score(y_true, y_pred)) if len(np.unique(y_true)) == 2 else float("nan")


def _metrics(spec: TaskSpec, threshold: float) -> dict[str, Callable]:
    """The per-group figures of a task, each a ``metric(y_true, y_pred)`` of the labels and the raw scores."""
    from fairlearn.metrics import count, selection_rate  # imported when used: every command's start stays quick

    common: dict[str, Callable] = {
        "rows": count,
        "actual": lambda y, s: float(np.mean(y)),  # the positive rate, or the mean label
        "selection_rate": lambda y, s: float(selection_rate(y, np.asarray(s) >= threshold)),
    }
    if spec.name == "classification":
        return {
            **common,
            "true_positive_rate": partial(_rate, threshold=threshold, label=1),
            "false_positive_rate": partial(_rate, threshold=threshold, label=0),
            "roc_auc": _roc_auc,
        }
    return {
        **common,
        "mean_prediction": lambda y, s: float(np.mean(s)),
        "mae": lambda y, s: float(skm.mean_absolute_error(y, s)),
    }


@dataclass(frozen=True)
class ColumnReport:
    """One group column: each group's figures, and the spread of the judged metric over the groups judged."""

    column: str
    groups: list[dict[str, Any]]  # one row per group: the group's value, then each figure
    judged: list[str]  # groups with enough rows and a defined metric
    difference: float | None  # max - min of the metric over the judged groups (fairlearn's between_groups)
    worst: str | None  # the judged group the metric is worst for (a selection rate: furthest from the overall)
    best: str | None  # the judged group at the other end


@dataclass(frozen=True)
class FairnessReport:
    """What the gate and the model card read: per column reports, the overall figures, the missing columns."""

    metric: str
    limit: float
    threshold: float
    min_group_rows: int
    overall: dict[str, float]
    columns: list[ColumnReport] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessReport:
        columns = [ColumnReport(**column) for column in data.get("columns", [])]
        return cls(**{**data, "columns": columns})

    @property
    def largest(self) -> ColumnReport | None:
        """The column with the largest disparity (None when no column had two groups to compare)."""
        judged = [c for c in self.columns if c.difference is not None]
        return max(judged, key=lambda c: c.difference) if judged else None


def _value_of(column: ColumnReport, group: str, metric: str) -> float:
    return next(row[metric] for row in column.groups if row["group"] == group)


def _extremes(by_group: pd.DataFrame, metric: str, overall: float) -> tuple[str, str]:
    """(worst, best) of the judged groups, by the metric's direction; a selection rate has none: the group furthest
    from the overall rate is the worst, and the group at the other end of the spread the best."""
    values = by_group[metric]
    direction = DIRECTION[metric]
    if direction == "higher":
        return str(values.idxmin()), str(values.idxmax())
    if direction == "lower":
        return str(values.idxmax()), str(values.idxmin())
    high, low = str(values.idxmax()), str(values.idxmin())
    return (high, low) if abs(values.max() - overall) >= abs(values.min() - overall) else (low, high)


def report(
    spec: TaskSpec, frame: pd.DataFrame, target: str, scores: np.ndarray, rules: GovernanceConfig
) -> FairnessReport:
    """Per-group figures (fairlearn MetricFrame) for each of ``rules.group_columns``; the gate judges the spread of
    ``rules.disparity_metric`` between the groups of at least ``rules.min_group_rows`` rows."""
    from fairlearn.metrics import MetricFrame

    metric, functions = rules.disparity_metric, _metrics(spec, rules.selection_threshold)
    y = frame[target].to_numpy()
    overall = {name: float(fn(y, scores)) for name, fn in functions.items()}
    result = FairnessReport(metric, rules.disparity_limit, rules.selection_threshold, rules.min_group_rows, overall)
    for column in rules.group_columns:
        if column not in frame.columns:
            result.missing.append(column)
            continue
        groups = frame[column].astype("string").fillna("(missing)").to_numpy()
        every = pd.Series(groups, name=column)
        by_group = MetricFrame(metrics=functions, y_true=y, y_pred=scores, sensitive_features=every).by_group
        keep = by_group[(by_group["rows"] >= rules.min_group_rows) & by_group[metric].notna()]
        difference = worst = best = None
        if len(keep) >= 2:
            rows = np.isin(groups, keep.index.to_numpy())
            judged = MetricFrame(
                metrics={metric: functions[metric]},
                y_true=y[rows],
                y_pred=scores[rows],
                sensitive_features=pd.Series(groups[rows], name=column),
            )
            difference = float(judged.difference(method="between_groups")[metric])
            worst, best = _extremes(judged.by_group, metric, overall[metric])
        table = [{"group": str(group), **{k: float(v) for k, v in row.items()}} for group, row in by_group.iterrows()]
        table.sort(key=lambda row: -row["rows"])
        result.columns.append(ColumnReport(column, table, [str(g) for g in keep.index], difference, worst, best))
    return result


def verdict(result: FairnessReport | None, rules: GovernanceConfig) -> tuple[bool, str]:
    """(passed, detail) of the gate's fairness check under ``rules``; the detail names the worst group."""
    if not rules.group_columns:
        return True, "no group columns configured (governance.group_columns): nothing to judge"
    reported = [c.column for c in result.columns] + result.missing if result is not None else []
    if result is None or result.metric != rules.disparity_metric or set(rules.group_columns) - set(reported):
        return False, "fairness was not evaluated under the current governance settings: run evaluate first"
    if result.missing:
        missing = ", ".join(result.missing)
        return False, f"group column {missing} not in the data: name real columns in governance.group_columns"
    judged = [c for c in result.columns if c.column in rules.group_columns and c.difference is not None]
    if not judged:
        rows, metric = result.min_group_rows, result.metric
        return True, f"no column has two groups of {rows}+ rows with a {metric}: nothing to judge"
    largest = max(judged, key=lambda c: c.difference)
    metric, worst, best = result.metric, largest.worst, largest.best
    detail = (
        f"{metric} differs by {largest.difference:.4f} across {largest.column} (need <= {rules.disparity_limit}): "
        f"worst group {largest.column}={worst} ({_value_of(largest, worst, metric):.4f}), "
        f"{best} {_value_of(largest, best, metric):.4f}"
    )
    return largest.difference <= rules.disparity_limit, detail
