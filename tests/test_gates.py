"""The baked projects' own gates, run through their own make targets, and a real clone of a bake."""

from __future__ import annotations

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


@pytest.mark.xdist_group("gates")
def test_setup_lint_and_unit_tests_pass(baked: Baked) -> None:
    """`make setup && make lint && make test-unit` pass in every baked combination, from its lockfile."""
    needs_interpreter(baked)
    for target in ("setup", "lint", "test-unit"):
        baked.run("make", target, f"UV={uv_bin()}", timeout=900)
    assert baked.run("git", "status", "--porcelain").stdout == "", "the gates left the tree dirty"


LOCAL_REMOTE = [c for c in MATRIX if c["dvc_remote"] == "local"]  # cloud remotes are placeholders until configured


@pytest.mark.parametrize("config", LOCAL_REMOTE, ids=config_id)
def test_fresh_clone_from_a_bare_remote_pulls_its_data(config: dict, bakes: dict[str, Baked], tmp_path: Path) -> None:
    """Push a bake to a bare git remote, clone it elsewhere: `dvc pull` restores the sample byte for byte."""
    baked = bakes[config_id(config)]
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    baked.run("git", "push", "-q", str(bare), "--all")
    clone = tmp_path / "clone"
    dev = baked.config.get("dev_branch", "dev")
    subprocess.run(["git", "clone", "-q", "-b", dev, str(bare), str(clone)], check=True, env=baked.env)
    assert not (clone / "data" / "raw").exists()
    dvc = shutil.which("dvc", path=str(Path(uv_bin()).parent))
    subprocess.run([dvc, "pull", "-q"], cwd=clone, check=True, env=baked.env)
    for name in ("flights.parquet", "weather.parquet", "planes.parquet"):
        assert (clone / "data" / "raw" / name).read_bytes() == (baked.path / "data" / "raw" / name).read_bytes()
