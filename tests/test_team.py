"""The team tracking server of deploy/tracking: the project's steps against it, and who may write production."""

from __future__ import annotations

import subprocess
import time
import tomllib

import pytest
import yaml

from team import Team

PROD = "flight_delays_prod"


@pytest.mark.slow
@pytest.mark.heavy(minutes=5)  # 5 min 28 s in a whole run with its set-up; pipeline 75 s alone
def test_the_team_server_runs_the_project_and_guards_production(team: Team) -> None:
    """A person (MANAGE on dev, READ on prod) runs pipeline, status, serve and monitor against the server
    (PostgreSQL, S3 artifacts through the server); moving production's @champion is refused them (403, alias
    unchanged) and `rollback` says to use the workflow in one line; the promoter may move it; sign-up is closed; a
    postgresql:// URI reads the same registry; grants.py applied twice changes nothing."""
    started = time.monotonic()
    pipeline = team.run("ada", "make", "pipeline").stdout
    assert "PROMOTED" in pipeline, pipeline[-3000:]
    took = {"pipeline": time.monotonic() - started}
    status = team.run("ada", "make", "status").stdout
    assert f"in {team.url}" in status and "@champion           v1" in status, status
    team.run("ada", "make", "serve-smoke")
    monitor = team.run("ada", ".venv/bin/flight-delays", "monitor", "--env", "dev", check=False)
    assert monitor.returncode in (0, 3) and "report:" in monitor.stdout, monitor.stdout[-2000:] + monitor.stderr[-2000:]
    took["status, serve-smoke, monitor"] = time.monotonic() - started - took["pipeline"]
    runs = team.python("ada", "from mlflow import MlflowClient\nc = MlflowClient()\n"
                       "e = c.get_experiment_by_name('flight-delays-dev-monitoring')\n"
                       "print(len(c.search_runs([e.experiment_id])), e.artifact_location)")  # fmt: skip
    count, location = runs.split()
    assert int(count) >= 1 and location.startswith("mlflow-artifacts:"), runs  # artifacts go through the server
    assert team.artifact_keys(), "nothing reached the S3 bucket"

    # Production: the admin registers two versions, the promoter (MANAGE on prod) sets the aliases.
    team.python("admin", "from mlflow import MlflowClient\nc = MlflowClient()\n"
                f"[c.copy_model_version('models:/flight_delays_dev@champion', '{PROD}') for _ in range(2)]")  # fmt: skip
    team.python("promoter", "from mlflow import MlflowClient\nc = MlflowClient()\n"
                f"c.set_registered_model_alias('{PROD}', 'champion', '2')\n"
                f"c.set_registered_model_alias('{PROD}', 'previous_champion', '1')")  # fmt: skip
    refused = team.python("ada", "from mlflow import MlflowClient\nfrom mlflow.exceptions import MlflowException\n"
                          "c = MlflowClient()\ntry:\n"
                          f"    c.set_registered_model_alias('{PROD}', 'champion', '1')\n"
                          "except MlflowException as err:\n    print(err.get_http_status_code())")  # fmt: skip
    assert refused.strip() == "403", refused
    rollback = team.run("ada", ".venv/bin/flight-delays", "rollback", "--env", "prod", check=False)
    assert rollback.returncode != 0 and "Traceback" not in rollback.stderr, rollback.stderr
    assert "ada may not move @champion of flight_delays_prod" in rollback.stderr, rollback.stderr
    assert "gh workflow run rollback.yml" in rollback.stderr, rollback.stderr
    champion = f"import mlflow\nprint(mlflow.MlflowClient().get_model_version_by_alias('{PROD}', 'champion').version)"
    assert team.python("ada", champion).strip() == "2"  # people read production, and it did not move

    # Sign-up is closed: a person cannot create users; no one unauthenticated gets anything.
    signup = team.python("ada", "from mlflow.server.auth.client import AuthServiceClient\n"
                         "from mlflow.exceptions import MlflowException\ntry:\n"
                         f"    AuthServiceClient('{team.url}').create_user('mallory', 'mallory-Pa55word')\n"
                         "except MlflowException as err:\n    print(err.get_http_status_code())")  # fmt: skip
    assert signup.strip() == "403", signup
    anonymous = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{team.url}/signup"],
                               capture_output=True, text=True, timeout=30)  # fmt: skip
    assert anonymous.stdout == "401", anonymous.stdout

    # The same registry through a postgresql:// URI (libpq's PG* variables carry the password).
    direct = subprocess.run([".venv/bin/flight-delays", "status", "--env", "dev"], cwd=team.project.path,
                            env={**team.project.env, **team.postgres.env,
                                 "MLFLOW_TRACKING_URI": f"postgresql://mlflow@127.0.0.1:{team.postgres.port}/mlflow"},
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert direct.returncode == 0 and "@champion           v1" in direct.stdout, direct.stdout + direct.stderr

    again = team.regrant()
    assert again.returncode == 0 and again.stdout.startswith("no change"), again.stdout + again.stderr
    took["production, sign-up, postgresql://, grants again"] = time.monotonic() - started - sum(took.values())
    print("team scenario:", ", ".join(f"{step} {seconds:.0f} s" for step, seconds in took.items()))


def test_deploy_tracking_files(bakes: dict) -> None:
    """The compose file parses; grants.toml names each environment's model and experiment as configs/ do and keeps
    production read-only for people; requirements.txt pins the lock's mlflow; the auth app starts everyone with no
    permission; serve.sh passes shellcheck and, missing a setting, names every one missing in a line."""
    from conftest import MATRIX, config_id
    from test_workflows import tool

    project = bakes[config_id(MATRIX[0])].path
    tracking = project / "deploy" / "tracking"
    compose = yaml.safe_load((tracking / "compose.yaml").read_text())
    assert {"postgres", "minio", "bucket", "mlflow"} <= compose["services"].keys()
    assert compose["services"]["mlflow"]["ports"] == ["127.0.0.1:5000:5000"]
    grants = tomllib.loads((tracking / "grants.toml").read_text())
    for env, names in grants["environments"].items():
        config = yaml.safe_load((project / "configs" / f"{env}.yaml").read_text())["tracking"]
        assert names == {"model": config["registered_model"], "experiment": config["experiment"]}, env
    assert grants["roles"]["people"]["prod"] == "READ" and grants["roles"]["promoter"] == {"prod": "MANAGE"}
    lock = (project / "uv.lock").read_text()
    mlflow = lock[lock.index('name = "mlflow"\nversion = "'):].split('"')[3]
    assert f"mlflow[auth]=={mlflow}\n" in (tracking / "requirements.txt").read_text()
    assert "default_permission = NO_PERMISSIONS" in (tracking / "basic_auth.ini").read_text()
    check = subprocess.run([tool("shellcheck"), "serve.sh"], cwd=tracking, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    refused = subprocess.run(["bash", "serve.sh"], cwd=tracking, env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                             text=True, timeout=30)  # fmt: skip
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    for name in ("PGHOST", "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_ALLOWED_HOSTS", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert name in refused.stderr
