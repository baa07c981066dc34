"""The holdout split (by time or seeded at random) and the checks that refuse a table the pipeline cannot use."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.core.dataset import (
    MIN_ROWS,
    SplitRule,
    UnusableDataError,
    check_labels,
    check_split,
    split,
    time_split,
)
from {{ cookiecutter.__package_name }}.core.task import task_spec

CLASSIFICATION, REGRESSION = task_spec("classification"), task_spec("regression")
RANDOM = SplitRule(time_column=None, holdout_fraction=0.2, seed=42, stratify=True)


def sorted_by_class(rows: int = 500) -> pd.DataFrame:
    """A table whose rows are ordered by the label: the last fifth holds one class only."""
    y = np.array([0] * (rows * 7 // 10) + [1] * (rows - rows * 7 // 10))
    return pd.DataFrame({"x": np.arange(rows, dtype=float), "y": y})


def test_time_split_holds_out_the_latest_rows() -> None:
    frame = pd.DataFrame({"t": pd.date_range("2013-01-01", periods=10, freq="D"), "x": range(10)})
    train, holdout = time_split(frame.sample(frac=1, random_state=0), "t", 0.3)
    assert train["t"].max() < holdout["t"].min()
    assert sorted(holdout["x"]) == [7, 8, 9]


def test_time_split_refuses_an_empty_side() -> None:
    frame = pd.DataFrame({"t": [pd.Timestamp("2013-01-01")] * 5})
    with pytest.raises(UnusableDataError, match="leaves one side empty"):
        time_split(frame, "t", 0.2)


def test_random_split_is_seeded_stratified_and_ignores_row_order() -> None:
    """Without a time column the holdout is a seeded random 20 %, with the same class share as the table."""
    frame = sorted_by_class()
    train, holdout = split(frame, RANDOM, "y")
    again_train, again_holdout = split(frame, RANDOM, "y")
    assert holdout.index.tolist() == again_holdout.index.tolist() and train.index.equals(again_train.index)
    assert len(holdout) == 100 and set(train.index).isdisjoint(holdout.index)
    assert holdout["y"].mean() == pytest.approx(frame["y"].mean(), abs=0.01)
    other_seed = split(frame, SplitRule(None, 0.2, seed=7, stratify=True), "y")[1]
    assert other_seed.index.tolist() != holdout.index.tolist()


def test_split_rule_describes_itself_for_the_lineage() -> None:
    assert RANDOM.describe() == "random: 20% of rows, stratified by the label, seed 42"
    assert SplitRule("t", 0.25, 1, True).describe() == "time: the latest 25% of rows by t"


@pytest.mark.parametrize(
    ("values", "spec", "message"),
    [
        (["M", "B"] * 100, CLASSIFICATION, "is not numeric (e.g. 'M'): classification needs 0 and 1"),
        ([0, 1, 2] * 100, CLASSIFICATION, "holds values other than 0 and 1 (2)"),
        ([0.5, 1.5] * 100, REGRESSION, None),
        ([0, 1] * (MIN_ROWS // 2 - 1), CLASSIFICATION, f"only {MIN_ROWS - 2} rows have a value"),
        ([np.nan] * 300, REGRESSION, "only 0 rows have a value"),
    ],
)
def test_labels_the_pipeline_cannot_learn_from_are_named(values, spec, message) -> None:
    """A text label, a label that is not 0/1, or too few labelled rows: one message naming the column and the fix."""
    frame = pd.DataFrame({"label": values})
    if message is None:
        check_labels(frame, "label", spec)
        return
    with pytest.raises(UnusableDataError) as err:
        check_labels(frame, "label", spec)
    assert "data.target 'label'" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_holdout_with_a_single_class_is_refused_with_the_fix() -> None:
    """Ordered by class, the latest 20 % holds one class: the time split is refused and the random one suggested."""
    frame = sorted_by_class().assign(t=pd.date_range("2020-01-01", periods=500, freq="h"))
    rule = SplitRule("t", 0.2, 42, stratify=True)
    train, holdout = split(frame, rule, "y")
    with pytest.raises(UnusableDataError, match=r"holdout .* holds a single value of y .*data\.time_column: null"):
        check_split(train, holdout, "y", CLASSIFICATION, rule)
    check_split(*split(frame, RANDOM, "y"), "y", CLASSIFICATION, RANDOM)  # the random split keeps both classes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\xff\xfe garbage \x89PNG", "not a readable CSV file"),
        (b"", "not a readable CSV file"),
        (b"a,b\n1,2\n", "no column benign (data.target)"),
        (b"benign,when\n1,yesterday\n0,tomorrow\n", "holds values that are not dates or times"),
    ],
)
def test_a_file_that_is_not_usable_csv_is_one_line(project_copy, content: bytes, message: str) -> None:
    """Binary garbage, an empty file, a missing label column or a time column that is not dates: one DataError line."""
    import yaml

    from {{ cookiecutter.__package_name }}.config import load_settings
    from {{ cookiecutter.__package_name }}.io.data import DataError, read_csv

    (project_copy / "own.csv").write_bytes(content)
    params = yaml.safe_load((project_copy / "params.yaml").read_text())
    params["data"].update(source="csv", csv_path="own.csv", target="benign", time_column="when")
    (project_copy / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(DataError, match=re.escape(message)) as err:
        read_csv(load_settings("dev", project_copy))
    assert "\n" not in str(err.value)
