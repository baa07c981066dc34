"""The GitOps flow, run for real with act and no Docker: pull request, integration on main, release to prod."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import Baked, bake, tool_env

pytestmark = pytest.mark.slow

PASSING_TEST = '''"""A change made on the dev branch."""


def test_dev_change() -> None:
    """The dev branch's new behaviour holds."""
    assert sum([1, 2]) == 3
'''


def job_result(output: str, job: str) -> str | None:
    """What act reported at the end of a job: 'succeeded' or 'failed' (None when the job did not run)."""
    found = re.findall(rf"\[[\w-]+/{re.escape(job)}\s*\].*Job (succeeded|failed)", output)
    return found[-1] if found else None


def champion_tags(project: Baked, model: str) -> dict[str, str] | None:
    query = (
        "import json, mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); c = mlflow.MlflowClient(); "
        f"v = c.get_model_version_by_alias('{model}', 'champion'); print(json.dumps(dict(v.tags)))"
    )
    result = project.run(".venv/bin/python", "-c", query, check=False)
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None


def pushed_bake(tmp_path: Path) -> tuple[Baked, Path]:
    """A default bake with main and dev pushed to a bare remote, set up: (the project, the remote)."""
    home = tmp_path / "home"
    home.mkdir()
    env = tool_env(home)
    assert bake({}, tmp_path, env).returncode == 0
    project = Baked({}, tmp_path / "flight-delays", None, env)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    project.run("git", "remote", "add", "origin", str(origin))
    project.run("git", "push", "-q", "origin", "main", "dev")
    project.run("make", "setup", timeout=900)
    return project, origin


@pytest.mark.heavy(minutes=8)
def test_pull_request_and_integration_with_act(tmp_path: Path) -> None:
    """bake -> bare remote -> PR green (also without the DVC remote, as on GitHub's runners), a failing unit test red
    and nothing promoted -> merge -> integration green."""
    project, _ = pushed_bake(tmp_path)

    # A developer's commit on dev: the pull-request workflow runs green, also where the default DVC remote (a folder
    # on the machine that baked the project) is out of reach, as on GitHub's runners: the notebooks check then says
    # so in one notice instead of running the notebooks. act copies the work tree, so the change goes in .dvc/config.
    (project.path / "tests" / "unit" / "test_dev_change.py").write_text(PASSING_TEST)
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "test: cover the dev change")
    gone = tmp_path / "not-here" / "dvc-remote"
    try:
        project.run(str(project.path / ".venv" / "bin" / "dvc"), "remote", "modify", "storage", "url", str(gone))
        green = project.run("make", "act-pr", timeout=1800, check=False)
    finally:
        project.run("git", "checkout", "--", ".dvc/config")
    assert green.returncode == 0, green.stdout[-4000:]
    assert job_result(green.stdout, "unit-tests") == "succeeded"
    assert job_result(green.stdout, "notebooks") == "succeeded"
    notices = [line.split("::notice::", 1)[1] for line in green.stdout.splitlines() if "::notice::" in line]
    assert len(notices) == 1 and notices[0].startswith("no dev data here, so what needs it is skipped: "), notices
    assert str(gone) in notices[0] and "dvc_remote=s3, gcs or azure" in notices[0]
    assert "executing notebooks/" not in green.stdout and "::error::" not in green.stdout

    # The same with a deliberately failing unit test: red, and nothing is promoted anywhere.
    project.run("git", "switch", "-q", "-c", "feature/broken")
    (project.path / "tests" / "unit" / "test_broken.py").write_text("def test_broken() -> None:\n    assert 1 == 2\n")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "test: a deliberately failing test", "--no-verify")
    # Only the unit-tests job: the workflow's other checks ran green above on the same code but for the test.
    red = project.run("make", "act-pr", "ACT_ARGS=-j unit-tests", timeout=1800, check=False)
    assert red.returncode != 0
    assert job_result(red.stdout, "unit-tests") == "failed"
    assert not (project.path / "mlflow.db").exists()
    project.run("git", "switch", "-q", "dev")
    project.run("git", "branch", "-q", "-D", "feature/broken")

    # Merge dev into main: the integration workflow runs the staging pipeline green. Its integration tests are
    # narrowed to the pipeline's (test_gates runs the whole suite of each task); the workflow's steps all run.
    project.run("git", "switch", "-q", "main")
    project.run("git", "merge", "-q", "--no-ff", "dev", "-m", "Merge dev into main")
    project.run("git", "push", "-q", "origin", "main")
    narrowed = "ACT_ARGS=--env PYTEST_ADDOPTS=-ktest_pipeline_registers_a_validated_champion_with_lineage"
    integration = project.run("make", "act-integration", narrowed, timeout=1800, check=False)
    assert integration.returncode == 0, integration.stdout[-4000:]
    assert "1 passed" in integration.stdout and "Job succeeded" in integration.stdout


@pytest.mark.heavy(minutes=16)
def test_release_and_the_monthly_cycle_with_act(tmp_path: Path) -> None:
    """release/1.0 trains, validates, promotes on the first load of prod data: the prod champion's lineage names the
    release commit and the tracked data, the commit carries the model tag, the version the approval (act's stand-in)
    and a model card; a second release keeps the champion -> the monthly cycle runs twice (ingest, score, monitor,
    publish to the data branch) and dispatches retraining once per episode -> a rollback's reason is in `make status`."""
    project, origin = pushed_bake(tmp_path)
    project.run("git", "switch", "-q", "main")

    # Production's first load: January to May 2013 arrive (labels through April), published to the data branch and
    # the DVC remote. Then cut release/1.0: the release workflow fetches that data, trains on the labelled window,
    # validates and promotes in the prod registry.
    project.run("make", "ingest", "ENV=prod", "UNTIL=2013-05", timeout=900)
    project.run("make", "publish", "ENV=prod", timeout=900)
    assert data_commits(origin) == 1
    project.run("git", "switch", "-q", "-c", "release/1.0")
    project.run("git", "push", "-q", "origin", "release/1.0")
    release = project.run("make", "act-release", timeout=2400, check=False)
    assert release.returncode == 0, release.stdout[-4000:]
    head = project.run("git", "rev-parse", "HEAD").stdout.strip()
    tags = champion_tags(project, "flight_delays_prod")
    assert tags is not None, "no prod champion after the release run"
    assert tags["git_commit"] == head and tags["git_branch"] == "release/1.0" and tags["git_dirty"] == "false"
    assert tags["environment"] == "prod" and tags["model_validation_status"] == "PASSED"
    assert (tags["data_from"], tags["data_through"]) == ("2013-01", "2013-04")  # never data not labelled by May
    assert json.loads(tags["data_md5"])["data/full"] == published_md5(origin, "data/full.dvc")  # tracked, not rebuilt
    tagged = subprocess.run(["git", "rev-parse", "model-prod-v1^{commit}"], cwd=origin, capture_output=True, text=True)
    assert tagged.stdout.strip() == head
    # The promote job recorded the approval on the version: under act, the stand-in, marked as such.
    assert tags["approved_by"].startswith("act (local: ") and tags["approval_source"] == "act"
    assert tags["approval_environment"] == "production" and "/actions/runs/" in tags["approval_run_url"]
    approvals = [json.loads(v) for k, v in tags.items() if k.startswith("audit_") and k.endswith("_approval")]
    assert len(approvals) == 1 and approvals[0]["user"] == tags["approved_by"]
    assert "model_card.html" in model_description(project, "flight_delays_prod", "1")

    # Release again from the same commit: v2 trains, passes the gate and ties v1, so v1 stays champion. The run is
    # green and says so; the tag of v1 stays where it is.
    again = project.run("make", "act-release", timeout=2400, check=False)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "@champion is still v1, released earlier as model-prod-v1: nothing to tag" in again.stdout
    assert champion_tags(project, "flight_delays_prod")["git_commit"] == head

    # The monthly cycle, twice under act: June then July arrive (with May's and June's labels), are scored,
    # monitored and published; a breach opens or updates the issue; retraining is dispatched once per episode.
    before = data_commits(origin)
    runs = [project.run("make", "act-monitor", timeout=1800, check=False) for _ in range(2)]
    for run, period in zip(runs, ("2013-06", "2013-07"), strict=True):
        assert f"== cycle (prod): {period} ==" in run.stdout, run.stdout[-4000:]
        assert job_result(run.stdout, "cycle") == ("failed" if "BREACH:" in run.stdout else "succeeded")
    assert data_commits(origin) == before + 2  # each cycle's data and records are on the data branch
    dispatches = [line for run in runs for line in run.stdout.splitlines()
                  if "act: would run gh workflow run release.yml --ref release/1.0" in line]  # fmt: skip
    due = [re.search(r"retraining due: (true|false)", run.stdout).group(1) for run in runs]
    # Both summer months drift from a January-April champion: June's breach alone is not enough (2 of 3), July's
    # completes the episode and dispatches it, once.
    assert all("BREACH:" in run.stdout for run in runs) and due == ["false", "true"]
    assert len(dispatches) == 1 and "-f trigger=drift" in dispatches[0]
    # Monitoring July again, on this machine, with what the last cycle published: the episode is not dispatched again.
    project.run("make", "data", "ENV=prod", timeout=900)
    again = project.run("make", "monitor", "ENV=prod", check=False, timeout=900)
    assert "== monitor (prod) ==" in again.stdout and "period                                       2013-07" in again.stdout
    assert "retraining due: false" in again.stdout and "already dispatched for this episode" in again.stdout

    # A rollback from the command line carries its reason, and `make status` shows it in the audit trail.
    set_alias(project, "flight_delays_prod", "previous_champion", "2")
    reason = "v1 drifted all summer: back to v2 until the retraining lands"
    project.run("make", "rollback", "ENV=prod", f"REASON={reason}", timeout=600)
    status = project.run("make", "status", "ENV=prod", timeout=600).stdout
    assert re.search(r"@champion\s+v2\s", status)
    (line,) = [row for row in status.splitlines() if re.search(r"\srollback\s+v2\s", row)]
    assert "@champion v1 -> v2" in line and f"reason: {reason}" in line


def model_description(project: Baked, model: str, version: str) -> str:
    query = (
        "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
        f"print(mlflow.MlflowClient().get_model_version('{model}', '{version}').description)"
    )
    return project.run(".venv/bin/python", "-c", query).stdout


def set_alias(project: Baked, model: str, alias: str, version: str) -> None:
    query = (
        "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
        f"mlflow.MlflowClient().set_registered_model_alias('{model}', '{alias}', '{version}')"
    )
    project.run(".venv/bin/python", "-c", query)


def data_commits(origin: Path) -> int:
    """Commits on the bare remote's data branch (0 before the first publish)."""
    count = subprocess.run(["git", "rev-list", "--count", "data"], cwd=origin, capture_output=True, text=True)
    return int(count.stdout.strip()) if count.returncode == 0 else 0


def published_md5(origin: Path, pointer: str) -> str:
    """The md5 of a DVC pointer on the bare remote's data branch."""
    import yaml

    text = subprocess.run(["git", "show", f"data:{pointer}"], cwd=origin, capture_output=True, text=True, check=True)
    return yaml.safe_load(text.stdout)["outs"][0]["md5"]
