"""DVC from the steps: fetch a tracked folder, track a new snapshot of one, share it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from {{ cookiecutter.__package_name }}.io.data import DataError

# What the post-generation hook writes for a cloud remote until the project names its own bucket.
PLACEHOLDERS = ("YOUR-BUCKET", "YOUR-CONTAINER", "YOUR-ACCOUNT")
# The repository variables the setup action signs in with (README: Going to GitHub), per remote scheme.
SIGN_IN = {
    "s3": "AWS_ROLE_ARN and AWS_REGION",
    "gs": "GCP_WORKLOAD_IDENTITY_PROVIDER and GCP_SERVICE_ACCOUNT",
    "azure": "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_SUBSCRIPTION_ID",
}


def _dvc(root: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DataError(f"dvc {' '.join(args)} failed: {_reason(result)}")


def _reason(result: subprocess.CompletedProcess) -> str:
    """DVC's first ERROR line (its last line is a link), else its last line, else the exit status."""
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    return (errors or lines or [f"exit status {result.returncode}"])[0]


def default_remote(root: Path) -> tuple[str, dict] | None:
    """(name, settings) of the default DVC remote, .dvc/config.local included; None when there is none."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        name = repo.config["core"].get("remote")
        remote = repo.config["remote"].get(name) if name else None
    return (name, dict(remote)) if remote else None


def remote_problem(root: Path) -> str | None:
    """Why the default remote cannot serve a pull, in one line with the fix, or None when nothing is visibly wrong."""
    found = default_remote(root)
    if found is None:
        return "no default DVC remote: add one with `dvc remote add --default storage <url>` and commit .dvc/config"
    name, remote = found
    url = remote["url"]
    for key, value in remote.items():
        if any(placeholder in str(value) for placeholder in PLACEHOLDERS):
            return (f"the DVC remote '{name}' still has the placeholder {key} = {value}: set yours with "
                    f"`dvc remote modify {name} {key} <value>` and commit .dvc/config")  # fmt: skip
    if "://" not in url and not (root / url).is_dir():
        return (f"the DVC remote '{name}' is the folder {url}, which this machine does not have (a local remote lives "
                f"on the machine that baked the project; GitHub's runners cannot reach it): bake with dvc_remote=s3, "
                f"gcs or azure, or point it at a bucket with `dvc remote modify {name} url <url>` and commit "
                ".dvc/config")  # fmt: skip
    return None


def pull(root: Path, pointer: Path) -> None:
    """``dvc pull <pointer>``: the folder it tracks, from the DVC remote; a remote it cannot reach says what to set."""
    try:
        _dvc(root, "pull", str(pointer))
    except DataError as err:
        problem = remote_problem(root)
        if problem is not None:
            raise DataError(f"dvc pull {pointer}: {problem}") from None
        url = default_remote(root)[1]["url"]
        scheme = url.split("://")[0]
        if scheme not in SIGN_IN:
            raise
        raise DataError(f"{err} (from {url}; in GitHub Actions the setup action signs in with the repository "
                        f"variables {SIGN_IN[scheme]}: README, Going to GitHub)") from None  # fmt: skip


def add(root: Path, folder: Path) -> str:
    """``dvc add <folder>``: a new snapshot in the cache; returns its md5 (written to ``<folder>.dvc``)."""
    _dvc(root, "add", str(folder))
    return md5(root / f"{folder}.dvc")


def push(root: Path, pointers: list[Path]) -> None:
    """``dvc push``: the snapshots the pointers name, to the DVC remote."""
    _dvc(root, "push", *map(str, pointers))


def md5(pointer: Path) -> str:
    return yaml.safe_load(pointer.read_text())["outs"][0]["md5"]
