"""Developer experience of a bake: offline pre-commit hooks, executed notebooks, template updates with cruft."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import TEMPLATE, Baked, bake, tool_env, uv_bin

pytestmark = pytest.mark.slow

PLANTED = {
    "ruff-check": ("src/planted.py", "import os\n\n\ndef f():\n    return undefined_name\n"),
    "nbstripout": ("notebooks/planted.ipynb", json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "source": ["1 + 1"],
                   "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                "data": {"text/plain": ["2"]}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"),
    "check-github-workflows": (".github/workflows/planted.yml", "name: broken\non: push\njobs:\n  build:\n    steps: 3\n"),
    "detect-secrets": ("src/planted_config.py", 'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Baked:
    """A default bake with its environment installed."""
    root = tmp_path_factory.mktemp("devx")
    home = root / "home"
    home.mkdir()
    env = tool_env(home)
    assert bake({}, root, env).returncode == 0
    baked = Baked({}, root / "flight-delays", None, env)
    baked.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    return baked


def test_pre_commit_passes_on_a_fresh_bake(project: Baked) -> None:
    """Every hook installs from the package index and passes on the untouched bake (no git host needed)."""
    config = (project.path / ".pre-commit-config.yaml").read_text()
    assert "repo: local" in config and "github.com" not in config
    result = project.run(".venv/bin/pre-commit", "run", "--all-files")
    assert "Failed" not in result.stdout


@pytest.mark.parametrize("hook", list(PLANTED))
def test_pre_commit_catches_a_planted_violation(project: Baked, hook: str) -> None:
    """A lint error, a notebook with outputs, a malformed workflow and a fake secret each fail their hook."""
    path, content = PLANTED[hook]
    target = project.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    project.run("git", "add", "--intent-to-add", path)
    try:
        result = project.run(".venv/bin/pre-commit", "run", hook, "--files", path, check=False)
        assert result.returncode != 0, result.stdout
        assert "Failed" in result.stdout
    finally:
        project.run("git", "rm", "-q", "--cached", "-f", path)
        target.unlink()
        if path.startswith(".github"):
            shutil.rmtree(project.path / ".github")


def test_notebooks_execute_to_html_and_a_failing_cell_fails(project: Baked) -> None:
    """`make notebooks` exports the executed EDA to reports/; a notebook whose cell raises fails the run."""
    project.run("make", "notebooks", timeout=900)
    html = (project.path / "reports" / "01-eda.html").read_text()
    assert html.count("data:image/png") >= 3 and "Traceback" not in html
    broken = project.path / "notebooks" / "99-broken.ipynb"
    broken.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "x", "metadata": {}, "outputs": [],
                   "source": ["raise RuntimeError('planted failure')"]}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))  # fmt: skip
    try:
        result = project.run("make", "notebooks", check=False, timeout=900)
        assert result.returncode != 0
        assert "planted failure" in result.stdout + result.stderr
    finally:
        broken.unlink()


def test_template_update_with_cruft(tmp_path: Path) -> None:
    """Bake from template commit A, change the template in commit B: check says out of date, update applies, gates pass."""
    template = tmp_path / "template"
    ignore = shutil.ignore_patterns(".venv", ".git", "demo", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(TEMPLATE, template, ignore=ignore)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=template, check=True)
    subprocess.run([*git, "add", "-A"], cwd=template, check=True)
    subprocess.run([*git, "commit", "-qm", "A"], cwd=template, check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = tool_env(home)
    out = tmp_path / "out"
    out.mkdir()
    assert bake({}, out, env, template=template).returncode == 0
    project = Baked({}, out / "flight-delays", None, env)
    state = json.loads((project.path / ".cruft.json").read_text())
    assert state["template"] == str(template) and len(state["commit"]) == 40
    assert ".git" in state["skip"] and "data" in state["skip"]
    project.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    assert project.run("make", "template-check").returncode == 0

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\n## Added in template commit B\n\nA new section.\n")
    subprocess.run([*git, "commit", "-qam", "B"], cwd=template, check=True)
    assert project.run("make", "template-check", check=False).returncode != 0

    project.run("make", "template-update", timeout=600)
    assert "## Added in template commit B" in (project.path / "README.md").read_text()
    new_commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=template, capture_output=True, text=True).stdout.strip()
    assert json.loads((project.path / ".cruft.json").read_text())["commit"] == new_commit
    assert not list(project.path.rglob("*.rej"))
    project.run("make", "lint", "test-unit", timeout=900)
