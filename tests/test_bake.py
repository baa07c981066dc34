"""Checks that fan out from each baked combination: files, syntax, git, DVC, answers."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE, Baked

TEXT_SUFFIXES = {".py", ".toml", ".yaml", ".yml", ".md", ".json", ".cfg", ".txt", ".ipynb", ".lock", ""}
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")  # workflows' own ${{ }} are not leftovers
SKIP_DIRS = {".git", ".venv", ".tools"}
SKIP_PREFIXES = {(".dvc", "cache"), (".dvc", "tmp"), ("data", "raw")}


def expected_files(config: dict) -> set[str]:
    """Every file git tracks in a fresh bake, by option. Update this list when the template gains a file."""
    pkg = config.get("project_slug", "flight-delays").replace("-", "_")
    files = {
        ".cruft.json", ".dvc/.gitignore", ".dvc/config", ".dvcignore", ".gitignore", ".pre-commit-config.yaml",
        ".python-version", "docs/architecture.md", "notebooks/01-eda.ipynb", "AGENTS.md", "CONTRIBUTING.md", "RELEASING.md",
        ".github/CODEOWNERS", ".github/zizmor.yml", ".github/actions/setup/action.yml",
        ".github/rulesets/release.json", ".github/workflows/integration.yml", ".github/workflows/pull-request.yml",
        ".github/workflows/release.yml", ".github/workflows/monitor.yml", "Dockerfile", ".dockerignore", "tests/integration/conftest.py",
        "tests/integration/test_serving.py", "tests/integration/test_monitoring.py", "tests/unit/test_drift.py",
        "LICENSE", "Makefile", "README.md", "configs/dev.yaml", "configs/prod.yaml",
        "configs/staging.yaml", "data/.gitignore", "data/raw.dvc", "dvc.yaml", "params.yaml",
        "pyproject.toml", "uv.lock", "notebooks/README.md",
        "tests/__init__.py", "tests/conftest.py", "tests/integration/__init__.py", "tests/integration/test_pipeline.py",
        "tests/unit/__init__.py", "tests/unit/test_cli.py", "tests/unit/test_config.py", "tests/unit/test_features.py",
        "tests/unit/test_files.py", "tests/unit/test_task_and_model.py", "tests/unit/test_predict_schema.py",
        "tests/unit/test_serving_units.py",
        "tests/unit/test_decisions.py", "tests/unit/test_layers.py", "tests/unit/test_dataset.py",
        "tests/integration/test_own_data.py", "tests/integration/test_serving_fuzz.py",
        "tests/integration/test_concurrency.py", "tests/integration/test_cycle.py", "tests/unit/test_cycle_decisions.py",
        "docs/operations.md", "tests/unit/test_onnx_export.py", "docs/governance.md", "tests/unit/test_governance.py",
        "docs/serving.md", "docs/deploy.md", "tests/integration/test_smoke.py", "deploy/k8s/deploy.sh",
        "docs/spark.md", "tests/unit/test_spark.py", "tests/integration/test_spark.py",
        "deploy/k8s/base/kustomization.yaml", "deploy/k8s/base/deployment.yaml", "deploy/k8s/base/service.yaml",
        *(f"deploy/k8s/overlays/{env}/kustomization.yaml" for env in ("dev", "staging", "prod")),
        ".github/workflows/rollback.yml",
        *(f"deploy/tracking/{name}" for name in ("README.md", "compose.yaml", "Dockerfile", "requirements.txt", "serve.sh",
                                                  "basic_auth.ini", "initdb.sql", "grants.py", "grants.toml")),
        ".github/dependabot.yml", "tests/unit/test_dvc_remote.py",
    }
    modules = [
        "__init__", "__main__", "cli", "config", "core/__init__", "core/dataset", "core/drift", "core/features",
        "core/gate", "core/metrics", "core/model", "core/onnx_export", "core/periods", "core/policy", "core/promotion",
        "core/task", "io/__init__", "io/ci", "io/data", "io/dvc", "io/files", "io/git", "io/lineage", "io/notify",
        "io/published", "io/spark",
        "io/tracking", "io/upstream", "pipeline/__init__", "pipeline/_common", "pipeline/ingest", "pipeline/score",
        "operate/__init__", "operate/alert", "operate/cycle", "operate/dispatch", "operate/issue", "operate/publish",
        "operate/replay", "operate/retention", "operate/timeline",
        "pipeline/data", "pipeline/evaluate", "pipeline/features", "pipeline/predict", "pipeline/promote",
        "pipeline/rollback", "pipeline/status", "pipeline/train", "pipeline/validate",
        "serving/__init__", "serving/app", "serving/models", "serving/payload", "serving/scoring", "serving/server",
        "serving/smoke",
        "monitoring/__init__", "monitoring/monitor", "monitoring/report",
        # online serving: the online feature table, raw-record features, metrics, the judged canary
        "pipeline/online", "io/online", "io/inference_log", "serving/flights", "serving/metrics", "core/canary",
        "operate/canary",
        "core/audit", "core/card", "core/explain", "core/fairness", "io/audit", "io/card", "pipeline/approval",
        "pipeline/card", "serving/explanations",
    ]
    files |= {f"src/{pkg}/{module}.py" for module in modules}
    files.add(f"src/{pkg}/serving/examples.json")
    files.add(f".github/rulesets/{config.get('default_branch', 'main')}.json")
    if config.get("license") == "Proprietary":
        files.discard("LICENSE")
    if config.get("include_notebooks") == "no":
        files = {f for f in files if not f.startswith("notebooks/")}
    return files


def project_files(root: Path) -> list[Path]:
    """The bake's own files: not git's, the DVC cache, the data or installed environments."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts) and rel.parts[:2] not in SKIP_PREFIXES:
            found.append(path)
    return found


def test_exact_set_of_files(baked: Baked) -> None:
    """git tracks exactly the expected files: nothing missing, nothing left over from pruned options."""
    tracked = set(baked.run("git", "ls-files").stdout.split())
    assert tracked == expected_files(baked.config)
    data = sorted(p.name for p in (baked.path / "data" / "raw").iterdir())
    assert data == ["flights.parquet", "planes.parquet", "weather.parquet"]


def test_no_template_syntax_left(baked: Baked) -> None:
    """No rendered file still contains Jinja markers."""
    leftovers = []
    for path in project_files(baked.path):
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8", errors="ignore"))
        if "{{" in text or "{%" in text:
            leftovers.append(str(path.relative_to(baked.path)))
    assert leftovers == []


def test_data_files_are_copied_byte_for_byte(baked: Baked) -> None:
    """The parquet files are data, copied without rendering (`_copy_without_render`): their compressed bytes may hold
    `{{` or `{%` by chance, which is not template syntax, and a bake must not change a byte of them."""
    source = TEMPLATE / "{{cookiecutter.project_slug}}" / "data" / "raw"
    for path in sorted(source.glob("*.parquet")):
        assert (baked.path / "data" / "raw" / path.name).read_bytes() == path.read_bytes(), path.name


def test_every_config_file_parses(baked: Baked) -> None:
    """Every TOML, YAML and JSON file in the bake is syntactically valid."""
    parsed = set()
    for path in project_files(baked.path):
        text = path.read_text(encoding="utf-8") if path.suffix in {".toml", ".lock", ".yaml", ".yml", ".json", ".dvc"} else None
        if text is None:
            continue
        if path.suffix in {".toml", ".lock"}:
            tomllib.loads(text)
        elif path.suffix in {".yaml", ".yml", ".dvc"}:
            yaml.safe_load(text)
        else:
            json.loads(text)
        parsed.add(str(path.relative_to(baked.path)))
    assert {"pyproject.toml", "uv.lock", "params.yaml", "configs/prod.yaml", "data/raw.dvc"} <= parsed


def test_git_branches_and_clean_tree(baked: Baked) -> None:
    """The bake is a repository with the integration and dev branches, dev checked out, nothing uncommitted."""
    main, dev = baked.config.get("default_branch", "main"), baked.config.get("dev_branch", "dev")
    branches = baked.run("git", "branch", "--format=%(refname:short)").stdout.split()
    assert sorted(branches) == sorted([main, dev])
    assert baked.run("git", "branch", "--show-current").stdout.strip() == dev
    assert baked.run("git", "status", "--porcelain").stdout == ""
    assert baked.run("git", "rev-list", "--count", main).stdout.strip() == "1"
    assert baked.run("git", "rev-parse", main).stdout == baked.run("git", "rev-parse", dev).stdout


def test_fallback_identity_when_git_has_none(baked: Baked) -> None:
    """With no identity configured (as in CI) the repository gets the author's, locally."""
    email = baked.run("git", "config", "--local", "user.email").stdout.strip()
    assert email == baked.config.get("author_email", "you@example.com")
    assert "has no identity configured" in baked.result.stdout


def test_dvc_tracks_the_data_and_is_clean(baked: Baked) -> None:
    """The sample is DVC-tracked (pointer in git, data git-ignored), analytics are off, status is clean."""
    pointer = yaml.safe_load((baked.path / "data" / "raw.dvc").read_text())
    assert pointer["outs"][0]["path"] == "raw" and pointer["outs"][0]["nfiles"] == 3
    assert baked.run("git", "check-ignore", "data/raw/flights.parquet").returncode == 0
    status = baked.run(sys_dvc(), "status", "data/raw.dvc").stdout
    assert "up to date" in status
    config = (baked.path / ".dvc" / "config").read_text()
    assert "analytics = false" in config
    assert not any(word in config for word in ("secret", "password", "access_key", "connection_string", "sas_token"))


def test_remote_matches_the_option(baked: Baked) -> None:
    """local: a folder outside the project that holds the pushed data; cloud: a URL placeholder, nothing pushed."""
    remote = baked.config["dvc_remote"]
    url = baked.run(sys_dvc(), "remote", "list").stdout.split()[1]
    if remote == "local":
        assert Path(url).is_absolute() and baked.path not in Path(url).parents
        assert "in sync" in baked.run(sys_dvc(), "status", "--cloud").stdout
    else:
        scheme = {"s3": "s3://", "gcs": "gs://", "azure": "azure://"}[remote]
        assert url.startswith(scheme)
        assert "dvc push" in baked.result.stdout


def test_answers_round_trip(baked: Baked) -> None:
    """Free-text answers land in pyproject.toml exactly as typed."""
    project = tomllib.loads((baked.path / "pyproject.toml").read_text())["project"]
    assert project["description"] == baked.config.get("description", project["description"])
    assert project["authors"][0]["name"] == baked.config.get("author_name", "Your Name")
    assert project["requires-python"] == f">={baked.config['python_version']}"
    license_text = (baked.path / "LICENSE").read_text() if (baked.path / "LICENSE").exists() else ""
    expected = {"MIT": "MIT License", "Apache-2.0": "Apache License", "BSD-3-Clause": "BSD 3-Clause", "Proprietary": ""}
    assert license_text.strip().startswith(expected[baked.config["license"]])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_environment_overlays_name_their_registry(baked: Baked, env: str) -> None:
    """Each environment overlay registers into its own model name."""
    overlay = yaml.safe_load((baked.path / "configs" / f"{env}.yaml").read_text())
    assert overlay["env"] == env
    assert overlay["tracking"]["registered_model"].endswith(f"_{env}")


def sys_dvc() -> str:
    import shutil
    import sys

    return shutil.which("dvc", path=str(Path(sys.executable).parent)) or "dvc"
