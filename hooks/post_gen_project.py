"""Finish the baked project: prune unselected options, then git, DVC and the dev branch.

Every side effect is idempotent. When git or DVC is missing the bake still succeeds and the
exact commands that finish the job are printed instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# What each unselected option removes: the one place to read it.
REMOVE = {
    ("include_notebooks", "no"): ["notebooks"],
    ("license", "Proprietary"): ["LICENSE"],
}
DATA_DIR = "data/raw"
CLOUD_URLS = {
    "s3": "s3://YOUR-BUCKET/{slug}",
    "gcs": "gs://YOUR-BUCKET/{slug}",
    "azure": "azure://YOUR-CONTAINER/{slug}",
}
# Committed settings a cloud remote needs beyond its URL (credentials never: they come from the environment, or from
# .dvc/config.local, which git ignores). Azure's storage account is part of the address, not a secret.
CLOUD_SETTINGS = {
    "azure": {"account_name": "YOUR-ACCOUNT"},
}


class Tools:
    """How to call git and DVC here, or None for a missing tool."""

    def __init__(self) -> None:
        self.git = shutil.which("git")
        self.dvc_inprocess = importlib.util.find_spec("dvc") is not None
        self.dvc_exe = shutil.which("dvc")

    @property
    def has_dvc(self) -> bool:
        return self.dvc_inprocess or self.dvc_exe is not None


def prune(answers: dict, root: Path) -> list[str]:
    """Delete the files and folders of unselected options; return what was removed."""
    removed = []
    for (field, value), paths in REMOVE.items():
        if answers.get(field) != value:
            continue
        for rel in paths:
            target = root / rel
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            else:
                continue
            removed.append(rel)
    return removed


def local_remote_path(slug: str, environ: dict | None = None) -> Path:
    """The default local DVC remote: a per-user folder that every clone on this machine reaches."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dvc-remotes" / slug


def remote_url(answers: dict, environ: dict | None = None) -> str:
    slug = answers["project_slug"]
    if answers["dvc_remote"] == "local":
        return str(local_remote_path(slug, environ))
    return CLOUD_URLS[answers["dvc_remote"]].format(slug=slug)


def git(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, check=check, capture_output=True, text=True)


def dvc(tools: Tools, *args: str, root: Path) -> None:
    """Run one DVC command, in this process when DVC is importable (one import instead of one per call)."""
    if tools.dvc_inprocess:
        from dvc.cli import main as dvc_main

        cwd = os.getcwd()
        os.chdir(root)
        try:
            code = dvc_main([*args, "-q"])
        finally:
            os.chdir(cwd)
        if code != 0:
            raise RuntimeError(f"dvc {' '.join(args)} failed with exit status {code}")
    else:
        subprocess.run([tools.dvc_exe, *args, "-q"], cwd=root, check=True)


def ensure_identity(answers: dict, root: Path) -> bool:
    """Give the repository a local identity when git has none configured; True when one was set."""
    have_email = git("config", "user.email", root=root, check=False).stdout.strip()
    have_name = git("config", "user.name", root=root, check=False).stdout.strip()
    if have_email and have_name:
        return False
    git("config", "user.name", answers["author_name"], root=root)
    git("config", "user.email", answers["author_email"], root=root)
    return True


def init_git(answers: dict, root: Path) -> None:
    if not (root / ".git").exists():
        git("init", "-q", root=root)
        git("symbolic-ref", "HEAD", f"refs/heads/{answers['default_branch']}", root=root)
    if ensure_identity(answers, root):
        print(f"git has no identity configured: this repository uses {answers['author_name']} <{answers['author_email']}> locally.")


def init_dvc(tools: Tools, answers: dict, root: Path) -> None:
    if not (root / ".dvc").exists():
        dvc(tools, "init", *([] if (root / ".git").exists() else ["--no-scm"]), root=root)
    dvc(tools, "config", "core.analytics", "false", root=root)
    if not (root / f"{DATA_DIR}.dvc").exists():
        dvc(tools, "add", DATA_DIR, root=root)
    dvc(tools, "remote", "add", "--default", "--force", "storage", remote_url(answers), root=root)
    for key, value in CLOUD_SETTINGS.get(answers["dvc_remote"], {}).items():
        dvc(tools, "remote", "modify", "storage", key, value, root=root)


def commit_all(root: Path, message: str) -> None:
    git("add", "-A", root=root)
    if git("status", "--porcelain", root=root).stdout.strip():
        git("commit", "-q", "--no-verify", "-m", message, root=root)


def create_dev_branch(answers: dict, root: Path) -> None:
    dev = answers["dev_branch"]
    if git("rev-parse", "--verify", "--quiet", f"refs/heads/{dev}", root=root, check=False).returncode != 0:
        git("branch", dev, root=root)
    git("checkout", "-q", dev, root=root)


# What `cruft update` must never touch: git's own data, DVC's state and every data folder.
CRUFT_SKIP = [".git", ".dvc", "data", "mlflow.db", "mlartifacts", "dvc.lock", ".venv", ".tools"]
URL_PREFIXES = ("http://", "https://", "git@", "ssh://", "file://", "gh:", "gl:", "bb:")


def template_source(answers: dict, environ: dict | None = None) -> str:
    """Where the template came from, as cruft needs it: the URL given, or an absolute local path."""
    given = str(answers.get("_template", ""))
    if given.startswith(URL_PREFIXES):
        return given
    environ = os.environ if environ is None else environ
    candidate = Path(environ.get("PWD", ".")) / given
    if (candidate / "cookiecutter.json").is_file():
        return str(candidate.resolve())
    return given


def write_cruft_state(answers: dict, root: Path) -> str | None:
    """Record the answers and the template commit in .cruft.json (cruft's format); return the commit."""
    repo = Path(str(answers.get("_repo_dir", "")))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False)
    commit = head.stdout.strip() if head.returncode == 0 else None
    context = {k: v for k, v in answers.items() if k not in {"_output_dir", "_repo_dir", "_checkout"}}
    state = {
        "template": template_source(answers),
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": {**context, "_template": template_source(answers), "_commit": commit}},
        "directory": None,
        "skip": CRUFT_SKIP,
    }
    (root / ".cruft.json").write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return commit


def finishing_commands(answers: dict, tools: Tools) -> list[str]:
    """The commands a user runs by hand when git or DVC was missing during the bake."""
    steps = []
    if not tools.git:
        steps.append("# install git (https://git-scm.com/downloads), then:")
    if not tools.has_dvc:
        steps.append("python3 -m pip install 'dvc>=3.50'")
    steps += [
        f"git init -b {answers['default_branch']}",
        "dvc init && dvc config core.analytics false",
        f"dvc add {DATA_DIR}",
        f"dvc remote add --default storage {remote_url(answers)}",
        "git add -A && git commit -m 'Initial commit from cookiecutter-mlops-gitops'",
    ]
    if answers["dvc_remote"] == "local":
        steps.append("dvc push")
    steps.append(f"git checkout -b {answers['dev_branch']}")
    return steps


def main(answers: dict, root: Path) -> int:
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")  # before the first DVC command, which would otherwise report
    removed = prune(answers, root)
    if "_commit" in answers:  # cruft re-rendering the template to compute an update: files only
        return 0
    if removed:
        print(f"Removed for your options: {', '.join(removed)}")
    if write_cruft_state(answers, root) is None:
        print("The template is not a git repository: .cruft.json has no commit, so `make template-update` cannot work.")
    tools = Tools()
    if not (tools.git and tools.has_dvc):
        missing = " and ".join(name for name, ok in (("git", tools.git), ("dvc", tools.has_dvc)) if not ok)
        print(f"\n{missing} not found: the project files are written; finish the set-up with:\n")
        for step in finishing_commands(answers, tools):
            print(f"    {step}")
        return 0
    init_git(answers, root)
    init_dvc(tools, answers, root)
    commit_all(root, "Initial commit from cookiecutter-mlops-gitops")
    if answers["dvc_remote"] == "local":
        dvc(tools, "push", root=root)
    else:
        print(f"DVC remote set to {remote_url(answers)}: edit the URL, configure credentials, then run `dvc push`.")
    create_dev_branch(answers, root)
    print(f"\nBaked {answers['project_slug']}: branches {answers['default_branch']} and {answers['dev_branch']} "
          f"(checked out), data tracked by DVC in {DATA_DIR}.dvc.\n"
          f"Next: cd {answers['project_slug']} && make setup pipeline")
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd()))
