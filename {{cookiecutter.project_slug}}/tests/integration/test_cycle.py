"""The production cycle on the shipped sample: October to December replayed month by month in a workspace of its
own (git, DVC remote, MLflow store), with a real HTTP receiver on 127.0.0.1 for the alerts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.published import read_history
from {{ cookiecutter.__package_name }}.operate import replay

from .conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration
PACKAGE = "{{ cookiecutter.__package_name }}"
QUICK = {"train": {"model": {"max_iter": 40}}, "monitor": {"reference_rows": 3000}}
# ~2,000 flights a month judge the cycle's mechanics, not the sample's quality (as in conftest.copy_project)
GATE = {
    "classification": {"validate": {"thresholds": {"roc_auc": 0.55, "average_precision": 0.2}, "slice_floor": 0.45},
                       "governance": {"disparity_limit": 0.6}},
    "regression": {"validate": {"thresholds": {"mae": 35.0, "rmse": 60.0}, "slice_floor": 90.0},
                   "promote": {"baseline": 40.0}, "governance": {"disparity_limit": 90.0}},
}  # fmt: skip


class Receiver(ThreadingHTTPServer):
    """A webhook on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.messages.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory):
    """October to December of the sample, bootstrapped on January to September; alerts to a local receiver."""
    receiver = Receiver()
    task = load_settings("prod", PROJECT_ROOT, environ={}).task
    overrides = {**QUICK, **GATE[task]}
    folder = tmp_path_factory.mktemp("cycle") / "replay"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALERT_WEBHOOK_URL", receiver.url)
        months, settings = replay.run(PROJECT_ROOT, start="2013-10", end="2013-12", folder=folder,
                                      source=PROJECT_ROOT / "data" / "raw", overrides=overrides)  # fmt: skip
    receiver.shutdown()
    return months, settings, receiver.messages


def cli(settings, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A command of the project, run as a user would, in the replay's workspace."""
    command = [sys.executable, "-m", PACKAGE, *args, "--env", "prod", "--root", str(settings.root)]
    environ = {k: v for k, v in os.environ.items() if k not in {"ALERT_WEBHOOK_URL", "MLFLOW_TRACKING_URI"}}
    return subprocess.run(command, capture_output=True, text=True, env={**environ, **(env or {})}, timeout=600)


def test_each_month_arrives_as_a_new_dvc_snapshot_committed_on_the_data_branch(replayed) -> None:
    """One commit of data/full.dvc per state of the data on the data branch, each with a new md5."""
    _, settings, _ = replayed
    log = subprocess.run(["git", "log", "--format=%H", "data", "--", "data/full.dvc"], cwd=settings.root,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    md5s = [yaml.safe_load(subprocess.run(["git", "show", f"{commit}:data/full.dvc"], cwd=settings.root,
                                          capture_output=True, text=True, check=True).stdout)["outs"][0]["md5"]
            for commit in log]  # fmt: skip
    assert len(log) == 4 and len(set(md5s)) == 4  # the bootstrap (January to September), then one per month


def test_every_period_is_scored_and_published_with_its_provenance(replayed) -> None:
    """Predictions of each month name the model, version, alias, as-of period and scoring time; MLflow has them too."""
    months, settings, _ = replayed
    for month in months:
        published = pd.read_parquet(settings.root / "data" / "published" / "predictions" / f"{month.period}.parquet")
        assert {"model_name", "model_version", "model_alias", "as_of", "scored_at", "prediction"} <= set(published)
        assert set(published["model_version"]) == {month.champion} and set(published["as_of"]) == {month.period}
    registry = tracking.connect(settings)
    experiment = registry.client.get_experiment_by_name(registry.experiment_name("scoring"))
    runs = registry.client.search_runs([experiment.experiment_id])
    assert sorted(run.data.tags["period"] for run in runs) == [m.period for m in months]


def test_the_history_has_one_row_per_period_per_check_and_labels_a_period_late(replayed) -> None:
    months, settings, _ = replayed
    history = read_history(settings)
    drift = history[history["check"] == "feature_drift"]
    assert sorted(drift["period"]) == [m.period for m in months]
    performance = history[history["check"] == "performance"]
    assert sorted(performance["period"]) == ["2013-09", "2013-10", "2013-11"]  # labels come one month late
    assert not history.duplicated(["run", "check"]).any()


def test_the_receiver_gets_one_well_formed_message_per_alert(replayed) -> None:
    """Slack-compatible JSON, naming the model; as many breach, dispatch and rollback messages as the months raised,
    and one gate message per version the gate failed."""
    months, settings, messages = replayed
    assert all(set(message) == {"text"} and message["text"].startswith(f"*[{settings.tracking.registered_model}]")
               for message in messages)  # fmt: skip
    raised = sum(len(month.alerts) for month in months)
    failed = sum(v.tags.get(tracking.STATUS_TAG) == "FAILED" for v in tracking.connect(settings).versions())
    assert len(messages) == raised + failed and raised > 0


def test_monitoring_the_same_period_again_never_dispatches_twice(replayed, tmp_path: Path) -> None:
    """With the schedule due, monitoring December says retrain; once dispatched, monitoring December again does not."""
    _, settings, _ = replayed
    params = settings.root / "params.yaml"
    doc = yaml.safe_load(params.read_text())
    doc["operate"].update(retrain_every=1, cooldown=0)
    params.write_text(yaml.safe_dump(doc))
    subprocess.run(["git", "update-ref", "refs/remotes/origin/release/1.0", "HEAD"], cwd=settings.root, check=True)
    outputs = []
    for attempt in range(2):
        github_output = tmp_path / f"outputs-{attempt}"
        monitored = cli(
            settings, "monitor", "--period", "2013-12", "--workflow", env={"GITHUB_OUTPUT": str(github_output)}
        )
        assert monitored.returncode in (0, 3), monitored.stderr
        outputs.append(dict(line.split("=", 1) for line in github_output.read_text().splitlines()))
        if outputs[-1]["retrain"] == "true":
            dispatched = cli(settings, "dispatch", "--episode", outputs[-1]["episode"], "--period", "2013-12",
                             env={"ACT": "true"})  # fmt: skip
            assert dispatched.returncode == 0 and "act: would run gh workflow run release.yml" in dispatched.stdout
    assert [o["retrain"] for o in outputs] == ["true", "false"]
    assert outputs[0]["episode"] == outputs[1]["episode"]


def test_with_the_receiver_down_the_failed_delivery_is_reported_and_the_outcome_kept(replayed) -> None:
    """A breach whose alert cannot be delivered still exits 3 (the breach), after the bounded retries, saying so."""
    _, settings, _ = replayed
    params = settings.root / "params.yaml"
    doc = yaml.safe_load(params.read_text())
    doc["monitor"]["drift_share"] = 0.01  # any drifted feature is a breach
    doc["alerts"].update(attempts=2, timeout_seconds=2)
    params.write_text(yaml.safe_dump(doc))
    down = Receiver()
    url = down.url
    down.shutdown()
    down.server_close()  # nothing listens there any more
    monitored = cli(settings, "monitor", "--period", "2013-12", env={"ALERT_WEBHOOK_URL": url})
    assert monitored.returncode == 3, monitored.stdout + monitored.stderr
    assert "warning: alert breach: not delivered after 2 attempts" in monitored.stderr
    assert "Traceback" not in monitored.stderr
