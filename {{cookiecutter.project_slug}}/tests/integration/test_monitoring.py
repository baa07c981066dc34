"""Monitoring on the real sample: the later season drifts, the same period does not, and the policy counts breaches."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.published import read_history

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration
BREACH = 3


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole sample, a quick champion: the batch to score is the latest period (late October to December)."""
    root = copy_project(tmp_path_factory.mktemp("monitoring"), rows=None)
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    for step in ("features", "train", "evaluate", "validate", "promote"):
        assert main([step, "--env", "dev", "--root", str(root)]) == 0, step
    return root


def monitor(root: Path, *args: str) -> int:
    return main(["monitor", "--env", "dev", "--root", str(root), *args])


def retraining_due(printed: str) -> list[bool]:
    return [flag == "True" for flag in re.findall(r"retraining due \(.*?\)\s+(True|False)", printed)]


def test_later_season_is_drift_and_same_period_is_not(monitored: Path, capsys) -> None:
    """The seasonal shift of the latest months is detected (exit 3); a same-period window is not (exit 0)."""
    assert monitor(monitored) == BREACH
    later = capsys.readouterr().out
    assert "drifted: temp" in later and "BREACH" in later
    assert monitor(monitored, "--same-period") == 0
    same = capsys.readouterr().out
    assert re.search(r"features drifted\s+0 of \d+ ", same), same
    assert "BREACH" not in same
    history = read_history(load_settings("dev", monitored))
    runs = history.groupby("run", sort=True)["breach"].any()  # window runs are named by their UTC time
    assert runs.tolist()[-2:] == [True, False]


def test_performance_with_ground_truth_is_the_champions_metric_on_the_window(monitored: Path) -> None:
    """With labels joined by id, the window's metric is the champion's metric on those rows; the report has plots."""
    settings = load_settings("dev", monitored)
    spec = task_spec(settings.task)
    features = pd.read_parquet(monitored / "data" / "dev" / "features.parquet")
    truth = monitored / "truth.parquet"
    features[[settings.data.id_column, settings.data.target]].to_parquet(truth)
    assert monitor(monitored, "--ground-truth", str(truth)) == BREACH  # the late season drifts, labels or not
    history = read_history(settings)
    recorded = history[(history["run"] == history["run"].max()) & (history["check"] == "performance")].iloc[0]
    champion = tracking.connect(settings).load_alias(tracking.CHAMPION)
    batch = pd.read_parquet(monitored / "data" / "dev" / "batch.parquet")
    labels = batch.merge(features[[settings.data.id_column, settings.data.target]], on=settings.data.id_column)
    expected = spec.metrics(labels[settings.data.target].to_numpy(), spec.scores(champion.model, labels))
    assert recorded["value"] == pytest.approx(expected[spec.primary_metric], rel=1e-9)
    page = (monitored / "data" / "published-dev" / "reports" / "dev-latest.html").read_text()
    assert page.count("data:image/png") >= 3 and "Per feature" in page


def test_retraining_counts_the_breaches_of_the_current_champion_only(monitored: Path, capsys) -> None:
    """Two breaching windows of one champion make retraining due; a new champion starts with a clean record."""
    settings = load_settings("dev", monitored)
    registry = tracking.connect(settings)
    for _ in range(2):  # two fresh versions, never monitored before
        assert main(["train", "--env", "dev", "--root", str(monitored)]) == 0
    first, second = (v.version for v in registry.versions()[-2:])
    registry.set_alias(tracking.CHAMPION, first)
    assert [monitor(monitored), monitor(monitored)] == [BREACH, BREACH]
    assert retraining_due(capsys.readouterr().out) == [False, True]
    registry.set_alias(tracking.CHAMPION, second)  # as a promotion after the retraining would
    assert monitor(monitored) == BREACH
    assert retraining_due(capsys.readouterr().out) == [False]


def test_a_breach_in_a_workflow_fails_the_step(monitored: Path, tmp_path: Path, capsys) -> None:
    """In CI (--workflow) a breach still exits 3, so the job shows red, and the next jobs get breach=true."""
    outputs = tmp_path / "github_output"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_OUTPUT", str(outputs))
        assert monitor(monitored, "--workflow") == BREACH
    assert "breach=true" in outputs.read_text().splitlines()
    assert "alert breach: not sent" in capsys.readouterr().err  # no webhook configured here, and it says so
