"""The layer rules of src/: who may import whom, and only io/ talks to MLflow (docs/architecture.md, AGENTS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import {{ cookiecutter.__package_name }}

PACKAGE = Path({{ cookiecutter.__package_name }}.__file__).parent
NAME = PACKAGE.name
# Each layer and the layers it may import. pipeline, serving and monitoring are peers: none imports another;
# operate (the production cycle over time) stands above pipeline and monitoring.
ALLOWED = {
    "config": set(),
    "core": {"config", "core"},
    "io": {"config", "core", "io"},
    "pipeline": {"config", "core", "io", "pipeline"},
    "serving": {"config", "core", "io", "serving"},
    "monitoring": {"config", "core", "io", "monitoring"},
    "operate": {"config", "core", "io", "pipeline", "monitoring", "operate"},
    "cli": {"config", "core", "io", "pipeline", "serving", "monitoring", "operate", "cli"},
}
# Libraries only one layer may use.
OWNED = {"mlflow": "io"}


def layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return {"__init__": "cli", "__main__": "cli"}.get(parts[0], parts[0])


def imports(path: Path) -> set[str]:
    """Every module name a file imports (relative imports resolved against the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module if node.level == 0 else f"{NAME}.{node.module}")
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_the_layers_below_it(path: Path) -> None:
    """core uses no I/O layer; io uses core; the steps use io and core; pipeline, serving, monitoring stay apart."""
    own = layer(path)
    for name in imports(path):
        parts = name.split(".")
        if parts[0] == NAME and len(parts) > 1:
            target = parts[1]
            assert target in ALLOWED[own], f"{path.relative_to(PACKAGE)} ({own}) imports {name} ({target})"
        owner = OWNED.get(parts[0])
        assert owner is None or owner == own, f"{path.relative_to(PACKAGE)} imports {name}: only {owner}/ may"


def test_the_rules_cover_every_layer() -> None:
    """A new top-level module or folder must get a row in ALLOWED (and a line in docs/architecture.md)."""
    assert {layer(path) for path in MODULES} <= set(ALLOWED)
