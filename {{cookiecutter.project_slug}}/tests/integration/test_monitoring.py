"""Monitoring on the real sample: the later season drifts, the same period does not, and the policy counts breaches."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration


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


def test_later_season_is_drift_and_same_period_is_not(monitored: Path, capsys) -> None:
    """The seasonal shift of the latest months is detected (exit 3); a same-period window is not (exit 0)."""
    assert monitor(monitored) == 3
    later = capsys.readouterr().out
    assert "drifted: temp" in later and "BREACH" in later
    assert monitor(monitored, "--same-period") == 0
    same = capsys.readouterr().out
    assert "0 of 23" in same or " 0 of " in same
    assert "BREACH" not in same
    history = pd.read_parquet(monitored / "data" / "dev" / "monitoring" / "history.parquet")
    assert history["breach"].tolist()[-2:] == [True, False]


def test_report_and_performance_with_ground_truth(monitored: Path, capsys) -> None:
    """With labels joined by id the window's metric is computed; the HTML report embeds its plots."""
    settings = load_settings("dev", monitored)
    features = pd.read_parquet(monitored / "data" / "dev" / "features.parquet")
    truth = monitored / "truth.parquet"
    features[[settings.data.id_column, settings.data.target]].to_parquet(truth)
    monitor(monitored, "--ground-truth", str(truth))
    out = capsys.readouterr().out
    metric = "roc_auc" if settings.task == "classification" else "mae"
    assert f"{metric}" in out and "(reference " in out
    page = (monitored / "reports" / "monitoring" / "dev-latest.html").read_text()
    assert page.count("data:image/png") >= 3 and "Per feature" in page


def test_retraining_is_due_after_enough_breaches(monitored: Path, capsys) -> None:
    """Two breaching windows among the last three make retraining due."""
    monitor(monitored)
    monitor(monitored)
    assert "retraining due (2 of the last 3 windows)     True" in capsys.readouterr().out
