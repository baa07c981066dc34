"""Copy formatted Python files from a default bake back into the template (maintainer tool).

Usage: python scripts/sync_back.py <baked-project-dir>
After `make format` in a project baked with the defaults, this writes its .py files back with the
default names turned into their cookiecutter variables again; new files under src/ and tests/ are added.
"""

from __future__ import annotations

import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}"
NAMES = [
    ("flight_delays", "{{ cookiecutter.__package_name }}"),
    ("flight-delays", "{{ cookiecutter.project_slug }}"),
    ("Flight Delays", "{{ cookiecutter.project_name }}"),
]


def main(baked: Path) -> int:
    for path in sorted(baked.rglob("*.py")):
        rel = path.relative_to(baked)
        if rel.parts[0] in {".venv", ".tools", ".git", ".dvc"}:
            continue
        target = TEMPLATE / str(rel).replace("flight_delays", "{{cookiecutter.__package_name}}")
        if not target.exists() and not (rel.parts[0] in {"src", "tests"} and target.parent.is_dir()):
            print(f"skipped (not in the template): {rel}")
            continue
        text = path.read_text()
        for baked_name, variable in NAMES:
            text = text.replace(baked_name, variable)
        if not target.exists() or text != target.read_text():
            target.write_text(text)
            print(f"updated {target.relative_to(TEMPLATE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
