"""The single entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.cli import COMMANDS, build_parser, main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works for the entry point and every command."""
    for argv in (["--help"], *([name, "--help"] for name in ["config", *COMMANDS])):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 0
    assert "--env" in capsys.readouterr().out


def test_config_prints_the_resolved_environment(capsys: pytest.CaptureFixture[str]) -> None:
    """`config --env staging` prints the merged staging settings as JSON."""
    assert main(["config", "--env", "staging", "--root", str(PROJECT_ROOT)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["env"] == "staging"
    assert printed["tracking"]["registered_model"].endswith("_staging")


def test_config_error_exits_2_with_a_message(project_copy, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken config ends with exit status 2 and a one-line reason, not a traceback."""
    (project_copy / "params.yaml").write_text("task: [unclosed\n")
    assert main(["config", "--root", str(project_copy)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
