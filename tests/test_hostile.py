"""Hostile answers are refused with ``ERROR: <field> <value>: <problem>. <fix>.``, exit 1, and nothing written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from strategies import DEFAULTS, answers

from conftest import MATRIX, TEMPLATE, Baked, bake, config_id, tool_env, uv_bin

ERROR_LINE = re.compile(r'^ERROR: (?P<field>\w+) (?P<value>".*"): (?P<problem>.+?)\. (?P<fix>[A-Z].+)\.$')

HOSTILE = [
    ("project_slug", "../evil"),
    ("project_slug", "/tmp/x"),
    ("project_slug", "my slug"),
    ("project_slug", "json"),
    ("project_slug", "class"),
    ("project_slug", "mlflow"),
    ("project_slug", '{{ cookiecutter.project_name }}'),
    ("project_name", "{{ 7*7 }}"),
    ("project_name", "{% if true %}x{% endif %}"),
    ("project_name", 'Flight "Delays"'),
    ("project_name", "Flight 'Delays'"),
    ("project_name", "Flight\nDelays"),
    ("project_name", "Flight\\Delays"),
    ("project_name", "../../etc"),
    ("description", "line one\nline two"),
    ("author_name", 'Bobby "Tables"'),
    ("author_email", "not-an-email"),
    ("author_email", "a@b.c\nX-Injected: 1"),
    ("default_branch", "main..evil"),
    ("dev_branch", "dev branch"),
    ("dev_branch", "-dev"),
    ("release_branch_prefix", "release/../"),
    ("mlflow_tracking_uri", "javascript:alert(1)"),
    ("mlflow_tracking_uri", "https://alice:s3cret@mlflow.example.com"),
    ("mlflow_tracking_uri", "https://ghp_0123456789abcdef@mlflow.example.com"),
    ("mlflow_tracking_uri", "postgresql://mlflow:s3cret@db.example.com/mlflow"),
    ("mlflow_tracking_uri", "postgresql://db.example.com/mlflow?password=s3cret"),
    ("mlflow_tracking_uri", "https://mlflow.example.com/?token=s3cret"),
    ("mlflow_tracking_uri", "file:///etc"),
    ("mlflow_tracking_uri", "sqlite:////tmp/elsewhere.db"),
    ("mlflow_tracking_uri", "sqlite:///../outside.db"),
    ("project_slug", "tests"),
    ("project_slug", "test"),
]


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize(("field", "value"), HOSTILE, ids=[f"{f}={v!r}" for f, v in HOSTILE])
def test_hostile_answer_is_refused_and_nothing_is_written(tmp_path: Path, field: str, value: str) -> None:
    """Each hostile answer exits 1 with one well-formed ERROR line naming the field; no folder appears anywhere."""
    home, sandbox = tmp_path / "home", tmp_path / "a" / "b" / "out"
    home.mkdir()
    sandbox.mkdir(parents=True)
    before = snapshot(tmp_path)
    absolute_target = Path("/tmp/x")
    existed = absolute_target.exists()
    result = bake({field: value}, sandbox, tool_env(home))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert lines, result.stderr
    assert any(line.startswith(f"ERROR: {field} ") for line in lines), lines
    for line in lines:
        assert ERROR_LINE.match(line), line
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before
    assert absolute_target.exists() == existed
    assert "s3cret" not in result.stdout + result.stderr, "a credential was echoed back"


def test_template_syntax_in_an_answer_is_not_evaluated(tmp_path: Path) -> None:
    """`{{ 7*7 }}` reaches the checks as typed: it is refused as template syntax, not rendered to 49."""
    home = tmp_path / "home"
    home.mkdir()
    result = bake({"project_name": "{{ 7*7 }}"}, tmp_path, tool_env(home))
    assert 'ERROR: project_name "{{ 7*7 }}": contains Jinja template syntax' in result.stderr
    assert "49" not in result.stderr


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    """Several bad answers give one ERROR line each in a single run."""
    home = tmp_path / "home"
    home.mkdir()
    result = bake({"author_email": "nope", "dev_branch": "main", "author_name": "A\nB"}, tmp_path, tool_env(home))
    fields = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert sorted(fields) == ["author_email", "author_name", "dev_branch"]


@pytest.mark.parametrize(("field", "value"), [("python_version", "2.7"), ("task", "clustering"), ("dvc_remote", "ftp")])
def test_value_outside_a_choice_list_is_refused(tmp_path: Path, field: str, value: str) -> None:
    """cookiecutter itself refuses a value outside a choice list, before the checks run: exit 1, nothing written."""
    home, sandbox = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    sandbox.mkdir()
    result = bake({field: value}, sandbox, tool_env(home))
    assert result.returncode == 1
    assert f"{value} provided for choice variable {field}" in result.stderr
    assert list(sandbox.iterdir()) == []


@pytest.fixture(scope="session")
def project_python(bakes: dict[str, Baked]) -> Path:
    """An interpreter with the generated project's locked dependencies (the default bake's environment)."""
    baked = bakes[config_id(MATRIX[0])]
    baked.run("make", "setup", f"UV={uv_bin()}", timeout=900)
    return baked.path / ".venv" / "bin" / "python"


@pytest.mark.slow
def test_random_answers_bake_a_working_project_or_are_refused(tmp_path_factory, project_python: Path) -> None:
    """Random, mostly hostile answers, baked for real: either exit 1 with exactly validate()'s ERROR lines, no
    traceback and no folder written, or a project whose own unit tests pass."""
    pre = _pre_hook()

    @settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(answers=answers())
    @example(answers={**DEFAULTS, "project_name": "Zoë 测试 Ünïcode ✈", "project_slug": "zoe-ce-shi",
                      "mlflow_tracking_uri": "postgresql+psycopg2://db.example.com:5432/mlflow"})  # fmt: skip
    def check(answers: dict) -> None:
        root = tmp_path_factory.mktemp("random")
        (root / "home").mkdir()
        (root / "out").mkdir()
        result = bake(answers, root / "out", tool_env(root / "home"))
        expected = pre.validate(answers)
        if expected:
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
            lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
            assert all(ERROR_LINE.match(line) for line in lines), lines
            # the same fields, in the same order (cookiecutter's Jinja turns a carriage return into a newline)
            assert [line.split(" ", 2)[1] for line in lines] == [line.split(" ", 2)[1] for line in expected]
            assert list((root / "out").iterdir()) == []
            return
        assert result.returncode == 0, result.stdout + result.stderr
        (project,) = (root / "out").iterdir()
        unit = subprocess.run(
            [str(project_python), "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"], cwd=project,
            capture_output=True, text=True, timeout=900, env={**tool_env(root / "home"), "PYTHONPATH": "src"},
        )  # fmt: skip
        assert unit.returncode == 0, unit.stdout[-3000:]
        accepted.append(answers)

    accepted: list[dict] = []
    check()
    assert accepted, "no example was accepted: the bake path went untested"


def _pre_hook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("pre_gen_project_checks", TEMPLATE / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
