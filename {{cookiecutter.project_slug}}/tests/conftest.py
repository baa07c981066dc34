"""Shared fixtures: a copy of the project's configuration in a temporary root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A temporary project root holding params.yaml and configs/ (edit them freely)."""
    shutil.copy(PROJECT_ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(PROJECT_ROOT / "configs", tmp_path / "configs")
    return tmp_path
