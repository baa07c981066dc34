"""A DVC remote that cannot serve a pull is named in one line with the fix (io/dvc.remote_problem)."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.io.dvc import remote_problem


def dvc_project(root: Path, remote: dict[str, str] | None) -> Path:
    """A DVC project without git whose default remote ``storage`` has these settings (None: no remote)."""
    (root / ".dvc").mkdir(parents=True)
    config = "[core]\n    no_scm = true\n"
    if remote is not None:
        settings = "".join(f"    {key} = {value}\n" for key, value in remote.items())
        config += f"    remote = storage\n['remote \"storage\"']\n{settings}"
    (root / ".dvc" / "config").write_text(config)
    return root


def test_a_local_remote_this_machine_lacks_is_named_with_the_cloud_options(tmp_path: Path) -> None:
    """The folder of a local remote that is not here: the message names it and the dvc_remote answers."""
    missing = tmp_path / "elsewhere" / "dvc-remote"
    problem = remote_problem(dvc_project(tmp_path / "p", {"url": str(missing)}))
    assert problem is not None and str(missing) in problem
    assert "dvc_remote=s3, gcs or azure" in problem and "\n" not in problem


def test_a_local_remote_that_exists_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "remote").mkdir()
    assert remote_problem(dvc_project(tmp_path / "p", {"url": str(tmp_path / "remote")})) is None


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ({"url": "s3://YOUR-BUCKET/project"}, "url"),
        ({"url": "azure://team-data/project", "account_name": "YOUR-ACCOUNT"}, "account_name"),
    ],
)
def test_a_placeholder_left_from_the_bake_is_named(tmp_path: Path, remote: dict[str, str], key: str) -> None:
    """The bake's placeholder bucket or account: the message names the setting and the command that sets it."""
    problem = remote_problem(dvc_project(tmp_path / "p", remote))
    assert problem is not None and f"placeholder {key} = {remote[key]}" in problem
    assert f"dvc remote modify storage {key} <value>" in problem


def test_a_named_bucket_is_left_to_dvc(tmp_path: Path) -> None:
    """A real bucket's URL is not judged here: DVC's own error (and the sign-in hint) reports what failed."""
    assert remote_problem(dvc_project(tmp_path / "p", {"url": "s3://team-data/project"})) is None


def test_no_default_remote_says_how_to_add_one(tmp_path: Path) -> None:
    problem = remote_problem(dvc_project(tmp_path / "p", None))
    assert problem is not None and "dvc remote add --default storage <url>" in problem


def test_data_if_reachable_skips_with_one_notice_when_the_remote_cannot_serve(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`data --if-reachable` on a runner that lacks the local remote: one ::notice:: line naming the folder, exit 0,
    the step output pulled=false, nothing fetched."""
    missing = project_copy / "elsewhere" / "dvc-remote"
    dvc_project(project_copy, {"url": str(missing)})
    outputs = project_copy / "github-output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["data", "--env", "dev", "--root", str(project_copy), "--if-reachable"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::notice::no dev data here, so what needs it is skipped: "), lines
    assert str(missing) in lines[0]
    assert outputs.read_text() == "pulled=false\n"
    assert not (project_copy / "data").exists()
