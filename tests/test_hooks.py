"""The hooks' functions, called directly after rendering each hook with cookiecutter's own Jinja environment."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context

from conftest import TEMPLATE
from strategies import DEFAULTS



def render_hook(name: str, tmp_path: Path) -> ModuleType:
    """Render hooks/<name>.py as cookiecutter would and import the result as a module."""
    context = generate_context(str(TEMPLATE / "cookiecutter.json"))
    context["cookiecutter"].update(DEFAULTS, __package_name="flight_delays")
    env = StrictEnvironment(context=context, keep_trailing_newline=True)
    source = env.from_string((TEMPLATE / "hooks" / f"{name}.py").read_text()).render(**context)
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pre(tmp_path: Path) -> ModuleType:
    return render_hook("pre_gen_project", tmp_path)


@pytest.fixture
def post(tmp_path: Path) -> ModuleType:
    return render_hook("post_gen_project", tmp_path)


def test_rendered_pre_hook_accepts_the_defaults(pre: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """The rendered hook reads its answers through tojson and finds nothing wrong with the defaults."""
    assert pre.validate(DEFAULTS) == []
    assert pre.main() == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("slug", "reason"),
    [("json", "standard library"), ("class", "keyword"), ("pandas", "dependency"), ("9lives", "not a valid"),
     ("a" * 41, "more than 40"), ("../x", "is a path")],
)
def test_slug_rules(pre: ModuleType, slug: str, reason: str) -> None:
    """A slug whose package name is a keyword, a stdlib or dependency module, or not an identifier is refused."""
    (line,) = pre.check_project_slug(slug)
    assert line.startswith(f'ERROR: project_slug "{slug}": ') and reason in line


@pytest.mark.parametrize(
    "name", ["", "a..b", "a b", "-a", "a/", "a.lock", "a//b", "a@{b", "a/.b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b"]
)
def test_branch_names_follow_git_rules(pre: ModuleType, name: str) -> None:
    """Names git check-ref-format would refuse are refused without needing git."""
    assert pre.branch_problem(name) is not None
    result = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    assert result.returncode != 0


@pytest.mark.parametrize("name", ["main", "dev", "feature/x-1", "release/1.0", "trunk"])
def test_good_branch_names_pass(pre: ModuleType, name: str) -> None:
    assert pre.branch_problem(name) is None


def test_branch_combinations(pre: ModuleType) -> None:
    """Same names for both branches, or a branch inside the release namespace, are incompatible."""
    same = pre.check_branches({"default_branch": "main", "dev_branch": "main", "release_branch_prefix": "release/"})
    assert any("same as default_branch" in line for line in same)
    inside = pre.check_branches({"default_branch": "main", "dev_branch": "release/dev", "release_branch_prefix": "release/"})
    assert any("collides with release_branch_prefix" in line for line in inside)


def test_local_tracking_store_with_cloud_remote_is_incompatible(pre: ModuleType) -> None:
    (line,) = pre.check_tracking_uri("sqlite:///x.db", "s3")
    assert line.startswith('ERROR: mlflow_tracking_uri "sqlite:///x.db": is a local store')
    assert pre.check_tracking_uri("https://mlflow.example.com", "s3") == []


def test_prune_removes_exactly_the_table_entries(post: ModuleType, tmp_path: Path) -> None:
    """include_notebooks=no removes notebooks/; Proprietary removes LICENSE; nothing else is touched."""
    root = tmp_path / "p"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "a.ipynb").write_text("{}")
    (root / "LICENSE").write_text("x")
    (root / "README.md").write_text("x")
    removed = post.prune({**DEFAULTS, "include_notebooks": "no", "license": "Proprietary"}, root)
    assert sorted(removed) == ["LICENSE", "notebooks"]
    assert sorted(p.name for p in root.iterdir()) == ["README.md"]
    assert post.prune(DEFAULTS, root) == []


def test_remote_urls(post: ModuleType, tmp_path: Path) -> None:
    """The local remote honours XDG_DATA_HOME; cloud remotes are placeholders named after the project."""
    assert post.remote_url(DEFAULTS, {"XDG_DATA_HOME": str(tmp_path)}) == str(tmp_path / "dvc-remotes" / "flight-delays")
    assert post.remote_url({**DEFAULTS, "dvc_remote": "gcs"}) == "gs://YOUR-BUCKET/flight-delays"


def test_identity_fallback_only_when_none_is_configured(post: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no git identity the repository gets the author's locally; an existing identity is left alone."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    assert post.ensure_identity(DEFAULTS, repo) is True
    assert post.git("config", "--local", "user.email", root=repo).stdout.strip() == "ann@example.com"
    assert post.ensure_identity(DEFAULTS, repo) is False


def test_missing_tools_print_the_finishing_commands(post: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Without git and DVC the bake still succeeds, creates no repository and prints the commands to finish."""
    monkeypatch.setattr(post.shutil, "which", lambda name: None)
    monkeypatch.setattr(post.importlib.util, "find_spec", lambda name: None)
    root = tmp_path / "p"
    (root / "data" / "raw").mkdir(parents=True)
    assert post.main(DEFAULTS, root) == 0
    out = capsys.readouterr().out
    assert "git and dvc not found" in out
    for command in ("git init -b main", "dvc add data/raw", "dvc push", "git checkout -b dev", "pip install 'dvc"):
        assert command in out
    assert not (root / ".git").exists() and not (root / ".dvc").exists()


def test_post_hook_is_idempotent(post: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Running the post-generation steps twice changes nothing the second time."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "p"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "flights.parquet").write_bytes(b"x" * 10)
    (root / "README.md").write_text("x")
    assert post.main(DEFAULTS, root) == 0
    head = post.git("rev-parse", "HEAD", root=root).stdout
    assert post.main(DEFAULTS, root) == 0
    assert post.git("rev-parse", "HEAD", root=root).stdout == head
    assert post.git("status", "--porcelain", root=root).stdout == ""


def test_matrix_filter_refuses_combinations_and_keeps_every_value() -> None:
    """_is_valid really filters (a SQLite store with a cloud remote), and the bakes still cover every option value."""
    from conftest import CYCLED, INTERACTING, MATRIX, REFUSED, _is_valid

    assert REFUSED and not any(_is_valid(config) for config in REFUSED)
    assert all(_is_valid(config) for config in MATRIX)
    for key, values in {**INTERACTING, **CYCLED}.items():
        assert {config[key] for config in MATRIX} == set(values), key


# --- property-based: random answers are either accepted (and safe) or refused with well-formed lines ------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from strategies import SECRET, answers  # noqa: E402

from test_hostile import ERROR_LINE  # noqa: E402


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers())
def test_random_answers_are_accepted_safely_or_refused_line_by_line(pre: ModuleType, answers: dict) -> None:
    """validate() never raises; each refusal is one well-formed `ERROR: <field> "<value>": <problem>. <fix>.` line
    per field; a credential is never echoed; an accepted answer set is safe to write into every file."""
    errors = pre.validate(answers)
    fields = [line.split(" ", 2)[1] for line in errors]
    assert len(fields) == len(set(fields)), errors
    for line in errors:
        assert ERROR_LINE.match(line), line
        assert SECRET not in line, line
    uri = answers["mlflow_tracking_uri"]
    if "mlflow_tracking_uri" not in fields and uri:
        assert SECRET not in uri and "@" not in uri.split("?")[0], uri
        assert uri.startswith(("http://", "https://", "postgresql", "sqlite:///")) and not uri.startswith("sqlite:////")
    if "project_slug" not in fields:
        name = pre.package_name(answers["project_slug"])
        assert name.isidentifier() and name.isascii() and name not in {"tests", "test"}
    if not errors:
        for field in ("project_name", "description", "author_name"):
            value = answers[field]
            assert '"' not in value and "\\" not in value and not any(ord(ch) < 32 for ch in value), value
            assert not any(marker in value for marker in ("{{", "{%", "{#")), value
