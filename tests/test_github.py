"""Going to GitHub: the DVC remote's OIDC sign-in, the README's list of settings, Dependabot and the audit, a bucket
remote pushed and pulled through the S3 protocol, and the one-line errors of a remote the workflows cannot reach."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from conftest import MATRIX, Baked, S3Server, config_id, free_port, uv_bin
from test_workflows import data_jobs, tool, workflows

# The order a new repository's workflows first run in: its first pull request, the merge, a release, the monthly cycle.
FIRST_NEED = ["pull-request.yml", "integration.yml", "release.yml", "monitor.yml"]
SIGN_IN = {  # the action the setup action signs in with, and the repository variables it reads, per DVC remote
    "local": (None, []),
    "s3": ("aws-actions/configure-aws-credentials", ["AWS_ROLE_ARN", "AWS_REGION"]),
    "gcs": ("google-github-actions/auth", ["GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_SERVICE_ACCOUNT"]),
    "azure": ("azure/login", ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"]),
}
CLOUD = [c for c in MATRIX if c["dvc_remote"] != "local"]
S3 = next(c for c in MATRIX if c["dvc_remote"] == "s3")


def settings_in_order(baked: Baked) -> list[tuple[str, str]]:
    """('Variable' | 'Secret', NAME) of every vars.NAME and secrets.NAME the workflows read, first use first."""
    seen: dict[str, str] = {}
    for name in FIRST_NEED:
        text = (baked.path / ".github" / "workflows" / name).read_text()
        for kind, setting in re.findall(r"\$\{\{[^}]*?\b(vars|secrets)\.([A-Z0-9_]+)", text):
            seen.setdefault(setting, "Variable" if kind == "vars" else "Secret")
    return [(kind, setting) for setting, kind in seen.items()]


def test_going_to_github_lists_every_variable_and_secret_in_order(baked: Baked) -> None:
    """The README's "Going to GitHub" lists exactly the variables and secrets the workflows read, in the order a new
    repository's workflows first need them, each once."""
    readme = (baked.path / "README.md").read_text()
    section = readme.split("\n## Going to GitHub\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^1\. (Variable|Secret) `([A-Z0-9_]+)`", section, flags=re.MULTILINE)
    assert listed == settings_in_order(baked)
    assert baked.config["dvc_remote"] != "local" or "GitHub's runners cannot reach" in section


def test_setup_action_signs_in_to_the_remotes_cloud_with_oidc(baked: Baked) -> None:
    """The setup action signs in with the remote's own action only (none for a local remote), after `make
    cloud-check`, never under act; it reads the variables from the env every workflow that fetches data sets from
    `vars` (a composite action cannot read `vars`); the jobs that fetch data hold id-token: write."""
    remote = baked.config["dvc_remote"]
    action_name, variables = SIGN_IN[remote]
    action = yaml.load((baked.path / ".github/actions/setup/action.yml").read_text(), Loader=yaml.BaseLoader)
    steps = action["runs"]["steps"]
    remote_actions = {step["uses"].split("@")[0] for step in steps if "uses" in step}
    assert remote_actions == {"actions/setup-python", "astral-sh/setup-uv"} | ({action_name} - {None})
    if action_name is None:
        assert not any(step.get("run") == "make cloud-check" for step in steps)
        return
    names = [step.get("uses", step.get("run", "")).split("@")[0] for step in steps]
    check, sign_in = names.index("make cloud-check"), names.index(action_name)
    assert check < sign_in < names.index('make data ENV="$DATA_ENV"')
    for index in (check, sign_in):
        assert steps[index]["if"] == "${{ inputs.environment != 'none' && !env.ACT }}"
    assert {f"${{{{ env.{name} }}}}" for name in variables} == set(steps[sign_in]["with"].values())
    fetching = {name for name, _ in data_jobs(baked)}
    expected_env = {key: f"${{{{ vars.{key} }}}}" for key in variables}
    for name, workflow in workflows(baked).items():
        if name in fetching:
            assert {key: workflow["env"][key] for key in variables} == expected_env, name
    for name, job in data_jobs(baked):
        assert workflows(baked)[name]["jobs"][job]["permissions"]["id-token"] == "write", f"{name}:{job}"


@pytest.mark.parametrize("config", CLOUD, ids=config_id)
def test_cloud_check_names_the_variables_to_add(config: dict, bakes: dict[str, Baked]) -> None:
    """In Actions, `make cloud-check` without the remote's variables fails in one ::error:: line naming each; with
    them it passes."""
    baked = bakes[config_id(config)]
    variables = SIGN_IN[config["dvc_remote"]][1]
    env = {key: value for key, value in baked.env.items() if key not in variables}
    missing = subprocess.run(["make", "cloud-check"], cwd=baked.path, env={**env, "GITHUB_ACTIONS": "true"},
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode != 0
    errors = [line for line in missing.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1 and f"not set: {' '.join(variables)}." in errors[0], missing.stdout
    given = {**env, **dict.fromkeys(variables, "set"), "GITHUB_ACTIONS": "true"}
    assert subprocess.run(["make", "cloud-check"], cwd=baked.path, env=given, capture_output=True).returncode == 0


def test_dependabot_updates_uv_and_actions_weekly_grouped(baked: Baked) -> None:
    """Dependabot: uv.lock and every pinned action (workflows and the setup action), weekly, one group each;
    GitHub's schema accepts the file (zizmor audits it with the workflows in test_workflows)."""
    path = baked.path / ".github" / "dependabot.yml"
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path)],
                            capture_output=True, text=True)  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    updates = {update["package-ecosystem"]: update for update in yaml.safe_load(path.read_text())["updates"]}
    assert set(updates) == {"uv", "github-actions"}
    assert updates["github-actions"]["directories"] == ["/", "/.github/actions/setup"]
    for update in updates.values():
        assert update["schedule"]["interval"] == "weekly"
        assert [group["patterns"] for group in update["groups"].values()] == [["*"]]
    jobs = workflows(baked)["pull-request.yml"]["jobs"]
    assert [step.get("run") for step in jobs["audit"]["steps"]][-1] == "make audit"


# --- One s3 bake, set up once: the remote through the S3 protocol, the audit, the act run -----------------------


@pytest.mark.slow
@pytest.mark.heavy(minutes=2)
def test_s3_bake_remote_audit_and_an_unreachable_remote_under_act(
    bakes: dict[str, Baked], s3_server: S3Server, tmp_path: Path
) -> None:
    """One s3 bake, set up once (one test, so that no second worker installs it again): its DVC remote pushed and
    pulled through the S3 protocol, `make audit`'s three outcomes, and act's integration run with a remote it cannot
    reach (each check's docstring says what it proves)."""
    project = bakes[config_id(S3)]
    if shutil.which(f"python{S3['python_version']}") is None:
        pytest.skip(f"python{S3['python_version']} is not installed on this machine")
    project.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    (tmp_path / "s3").mkdir()
    (tmp_path / "act").mkdir()
    check_push_then_pull_from_a_fresh_clone(project, s3_server, tmp_path / "s3")
    check_audit_tells_an_unreachable_service_from_a_vulnerability(project)
    check_act_integration_with_an_unreachable_remote_stops_in_one_line(project, tmp_path / "act")


def md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def point_at(project: Path, dvc: str, server: S3Server, url: str, key_id: str, secret: str, env: dict) -> None:
    """The remote of this working copy at the S3 server, with its keys, through .dvc/config.local only."""
    for key, value in (("url", url), ("endpointurl", server.endpoint), ("access_key_id", key_id),
                       ("secret_access_key", secret)):  # fmt: skip
        subprocess.run([dvc, "remote", "modify", "--local", "storage", key, value], cwd=project, env=env, check=True)


def check_push_then_pull_from_a_fresh_clone(s3_project: Baked, s3_server: S3Server, tmp_path: Path) -> None:
    """dvc_remote=s3: `dvc push` to an S3-protocol server, `dvc pull data/raw.dvc` in a fresh clone restores the
    sample byte for byte; the keys live in .dvc/config.local only: no tracked file, commit or config holds them."""
    bucket = s3_server.create_bucket(f"g15-{uuid.uuid4().hex[:12]}")
    key_id, secret = f"AKIA{uuid.uuid4().hex[:16].upper()}", f"s3cr3t-{uuid.uuid4().hex}"
    dvc = str(s3_project.path / ".venv" / "bin" / "dvc")
    env = {k: v for k, v in s3_project.env.items() if not k.startswith("AWS_")}
    url = f"{bucket}/{s3_project.path.name}"
    local_config = s3_project.path / ".dvc" / "config.local"
    try:
        point_at(s3_project.path, dvc, s3_server, url, key_id, secret, env)
        pushed = subprocess.run([dvc, "push"], cwd=s3_project.path, env=env, capture_output=True, text=True)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", str(s3_project.path), str(clone)], check=True, env=env)
        assert not (clone / "data" / "raw").exists()
        point_at(clone, dvc, s3_server, url, key_id, secret, env)
        pulled = subprocess.run([dvc, "pull", "data/raw.dvc"], cwd=clone, env=env, capture_output=True, text=True)
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert md5s(clone / "data" / "raw") == md5s(s3_project.path / "data" / "raw")
        for project in (s3_project.path, clone):
            ignored = subprocess.run(["git", "check-ignore", "-q", ".dvc/config.local"], cwd=project)
            assert ignored.returncode == 0, f"{project}: .dvc/config.local is not ignored by git"
            tracked = subprocess.run(["git", "ls-files", "-z"], cwd=project, capture_output=True, check=True).stdout
            for name in filter(None, tracked.decode().split("\0")):
                content = (project / name).read_bytes() if (project / name).is_file() else b""
                assert key_id.encode() not in content and secret.encode() not in content, f"{name} holds a key"
            history = subprocess.run(["git", "log", "--all", "-p", "--format=%H %s%n%b"], cwd=project,
                                     capture_output=True, check=True).stdout  # fmt: skip
            assert key_id.encode() not in history and secret.encode() not in history
        assert secret in local_config.read_text()  # the keys did go somewhere: the ignored local config
    finally:
        local_config.unlink(missing_ok=True)


class StandInOSV(BaseHTTPRequestHandler):
    """The OSV API's two endpoints uv audit calls; `vulnerable` names the one package with an advisory."""

    vulnerable = ""

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # /v1/querybatch
        queries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
        hit = {"vulns": [{"id": "GHSA-0000-test-0000", "modified": "2026-01-01T00:00:00Z"}]}
        self._answer({"results": [hit if q["package"]["name"] == self.vulnerable else {} for q in queries]})

    def do_GET(self) -> None:  # /v1/vulns/<id>
        affected = [{"package": {"name": self.vulnerable, "ecosystem": "PyPI"},
                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999"}]}]}]  # fmt: skip
        self._answer({"id": "GHSA-0000-test-0000", "summary": "a planted advisory", "modified": "2026-01-01T00:00:00Z",
                      "affected": affected})  # fmt: skip

    def log_message(self, *args: object) -> None:
        pass


def check_audit_tells_an_unreachable_service_from_a_vulnerability(s3_project: Baked) -> None:
    """`make audit` on the locked packages: clean passes; a planted advisory fails naming the package; a service
    that does not answer fails with one ::error:: line (in Actions) saying no package was checked, a warning under
    act."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInOSV)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**s3_project.env, "UV_HTTP_RETRIES": "0", "GITHUB_ACTIONS": "true"}  # no retries: the test stays fast

    def audit(service: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "audit", f"AUDIT_ARGS=--service-url {service}"], cwd=s3_project.path,
                              env={**env, **extra}, capture_output=True, text=True, timeout=120)  # fmt: skip

    try:
        service = f"http://127.0.0.1:{server.server_address[1]}"
        StandInOSV.vulnerable = "none-such-package"
        clean = audit(service)
        assert clean.returncode == 0 and "Found no known vulnerabilities" in clean.stdout, clean.stdout + clean.stderr
        StandInOSV.vulnerable = "pyyaml"
        found = audit(service)
        assert found.returncode != 0 and "pyyaml" in found.stdout and "GHSA-0000-test-0000" in found.stdout
        assert "::error::known vulnerabilities in the locked packages" in found.stdout
        assert "did not answer" not in found.stdout
    finally:
        server.shutdown()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = audit(closed)
    errors = [line for line in unreachable.stdout.splitlines() if line.startswith("::error::")]
    assert unreachable.returncode != 0 and len(errors) == 1, unreachable.stdout
    assert errors[0].startswith("::error::the vulnerability service (OSV) did not answer, so no package was checked")
    assert "known vulnerabilities" not in unreachable.stdout
    local = audit(closed, ACT="true")  # under act a machine without the service still runs the other checks green
    assert local.returncode == 0, local.stdout
    assert "::warning::under act, not failing the local run: the vulnerability service" in local.stdout


def check_act_integration_with_an_unreachable_remote_stops_in_one_line(s3_project: Baked, tmp_path: Path) -> None:
    """Under act, the integration workflow with a DVC remote this machine cannot reach (a local folder that is not
    here, as a runner sees the default remote) stops at the data step with one ::error:: line naming the folder and
    the dvc_remote answers, before any test or pipeline step."""
    gone = tmp_path / "not-here" / "dvc-remote"
    dvc = str(s3_project.path / ".venv" / "bin" / "dvc")
    try:  # act copies the work tree without git-ignored files (.dvc/config.local): the change goes in .dvc/config
        s3_project.run(dvc, "remote", "modify", "storage", "url", str(gone))
        run = s3_project.run("make", "act-integration", timeout=600, check=False)
    finally:
        s3_project.run("git", "checkout", "--", ".dvc/config")
    assert run.returncode != 0
    errors = [line.split("::error::", 1)[1] for line in run.stdout.splitlines() if "::error::" in line]
    assert len(errors) == 1, run.stdout[-4000:]
    assert errors[0].startswith(f"dvc pull data/raw.dvc: the DVC remote 'storage' is the folder {gone}, which this")
    assert "bake with dvc_remote=s3, gcs or azure" in errors[0]
    assert "Failure - Main Fetch the environment's raw data" in run.stdout
    assert "Integration tests" not in run.stdout  # nothing ran after the data step
