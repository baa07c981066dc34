"""The baked project a benchmark measures: its root (BENCH_PROJECT, default bench/.work/flight-delays) and package.

The benchmarks run with that project's own interpreter (`make bench-project` takes care of it), so its package and
its dependencies import as they would in the project.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
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


def contender_arguments(description: str | None, contenders: list[str]) -> argparse.Namespace:
    """The command line of a benchmark that runs each contender in a child process (``--child NAME SOURCE``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--child", nargs=2, metavar=("NAME", "SOURCE"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows at 1x (default 1,000,000)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10], help="input sizes, times --rows")
    parser.add_argument("--contenders", nargs="+", choices=contenders, default=contenders)
    return parser.parse_args()


def measure(script: str, name: str, source: Path) -> dict:
    """Run contender ``name`` of ``script`` on ``source`` in a fresh process; the JSON of its last line."""
    out = subprocess.run(
        [sys.executable, script, "--child", name, str(source)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
