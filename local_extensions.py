"""Jinja extension that makes cookiecutter refuse bad answers before it creates any folder.

cookiecutter renders every answer as a Jinja template and creates the project folder before
the pre-generation hook runs. This extension closes both gaps:

* an answer that is not one of the template's own defaults is kept literally instead of being
  evaluated, so ``{{ 7*7 }}`` reaches the checks as typed (and is refused there);
* ``checked_package_name`` (the last derived key of ``cookiecutter.json``) runs the checks of
  ``hooks/pre_gen_project.py`` on all answers and stops with exit status 1 on any error.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from jinja2.ext import Extension

HERE = Path(__file__).resolve().parent


def _load_checks():
    spec = importlib.util.spec_from_file_location("_template_pre_gen", HERE / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _rendering_an_answer() -> bool:
    """True when the source being compiled is a value from the context (cookiecutter's render_variable)."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "render_variable" and code.co_filename.endswith(("cookiecutter/prompt.py", "cookiecutter\\prompt.py")):
            return True
        frame = frame.f_back
    return False


def _literal(text: str) -> str:
    """A Jinja expression that renders exactly ``text`` (every character escaped)."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}" for c in text)
    return '{{ "' + escaped + '" }}'


def checked_package_name(answers) -> str:
    checks = _load_checks()
    errors = checks.validate(dict(answers))
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        raise SystemExit(1)
    return checks.package_name(answers["project_slug"])


class AnswerChecks(Extension):
    """Keep typed answers literal and check them all before generation starts."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["checked_package_name"] = checked_package_name
        self._template_values = _strings(json.loads((HERE / "cookiecutter.json").read_text(encoding="utf-8")))

    def preprocess(self, source, name, filename=None):
        if (
            name is None
            and source not in self._template_values
            and any(marker in source for marker in ("{{", "{%", "{#"))
            and _rendering_an_answer()
        ):
            return _literal(source)
        return source
