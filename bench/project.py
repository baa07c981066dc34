"""The baked project a benchmark measures: its root (BENCH_PROJECT, default bench/.work/flight-delays) and package.

The benchmarks run with that project's own interpreter (`make bench-project` takes care of it), so its package and
its dependencies import as they would in the project.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("BENCH_PROJECT", HERE / ".work" / "flight-delays")).resolve()
WORK = HERE / ".work"


def package_name() -> str:
    """The project's import name, read from its pyproject.toml (hatch's wheel target: src/<package>)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return Path(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"][0]).name


def module(name: str) -> ModuleType:
    """``<package>.<name>`` of the measured project, e.g. ``module("config").load_settings``."""
    return importlib.import_module(f"{package_name()}.{name}")
