"""Atomic writes and the prod-data guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io.files import ProdDataGuardError, write_atomic


def test_dev_cannot_write_prod_paths(project_copy: Path) -> None:
    """The dev environment writing under data/prod fails and names the guard; nothing is written."""
    settings = load_settings("dev", project_copy)
    with pytest.raises(ProdDataGuardError, match=r"prod-data guard \(guard\.prod_paths"):
        write_atomic(settings, Path("data/prod/features.parquet"), lambda tmp: tmp.write_text("x"))
    assert not (project_copy / "data" / "prod").exists()


def test_prod_may_write_prod_paths(project_copy: Path) -> None:
    """The prod environment writes its own paths."""
    settings = load_settings("prod", project_copy)
    path = write_atomic(settings, Path("data/prod/out.txt"), lambda tmp: tmp.write_text("ok"))
    assert path.read_text() == "ok"


def test_crash_mid_write_keeps_the_previous_file(project_copy: Path) -> None:
    """A writer that fails half-way leaves the previous output intact and no temporary file."""
    settings = load_settings("dev", project_copy)
    target = Path("data/dev/out.txt")
    write_atomic(settings, target, lambda tmp: tmp.write_text("previous"))

    def crash(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(settings, target, crash)
    folder = project_copy / "data" / "dev"
    assert (folder / "out.txt").read_text() == "previous"
    assert sorted(p.name for p in folder.iterdir()) == ["out.txt"]
