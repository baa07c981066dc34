"""git from the steps: read a file from another branch, commit files onto one without touching the work tree."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from {{ cookiecutter.__package_name }}.io.data import DataError


def _git(root: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, check=False)
    if check and result.returncode != 0:
        raise DataError(f"git {' '.join(args)} failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return result


def has_origin(root: Path) -> bool:
    return _git(root, "remote", "get-url", "origin", check=False).returncode == 0


def fetch_branch(root: Path, branch: str) -> str | None:
    """The commit of ``origin/<branch>`` after fetching it (None when origin has no such branch, or no origin)."""
    if not has_origin(root):
        return _ref(root, f"refs/heads/{branch}")
    fetched = _git(
        root, "fetch", "--quiet", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}", check=False
    )
    return _ref(root, f"refs/remotes/origin/{branch}") if fetched.returncode == 0 else None


def _ref(root: Path, ref: str) -> str | None:
    found = _git(root, "rev-parse", "--verify", "--quiet", ref, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def show(root: Path, commit: str, path: str) -> bytes | None:
    """A file's content at ``commit`` (None when it has no such file)."""
    result = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, check=False)
    return result.stdout if result.returncode == 0 else None


def commit_files(root: Path, branch: str, paths: list[Path], message: str) -> str:
    """Commit ``paths`` (relative to ``root``) onto ``branch`` and share it: pushed to origin when there is one.

    The work tree and the checked-out branch are left alone: the commit is built from the branch's tree with the
    files replaced (git plumbing: a private index, write-tree, commit-tree).
    """
    parent = fetch_branch(root, branch)
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(root, "read-tree", *([parent] if parent else ["--empty"]), env=env)
        for path in paths:
            blob = _git(root, "hash-object", "-w", str(path)).stdout.strip()
            _git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path.as_posix()}", env=env)
        tree = _git(root, "write-tree", env=env).stdout.strip()
    if parent and _git(root, "rev-parse", parent + "^{tree}").stdout.strip() == tree:
        return parent  # nothing changed
    commit = _git(root, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message,
                  env=_identity(root)).stdout.strip()  # fmt: skip
    if has_origin(root):
        _git(root, "push", "--quiet", "origin", f"{commit}:refs/heads/{branch}")
        _git(root, "update-ref", f"refs/remotes/origin/{branch}", commit)
    else:
        _git(root, "update-ref", f"refs/heads/{branch}", commit)
    return commit


BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def _identity(root: Path) -> dict:
    """The environment for a commit: the configured identity, else GitHub Actions' bot (a CI runner has none)."""
    env = dict(os.environ)
    if not _git(root, "config", "user.email", check=False).stdout.strip():
        env.update(
            GIT_AUTHOR_NAME=BOT[0], GIT_AUTHOR_EMAIL=BOT[1], GIT_COMMITTER_NAME=BOT[0], GIT_COMMITTER_EMAIL=BOT[1]
        )
    return env
