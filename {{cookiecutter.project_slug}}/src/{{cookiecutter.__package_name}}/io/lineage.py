"""Lineage of a training run: code, data, parameters, lockfile and where it ran."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

import yaml

from {{ cookiecutter.__package_name }}.config import PARAMS_FILE, Settings


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def dvc_md5(root: Path, path: Path) -> str:
    """The md5 DVC records for ``path``: from its .dvc pointer or dvc.lock, else computed as DVC does for a file."""
    pointer = root / f"{path}.dvc"
    if pointer.is_file():
        return yaml.safe_load(pointer.read_text())["outs"][0]["md5"]
    lock = root / "dvc.lock"
    if lock.is_file():
        for stage in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).values():
            for out in stage.get("outs", []):
                if out.get("path") == str(path):
                    return out["md5"]
    full = root / path
    if full.is_file():
        return file_md5(full)
    if full.is_dir():
        files = sorted(p for p in full.rglob("*") if p.is_file())
        return (
            hashlib.md5("".join(file_md5(p) for p in files).encode(), usedforsecurity=False).hexdigest() + ".untracked"
        )
    return "missing"


def lineage_tags(settings: Settings, inputs: list[Path]) -> dict[str, str]:
    """Tags for the run and the registered version. ``git_dirty`` ignores dvc.lock, which DVC rewrites mid-run."""
    root = settings.root
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)dvc.lock")
    overlay = root / "configs" / f"{settings.env}.yaml"
    tags = {
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "git_branch": os.environ.get("GITHUB_REF_NAME") or _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": "unknown" if status == "unknown" else str(bool(status)).lower(),
        "data_md5": json.dumps({str(p): dvc_md5(root, p) for p in inputs}, sort_keys=True),
        "params_hash": sha256([root / PARAMS_FILE, overlay]),
        "lockfile_hash": sha256([root / "uv.lock"]),
        "environment": settings.env,
        "python_version": platform.python_version(),
    }
    if os.environ.get("RETRAINING_TRIGGER"):  # why production training ran (release.yml's dispatch input)
        tags["retraining_trigger"] = os.environ["RETRAINING_TRIGGER"]
    if os.environ.get("GITHUB_RUN_ID"):
        tags["ci_run_id"] = os.environ["GITHUB_RUN_ID"]
        tags["ci_run_url"] = (
            f"{os.environ.get('GITHUB_SERVER_URL', '')}/{os.environ.get('GITHUB_REPOSITORY', '')}"
            f"/actions/runs/{os.environ['GITHUB_RUN_ID']}"
        )
    return tags
