"""DVC from the steps: fetch a tracked folder, track a new snapshot of one, share it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from {{ cookiecutter.__package_name }}.io.data import DataError


def _dvc(root: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args, "-q"], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DataError(f"dvc {' '.join(args)} failed: {detail[-1] if detail else f'exit status {result.returncode}'}")


def pull(root: Path, pointer: Path) -> None:
    """``dvc pull <pointer>``: the folder it tracks, from the DVC remote."""
    _dvc(root, "pull", str(pointer))


def add(root: Path, folder: Path) -> str:
    """``dvc add <folder>``: a new snapshot in the cache; returns its md5 (written to ``<folder>.dvc``)."""
    _dvc(root, "add", str(folder))
    return md5(root / f"{folder}.dvc")


def push(root: Path, pointers: list[Path]) -> None:
    """``dvc push``: the snapshots the pointers name, to the DVC remote."""
    _dvc(root, "push", *map(str, pointers))


def md5(pointer: Path) -> str:
    return yaml.safe_load(pointer.read_text())["outs"][0]["md5"]
