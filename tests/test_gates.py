"""The baked projects' own gates, run through their own make targets, and a real clone of a bake."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import MATRIX, Baked, config_id, uv_bin

pytestmark = pytest.mark.slow


def needs_interpreter(baked: Baked) -> None:
    version = baked.config["python_version"]
    if shutil.which(f"python{version}") is None:
        pytest.skip(f"python{version} is not installed on this machine (uv may not download interpreters here)")


def test_setup_lint_and_unit_tests_pass(baked: Baked) -> None:
    """`make setup && make lint && make test-unit` pass in every baked combination, from its lockfile."""
    needs_interpreter(baked)
    for target in ("setup", "lint", "test-unit"):
        baked.run("make", target, f"UV={uv_bin()}", timeout=900)
    assert baked.run("git", "status", "--porcelain").stdout == "", "the gates left the tree dirty"


LOCAL_REMOTE = [c for c in MATRIX if c["dvc_remote"] == "local"]  # cloud remotes are placeholders until configured


@pytest.mark.parametrize("config", LOCAL_REMOTE, ids=config_id)
def test_fresh_clone_from_a_bare_remote_pulls_its_data(config: dict, bakes: dict[str, Baked], tmp_path: Path) -> None:
    """Push a bake to a bare git remote, clone it elsewhere: a bare `dvc pull` succeeds and restores the sample
    byte for byte."""
    baked = bakes[config_id(config)]
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    baked.run("git", "push", "-q", str(bare), "--all")
    clone = tmp_path / "clone"
    dev = baked.config.get("dev_branch", "dev")
    subprocess.run(["git", "clone", "-q", "-b", dev, str(bare), str(clone)], check=True, env=baked.env)
    assert not (clone / "data" / "raw").exists()
    dvc = shutil.which("dvc", path=str(Path(uv_bin()).parent))
    pulled = subprocess.run([dvc, "pull"], cwd=clone, env=baked.env, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    for name in ("flights.parquet", "weather.parquet", "planes.parquet"):
        assert (clone / "data" / "raw" / name).read_bytes() == (baked.path / "data" / "raw" / name).read_bytes()


DEFAULT = MATRIX[0]  # the defaults of cookiecutter.json: what `make demo` bakes


INTEGRATION = [DEFAULT, next(c for c in MATRIX if c["task"] == "regression")]
# Suites that do not depend on the bake's task run once, in the default bake: the own-data tests train both tasks
# themselves; the alias races, the request fuzzing and the smoke test do not depend on what the model predicts, nor
# does the server's routing, feature lookup and reloading (the canary judge's metric direction for an error metric
# has its unit test, which runs in every bake).
TASK_FREE = " ".join(f"--ignore=tests/integration/test_{name}.py"
                     for name in ("own_data", "concurrency", "serving", "serving_fuzz", "smoke"))  # fmt: skip


@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=pytest.mark.heavy(minutes=12 if c == DEFAULT else 7)) for c in INTEGRATION],
    ids=config_id,
)
def test_baked_integration_tests_pass(config: dict, bakes: dict[str, Baked], tmp_path: Path) -> None:
    """The baked project's own integration tests (whole pipeline, tiny sample, temporary store) pass, for each task,
    and never write to the store MLFLOW_TRACKING_URI names (as CI sets it for the team server)."""
    baked = bakes[config_id(config)]
    needs_interpreter(baked)
    baked.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    team = tmp_path / "team.db"
    result = subprocess.run(
        ["make", "test-integration"], cwd=baked.path, capture_output=True, text=True, timeout=1200,
        env={**baked.env, "MLFLOW_TRACKING_URI": f"sqlite:///{team}",
             "PYTEST_ADDOPTS": "" if config == DEFAULT else TASK_FREE},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    assert not team.exists(), "the integration tests wrote to the team registry"


@pytest.mark.heavy(minutes=3)
def test_pipeline_twice_keeps_the_champion(tmp_path: Path) -> None:
    """Fresh default bake: `make setup pipeline` prints the champion; a second run skips every DVC stage; editing any
    module the stages import marks them changed; a clone of the committed result pulls with a bare `dvc pull`."""
    from conftest import bake, tool_env

    home = tmp_path / "home"
    home.mkdir()
    env = tool_env(home)
    assert bake({}, tmp_path, env).returncode == 0
    project = Baked(DEFAULT, tmp_path / "flight-delays", None, env)
    first = project.run("make", "setup", "pipeline", f"UV={uv_bin()}", timeout=1200).stdout
    assert "PROMOTED" in first and "@champion           v1" in first
    query = (
        "import json, mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
        "v = mlflow.MlflowClient().get_model_version_by_alias('flight_delays_dev', 'champion'); print(json.dumps(v.tags))"
    )
    tags = json.loads(project.run(".venv/bin/python", "-c", query).stdout.strip().splitlines()[-1])
    head = project.run("git", "rev-parse", "HEAD").stdout.strip()
    assert tags["model_validation_status"] == "PASSED"
    assert tags["git_commit"] == head and tags["git_branch"] == "dev" and tags["git_dirty"] == "false"
    for tag in ("data_md5", "params_hash", "lockfile_hash", "environment"):
        assert tags[tag], tag
    second = project.run("make", "pipeline", f"UV={uv_bin()}", timeout=1200).stdout
    stages = ("features@dev", "train@dev", "evaluate@dev")
    for stage in stages:
        assert f"Stage '{stage}' didn't change, skipping" in second
    assert "@champion           v1" in second and "PROMOTED" not in second

    dvc = str(project.path / ".venv" / "bin" / "dvc")
    package = project.path / "src" / "flight_delays"
    assert json.loads(project.run(dvc, "status", "--json").stdout).keys().isdisjoint(stages)
    for module in ("config.py", "pipeline/_common.py", "io/data.py", "io/files.py", "io/tracking.py", "core/task.py"):
        path = package / module
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            changed = json.loads(project.run(dvc, "status", "--json").stdout)
        finally:
            path.write_text(original)
        assert set(stages) <= changed.keys(), f"editing {module} left {set(stages) - changed.keys()} unchanged"

    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "pipeline results", "--no-verify")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project.path), str(clone)], check=True, env=env)
    pulled = subprocess.run([dvc, "pull"], cwd=clone, env=env, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr


@pytest.mark.parametrize("slug", ["reports", "src"])
def test_a_package_named_like_a_project_folder_installs_and_passes(tmp_path: Path, slug: str) -> None:
    """A slug whose package shares its name with a folder of the project (src/, or reports/, which .gitignore names)
    installs from the lock, and its CLI and configuration tests pass (every command's --help imports every step);
    the one that cannot (tests) is refused at bake time. The whole unit suite runs in the matrix's bakes."""
    from conftest import bake, tool_env

    (tmp_path / "home").mkdir()
    env = tool_env(tmp_path / "home")
    assert bake({"project_slug": slug}, tmp_path, env).returncode == 0
    project = Baked({"project_slug": slug}, tmp_path / slug, None, env)
    project.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    tests = project.run(".venv/bin/pytest", "-q", "tests/unit/test_cli.py", "tests/unit/test_config.py", timeout=600)
    assert " passed" in tests.stdout and " failed" not in tests.stdout, tests.stdout[-2000:]
