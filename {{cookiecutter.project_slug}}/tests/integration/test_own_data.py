"""Your own CSV through configuration only: public tables that look nothing like flights, and tables refused."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sklearn import datasets

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io import tracking

from .conftest import PROJECT_ROOT, edit_yaml

pytestmark = pytest.mark.integration
STEPS = ("features", "train", "evaluate", "validate", "promote", "predict")


def breast_cancer() -> pd.DataFrame:
    """569 tumours, 30 numeric measurements, the label 0/1, rows sorted by class and no time column."""
    frame = datasets.load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    return frame.sort_values("benign", kind="stable").reset_index(drop=True)


def diabetes() -> pd.DataFrame:
    """442 patients, 10 numeric measurements, a disease-progression score from 25 to 346, no time column."""
    frame = datasets.load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    return frame.assign(sex=frame["sex"].map({1.0: "F", 2.0: "M"}))


TABLES = {
    "breast-cancer": (breast_cancer, "classification", "benign", {"roc_auc": 0.8}, [], 0.5),
    "diabetes": (diabetes, "regression", "progression", {"mae": 60.0}, ["sex"], 80.0),
}


def own_project(root: Path, frame: pd.DataFrame, task: str, target: str, edit: Callable[[dict], None] | None = None):
    """The project's configuration in ``root`` pointed at ``frame`` as data/raw/own.csv: only params.yaml changes."""
    for name in ("params.yaml", "uv.lock"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    (root / "data" / "raw").mkdir(parents=True)
    frame.to_csv(root / "data" / "raw" / "own.csv", index=False)

    def point_at_csv(doc: dict) -> None:
        doc["task"] = task
        doc["data"].update(source="csv", csv_path="data/raw/own.csv", target=target, time_column=None, max_rows=None)
        doc["tracking"]["uri"] = "sqlite:///mlflow.db"
        doc["validate"].update(slice_min_rows=20)
        doc["governance"].update(disparity_metric="selection_rate" if task == "classification" else "mae")
        if edit:
            edit(doc)

    edit_yaml(root / "params.yaml", point_at_csv)
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(n_candidates=2, cv_splits=3))
    return root


@pytest.mark.parametrize("name", list(TABLES))
def test_a_public_table_goes_green_with_configuration_only(tmp_path: Path, name: str) -> None:
    """The whole pipeline passes on a table with no time column, for either task: a seeded stratified (or plain)
    random holdout, recorded on the version; the first champion beats the baseline computed from the data."""
    make, task, target, thresholds, slices, floor = TABLES[name]

    def rules(doc: dict) -> None:
        doc["validate"].update(thresholds=thresholds, slice_columns=slices, slice_floor=floor)
        doc["governance"].update(group_columns=slices)

    root = own_project(tmp_path, make(), task, target, rules)
    for step in STEPS:
        assert main([step, "--env", "dev", "--root", str(root)]) == 0, step
    champion = tracking.connect(load_settings("dev", root)).version_by_alias(tracking.CHAMPION)
    assert champion.tags[tracking.STATUS_TAG] == "PASSED"
    stratified = "stratified by the label, " if task == "classification" else ""
    assert champion.tags["split"] == f"random: 20% of rows, {stratified}seed 42"
    assert champion.tags["promotion_reference"].startswith("the naive baseline")
    predictions = pd.read_parquet(root / "data" / "dev" / "predictions.parquet")
    assert len(predictions) == math.ceil(len(make()) * 0.2)  # the holdout, scored


UNUSABLE = {
    "missing column": (lambda f: f.drop(columns="benign"), None, "no column benign (data.target)"),
    "one class in a time split": (  # sorted by label: each side of a cut by time holds one class
        lambda f: f.assign(when=pd.date_range("2020-01-01", periods=len(f), freq="D")),
        lambda doc: doc["data"].update(time_column="when"),
        "(time: the latest 20% of rows by when) holds a single value of benign",
    ),
    "too few rows": (lambda f: f.sample(60, random_state=0), None, "only 60 rows have a value of data.target 'benign'"),
    "text label": (
        lambda f: f.assign(benign=f["benign"].map({0: "malignant", 1: "benign"})),
        None,
        "data.target 'benign' is not numeric (e.g. 'malignant')",
    ),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_a_table_the_pipeline_cannot_use_stops_the_first_step(tmp_path: Path, case: str, capsys) -> None:
    """features, the first step to see the data, stops with one line naming the problem and the fix; no traceback,
    nothing trained, nothing registered."""
    change, edit, message = UNUSABLE[case]
    root = own_project(tmp_path, change(breast_cancer()), "classification", "benign", edit)
    assert main(["run", *STEPS, "--env", "dev", "--root", str(root)]) == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (root / "mlflow.db").exists() and not (root / "data" / "dev" / "features.parquet").exists()


def test_your_csv_takes_new_files_and_late_labels_by_id(tmp_path: Path, capsys) -> None:
    """`ingest --file` adds a file with the same columns as a new DVC snapshot; rows come without a label first, then a
    later file labels them by id; a file with other columns is refused in one line."""
    import subprocess
    import sys

    frame = breast_cancer().sample(frac=1, random_state=0).reset_index(drop=True)
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame), freq="D")

    def with_time(doc: dict) -> None:
        doc["data"].update(id_column="row_id", time_column="when")
        doc["operate"]["window"] = None  # every period, to count the rows

    root = own_project(tmp_path, frame.head(400), "classification", "benign", with_time)
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=root, check=True)
    arrived, labels = frame.iloc[400:].assign(benign=None), frame.iloc[400:]
    for name, part in (("arrived.csv", arrived), ("labels.csv", labels), ("other.csv", frame.drop(columns="when"))):
        part.to_csv(root / name, index=False)

    def labelled_rows() -> int:
        assert main(["features", "--env", "dev", "--root", str(root)]) == 0
        return len(pd.read_parquet(root / "data" / "dev" / "features.parquet"))

    assert labelled_rows() == 400
    assert main(["ingest", "--env", "dev", "--root", str(root), "--file", str(root / "arrived.csv")]) == 0
    assert labelled_rows() == 400  # the new rows have no label yet
    assert main(["ingest", "--env", "dev", "--root", str(root), "--file", str(root / "labels.csv")]) == 0
    assert labelled_rows() == len(frame)
    assert len(list((root / "data" / "raw" / "own-increments").glob("*.csv"))) == 2
    capsys.readouterr()
    assert main(["ingest", "--env", "dev", "--root", str(root), "--file", str(root / "other.csv")]) == 1
    assert "its columns differ from data/raw/own.csv's (missing: when" in capsys.readouterr().err
