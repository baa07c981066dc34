"""DVC from the steps: fetch a tracked folder, track a new snapshot of one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
