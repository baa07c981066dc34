"""The team's tracking stack for the session: a real PostgreSQL 15, moto's S3 server and the baked project's
deploy/tracking/serve.sh (mlflow server with the basic-auth app), with the users and levels of its grants.toml.

PostgreSQL is a private cluster in a temporary folder on a free port of 127.0.0.1 (never the system's); as root,
initdb and the server run as the `postgres` system user, which owns that folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import Baked, S3Server, bake, free_port, tool_env, uv_bin, wait_for_http

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORDS = {"admin": "admin-Pa55word-team", "ci": "ci-Pa55word-team", "promoter": "promoter-Pa55word-team",
             "ada": "ada-Pa55word-team"}  # fmt: skip


@dataclass
class Postgres:
    """A private PostgreSQL cluster; ``env`` holds libpq's PG* variables for user mlflow."""

    port: int
    password: str
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "mlflow", "PGPASSWORD": self.password}


def _as_cluster_owner(args: list[str], folder: Path) -> list[str]:
    """initdb refuses root: run it (and the server) as `postgres`, who then owns ``folder``."""
    if os.geteuid() != 0:
        return args
    shutil.chown(folder, "postgres")
    return ["runuser", "-u", "postgres", "--", *args]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """PostgreSQL 15 (Debian's, which `make test` installs) with password authentication and the two databases the
    tracking server uses: mlflow (runs, models) and mlflow_auth (users, permissions)."""
    if not (PG_BIN / "initdb").is_file():
        pytest.fail(f"{PG_BIN}/initdb is missing: run `make test`, which installs postgresql-15 "
                    "(scripts/system-packages.sh)")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="team-pg-", dir="/tmp"))  # not under pytest's 0700 root-owned tmp
    server = Postgres(free_port(), "pg-Pa55word-team")
    (folder / "pw").write_text(server.password)
    data = folder / "data"

    def run(*args: object) -> None:
        subprocess.run(_as_cluster_owner([str(a) for a in args], folder), check=True, capture_output=True, timeout=120)

    run(PG_BIN / "initdb", "-D", data, "-U", "mlflow", "--pwfile", folder / "pw", "--auth=scram-sha-256", "-E", "UTF8")
    options = f"-h 127.0.0.1 -p {server.port} -k {folder}"
    run(PG_BIN / "pg_ctl", "-D", data, "-l", folder / "log", "-o", options, "-w", "start")
    try:
        for database in ("mlflow", "mlflow_auth"):
            subprocess.run([PG_BIN / "createdb", database], env={**os.environ, **server.env}, check=True, timeout=60)
        yield server
    finally:
        run(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Team:
    """The team server at ``url`` and the project baked against it."""

    url: str
    project: Baked
    postgres: Postgres
    s3: S3Server
    bucket: str
    admin_env: dict[str, str]

    def as_user(self, user: str) -> dict[str, str]:
        """The project's environment, logged in as ``user`` (the credentials MLflow's client reads)."""
        return {**self.project.env, "MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": PASSWORDS[user]}

    def run(self, user: str, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.project.path, env=self.as_user(user), capture_output=True, text=True,
                                timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            failed = f"{' '.join(args)} as {user} failed ({result.returncode})"
            raise AssertionError(f"{failed}:\n{result.stdout}\n{result.stderr}")
        return result

    def regrant(self) -> subprocess.CompletedProcess:
        """deploy/tracking/grants.py, as the admin, as the operator runs it."""
        return _grants(self.project, self.admin_env)

    def artifact_keys(self) -> list[str]:
        """The objects in the artifact bucket (the server writes them; clients never see S3)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3.endpoint, region_name="us-east-1",
                              aws_access_key_id=self.s3.env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=self.s3.env["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        listed = client.list_objects_v2(Bucket=self.bucket.removeprefix("s3://"))
        return [item["Key"] for item in listed.get("Contents", [])]

    def python(self, user: str, code: str) -> str:
        """``code`` in the server's environment (deploy/tracking/.venv) as ``user``, against the server; its stdout."""
        env = {**self.as_user(user), "MLFLOW_TRACKING_URI": self.url}
        result = subprocess.run(["deploy/tracking/.venv/bin/python", "-W", "ignore", "-c", code], cwd=self.project.path,
                                env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, f"as {user}:\n{code}\n{result.stdout}\n{result.stderr}"
        return result.stdout


def _grants(project: Baked, admin_env: dict[str, str]) -> subprocess.CompletedProcess:
    python = project.path / "deploy" / "tracking" / ".venv" / "bin" / "python"
    return subprocess.run([str(python), "-W", "ignore", "deploy/tracking/grants.py"], cwd=project.path,
                          env={**project.env, **admin_env}, capture_output=True, text=True, timeout=600)  # fmt: skip


def _edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _quick(doc: dict) -> None:
    """The integration tests' quick settings (tests/integration/conftest.py): 3,000 rows, a small model."""
    doc["data"]["max_rows"] = 3000
    doc["train"]["model"].update(max_iter=40)
    doc["validate"]["slice_min_rows"] = 100
    doc["validate"].update(thresholds={"roc_auc": 0.55, "average_precision": 0.2}, slice_floor=0.45)
    doc["governance"]["disparity_limit"] = 0.6


@pytest.fixture(scope="session")
def team(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, s3_server: S3Server) -> Iterator[Team]:
    """A default bake whose tracking URI is the team server; the server started by its deploy/tracking/serve.sh from
    the environment of its requirements.txt, its grants.toml applied (plus a person, ada) by grants.py."""
    root = tmp_path_factory.mktemp("team")
    (root / "home").mkdir()
    env = tool_env(root / "home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    result = bake({"mlflow_tracking_uri": url}, root, env)
    assert result.returncode == 0, result.stdout + result.stderr
    project = Baked({"mlflow_tracking_uri": url}, root / "flight-delays", result, env)
    _edit_yaml(project.path / "params.yaml", _quick)
    _edit_yaml(project.path / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    tracking = project.path / "deploy" / "tracking"
    with (tracking / "grants.toml").open("a") as grants:
        grants.write('\n[users.ada]\nrole = "people"\nlogin_variable = "MLFLOW_ADA_PASSWORD"\n')
    # The documented path without Docker: the server's own environment, then serve.sh.
    project.run(uv_bin(), "venv", "-q", "--python", "3.11", str(tracking / ".venv"), timeout=300)
    project.run(uv_bin(), "pip", "install", "-q", "--python", str(tracking / ".venv"),
                "-r", str(tracking / "requirements.txt"), timeout=600)  # fmt: skip
    bucket = s3_server.create_bucket("team-artifacts")
    server_env = {
        **env, **postgres.env, **s3_server.env,
        "MLFLOW_S3_ENDPOINT_URL": s3_server.endpoint,
        "MLFLOW_ARTIFACTS_DESTINATION": bucket,
        "MLFLOW_ALLOWED_HOSTS": f"127.0.0.1:{port}",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "team-test-csrf-key",
        "MLFLOW_AUTH_ADMIN_USERNAME": "admin",
        "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORDS["admin"],
        "MLFLOW_PORT": str(port),
        "MLFLOW_WORKERS": "1",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # two cores: no background job runner
        "MLFLOW_BIN": str(tracking / ".venv" / "bin" / "mlflow"),
    }  # fmt: skip
    log = (root / "server.log").open("w")
    server = subprocess.Popen(["bash", str(tracking / "serve.sh")], env=server_env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    setup = subprocess.Popen(["make", "setup", f"UV={uv_bin()}"], cwd=project.path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip  (installs while the server starts)
    try:
        wait_for_http(f"{url}/health", server, seconds=180)
        admin = {"MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_USERNAME": "admin",
                 "MLFLOW_TRACKING_PASSWORD": PASSWORDS["admin"]}  # fmt: skip
        passwords = {f"MLFLOW_{user.upper()}_PASSWORD": PASSWORDS[user] for user in ("ci", "promoter", "ada")}
        grants = _grants(project, {**admin, **passwords})
        assert grants.returncode == 0, grants.stdout + grants.stderr
        assert "created user ada" in grants.stdout, grants.stdout
        output, _ = setup.communicate(timeout=900)
        assert setup.returncode == 0, output
        yield Team(url, project, postgres, s3_server, bucket, admin)
    finally:
        setup.kill() if setup.poll() is None else None
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
