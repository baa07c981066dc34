"""Atomic writes and the prod-data guard."""

from __future__ import annotations

import signal
import subprocess
import sys
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


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io.files import write_atomic

def half_then_killed(tmp: Path) -> None:
    tmp.write_text("half of the new")
    os.kill(os.getpid(), signal.SIGKILL)

write_atomic(load_settings("dev", sys.argv[1]), Path("data/dev/out.txt"), half_then_killed)
"""


def test_a_killed_writer_leaves_nothing_for_the_next_run(project_copy: Path) -> None:
    """kill -9 mid-write keeps the published file; the temporary it left is removed by the next write."""
    settings = load_settings("dev", project_copy)
    write_atomic(settings, Path("data/dev/out.txt"), lambda tmp: tmp.write_text("previous"))
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(project_copy)], check=False)
    assert killed.returncode == -signal.SIGKILL
    folder = project_copy / "data" / "dev"
    (left,) = [p.name for p in folder.iterdir() if p.name != "out.txt"]
    assert left.startswith(".out.txt.") and left.endswith(".tmp")
    assert (folder / "out.txt").read_text() == "previous"
    write_atomic(settings, Path("data/dev/other.txt"), lambda tmp: tmp.write_text("unrelated"))
    assert (folder / left).exists(), "only writes of the same file clean its temporaries"
    write_atomic(settings, Path("data/dev/out.txt"), lambda tmp: tmp.write_text("new"))
    assert sorted(p.name for p in folder.iterdir()) == ["other.txt", "out.txt"]
    assert (folder / "out.txt").read_text() == "new"


UMASK_WRITER = """
import os, sys
from pathlib import Path
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io.files import write_atomic

os.umask(int(sys.argv[2], 8))
path = write_atomic(load_settings("dev", sys.argv[1]), Path("data/dev/published.txt"), lambda tmp: tmp.write_text("x"))
print(oct(path.stat().st_mode & 0o777))
"""


@pytest.mark.parametrize(("mask", "mode"), [("022", "0o644"), ("002", "0o664"), ("077", "0o600")])
def test_published_files_keep_the_users_umask(project_copy: Path, mask: str, mode: str) -> None:
    """A published file has the permissions any new file of the user gets, not a temporary file's 0600."""
    result = subprocess.run(
        [sys.executable, "-c", UMASK_WRITER, str(project_copy), mask], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == mode
