"""Bake-time benchmark: wall time of `cookiecutter --no-input` with the defaults (hooks included).

Excludes dependency installation (none happens during a bake). Run with `make bench`; paste the
table into README.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
RUNS = 5


def bake_once() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_DATA_HOME": str(Path(tmp) / "share")}
        args = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input", "--output-dir", tmp]
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        return time.perf_counter() - started


def main() -> int:
    times = [bake_once() for _ in range(RUNS)]
    print(f"| bake (defaults, {RUNS} runs) | median {statistics.median(times):.2f} s | "
          f"min {min(times):.2f} s | max {max(times):.2f} s |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
