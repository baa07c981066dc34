"""Regenerate the generated project's uv.lock for every supported Python version.

Run after changing dependencies in {{cookiecutter.project_slug}}/pyproject.toml:  make lock
`--changes` prints, per Python version, the packages whose locked version differs from the committed lock (git HEAD).
Each lock is resolved from a bake of the current template (hooks off) and stored as a
conditional file that renders to uv.lock only for its python_version.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
PLACEHOLDER = "lock-placeholder"


def lock_name(version: str) -> str:
    return f"{{% if cookiecutter.python_version == '{version}' %}}uv.lock{{% endif %}}"


def locked_versions(text: str) -> dict[str, str]:
    return {package["name"]: package.get("version", "") for package in tomllib.loads(text).get("package", [])}


def changes() -> int:
    """Each Python version's packages whose version moved from the committed lock, as Markdown lines."""
    for version in json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]:
        path = PROJECT / lock_name(version)
        committed = subprocess.run(["git", "show", f"HEAD:{path.relative_to(TEMPLATE).as_posix()}"], cwd=TEMPLATE,
                                   capture_output=True, text=True, check=True).stdout  # fmt: skip
        old, new = locked_versions(committed), locked_versions(path.read_text())
        moved = [f"- {name}: {old.get(name, '(new)')} -> {new.get(name, '(gone)')}"
                 for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]  # fmt: skip
        print(f"### Python {version}: {len(moved)} packages moved from the committed uv.lock", *moved, sep="\n")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--changes"]:
        return changes()
    versions = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
    uv = Path(sys.executable).with_name("uv")
    for version in versions:
        with tempfile.TemporaryDirectory() as out:
            baked = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=out, accept_hooks=False,
                                      extra_context={"project_name": PLACEHOLDER, "python_version": version}))
            (baked / "uv.lock").unlink(missing_ok=True)
            subprocess.run([str(uv), "lock", "--quiet"], cwd=baked, check=True)
            text = (baked / "uv.lock").read_text()
        if any(marker in text for marker in ("{{", "{%", "{#")):
            raise SystemExit(f"uv.lock for Python {version} contains Jinja syntax; it cannot be rendered as a template")
        text = text.replace(f'name = "{PLACEHOLDER}"', 'name = "{{ cookiecutter.project_slug | replace(\'_\', \'-\') }}"')
        (PROJECT / lock_name(version)).write_text(text)
        print(f"Python {version}: {len(text) / 1e3:.0f} kB lock written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
