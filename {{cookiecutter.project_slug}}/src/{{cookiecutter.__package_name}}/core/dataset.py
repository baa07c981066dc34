"""A labelled table's train/holdout split, and the checks that say whether the pipeline can learn from it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec

MIN_ROWS = 100  # labelled rows below which neither a model nor its holdout metric means anything


class UnusableDataError(ValueError):
    """The table cannot train or judge a model; the message names the column or the problem, and the fix."""


@dataclass(frozen=True)
class SplitRule:
    """How the holdout is chosen: the latest rows by ``time_column``, or (without one) a seeded random share."""

    time_column: str | None
    holdout_fraction: float
    seed: int
    stratify: bool  # classification: keep the class shares equal on both sides of a random split

    def describe(self) -> str:
        share = f"{self.holdout_fraction:.0%}"
        if self.time_column:
            return f"time: the latest {share} of rows by {self.time_column}"
        kind = "stratified by the label, " if self.stratify else ""
        return f"random: {share} of rows, {kind}seed {self.seed}"


def time_split(frame: pd.DataFrame, time_column: str, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the earlier part of the timeline, hold out the latest ``holdout_fraction`` of rows by time."""
    ordered = frame.sort_values(time_column, kind="stable")
    cutoff = ordered[time_column].iloc[int(len(ordered) * (1 - holdout_fraction))]
    train, holdout = ordered[ordered[time_column] < cutoff], ordered[ordered[time_column] >= cutoff]
    if train.empty or holdout.empty:
        raise UnusableDataError(
            f"the time split at {cutoff} leaves one side empty: {time_column} needs more distinct values, or set "
            "data.time_column: null for a random split"
        )
    return train, holdout


def split(frame: pd.DataFrame, rule: SplitRule, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) by ``rule``; the same table always splits the same way."""
    if rule.time_column:
        return time_split(frame, rule.time_column, rule.holdout_fraction)
    stratify = frame[label] if rule.stratify else None
    try:
        train, holdout = train_test_split(
            frame.index, test_size=rule.holdout_fraction, random_state=rule.seed, stratify=stratify
        )
    except ValueError as err:  # e.g. a class with a single row cannot be stratified
        raise UnusableDataError(f"the random split of {label} failed: {err}") from None
    return frame.loc[np.sort(train)], frame.loc[np.sort(holdout)]


def split_rule(settings: Settings) -> SplitRule:
    """Every step's holdout: the latest rows by data.time_column, else a seeded random share (stratified for
    classification)."""
    return SplitRule(
        time_column=settings.data.time_column,
        holdout_fraction=settings.train.holdout_fraction,
        seed=settings.train.seed,
        stratify=task_spec(settings.task).min_classes > 1,
    )


def holdout_split(settings: Settings, features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) of the feature table: the same rows for features, train, evaluate, promote and monitor."""
    return split(features, split_rule(settings), settings.data.target)


def check_labels(frame: pd.DataFrame, label: str, spec: TaskSpec) -> None:
    """The label is numeric, binary 0/1 for classification, and enough rows carry one."""
    values = frame[label]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        example = values.dropna().astype(str).head(1).tolist()
        raise UnusableDataError(
            f"data.target '{label}' is not numeric (e.g. {example[0]!r}): {spec.name} needs "
            f"{'0 and 1' if spec.higher_is_better else 'a number'}. Convert the column in the data"
            if example
            else f"data.target '{label}' has no values. Point data.target at the column to predict"
        )
    labelled = values.dropna()
    if spec.higher_is_better and not set(labelled.unique()) <= {0, 1}:
        other = sorted(set(labelled.unique()) - {0, 1})[:3]
        raise UnusableDataError(
            f"data.target '{label}' holds values other than 0 and 1 ({', '.join(map(str, other))}): classification "
            "predicts a binary label. Map the column to 0/1, or set task: regression"
        )
    if len(labelled) < MIN_ROWS:
        raise UnusableDataError(
            f"only {len(labelled)} rows have a value of data.target '{label}': the pipeline needs at least "
            f"{MIN_ROWS} to train and hold out. Add rows, or check data.target"
        )


def check_split(train: pd.DataFrame, holdout: pd.DataFrame, label: str, spec: TaskSpec, rule: SplitRule) -> None:
    """Both sides of the split can train and judge: the label takes every value the task needs on each."""
    for side, part in (("training split", train), ("holdout", holdout)):
        classes = part[label].nunique()
        if classes < spec.min_classes:
            hint = (
                "set data.time_column: null for a stratified random split, or a larger train.holdout_fraction"
                if rule.time_column
                else "add rows of the missing class"
            )
            raise UnusableDataError(
                f"the {side} ({rule.describe()}) holds a single value of {label} "
                f"({part[label].iloc[0]!r}, {len(part)} rows): {hint}"
            )
