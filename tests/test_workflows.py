"""Every baked workflow: zizmor (auditor) finds nothing, the schema and actionlint pass, and the structure holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import Baked

BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
TIERS = {
    "pull-request.yml": {"pull_request"},
    "integration.yml": {"push", "schedule", "workflow_dispatch"},
    "release.yml": {"push", "workflow_dispatch"},
    "monitor.yml": {"schedule", "workflow_dispatch"},
    "rollback.yml": {"workflow_dispatch"},  # production's rollback, behind the `production` approval
}


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed: run `make test`, which installs requirements.txt"
    return found


def workflows(baked: Baked) -> dict[str, dict]:
    folder = baked.path / ".github" / "workflows"
    return {p.name: yaml.load(p.read_text(), Loader=yaml.BaseLoader) for p in sorted(folder.glob("*.yml"))}


def test_zizmor_auditor_finds_nothing(baked: Baked) -> None:
    """zizmor --offline --persona auditor --strict-collection reports 0 findings on .github/."""
    result = subprocess.run([tool("zizmor"), "--offline", "--persona", "auditor", "--strict-collection", "--no-progress",
                             ".github/"], cwd=baked.path, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_schema_and_actionlint(baked: Baked) -> None:
    """The workflows match GitHub's schema and actionlint has nothing to say."""
    files = sorted(str(p) for p in (baked.path / ".github" / "workflows").glob("*.yml"))
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
                            capture_output=True, text=True)  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    action = baked.path / ".github" / "actions" / "setup" / "action.yml"
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action)],
                            capture_output=True, text=True)  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run([tool("actionlint"), "-no-color"], cwd=baked.path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_triggers_map_to_the_three_tiers(baked: Baked) -> None:
    """Pull requests, pushes to the integration branch, pushes to release branches: and nothing dangerous."""
    found = workflows(baked)
    assert set(found) == set(TIERS)
    main = baked.config.get("default_branch", "main")
    prefix = baked.config.get("release_branch_prefix", "release/")
    for name, expected in TIERS.items():
        triggers = found[name]["on"]
        assert set(triggers) == expected, name
        assert not {"pull_request_target", "workflow_run"} & set(triggers)
    assert found["integration.yml"]["on"]["push"]["branches"] == [main]
    assert found["release.yml"]["on"]["push"]["branches"] == [f"{prefix}**"]
    assert main in found["pull-request.yml"]["on"]["pull_request"]["branches"]


def test_hardening(baked: Baked) -> None:
    """permissions: {} at the top, a timeout on every job, every action SHA-pinned with a version comment,
    persist-credentials false, and no event or input data expanded inside run:."""
    for name, workflow in workflows(baked).items():
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            assert "timeout-minutes" in job, f"{name}:{job_name}"
            assert "permissions" in job, f"{name}:{job_name}"
            for step in job.get("steps", []):
                run = step.get("run", "")
                assert "${{" not in run, f"{name}:{job_name} expands an expression inside run:"
                uses = step.get("uses")
                if uses and not uses.startswith("./"):
                    assert SHA_PIN.match(uses), uses
                if uses and uses.startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] == "false"
    text = "\n".join(p.read_text() for p in (baked.path / ".github").rglob("*.yml"))
    for line in text.splitlines():
        if re.search(r"uses: [\w.-]+/[\w.-]+@", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


TASK_CALL = re.compile(r"^make( [\w-]+)+( [A-Z_]+=\S+)*$")


def test_steps_call_task_names_only(baked: Baked) -> None:
    """Every `run:` of every workflow and of the setup action is one or more `make <target> [VAR=value]` lines:
    what CI runs is what a person runs, and the logic lives in the Makefile and the CLI."""
    files = [*workflows(baked).items(), ("setup", yaml.load((baked.path / ".github" / "actions" / "setup" /
                                                             "action.yml").read_text(), Loader=yaml.BaseLoader))]  # fmt: skip
    for name, document in files:
        jobs = document.get("jobs") or {"composite": document["runs"]}
        for job_name, job in jobs.items():
            for step in job.get("steps", []):
                for line in filter(None, (line.strip() for line in step.get("run", "").splitlines())):
                    assert TASK_CALL.match(line), f"{name}:{job_name} runs {line!r}, not a make target"


def test_promotion_is_gated_and_serialized(baked: Baked) -> None:
    """Promotion runs behind the production environment, in a concurrency group that is never cancelled."""
    promote = workflows(baked)["release.yml"]["jobs"]["promote"]
    assert promote["environment"] == "production"
    assert promote["concurrency"]["cancel-in-progress"] == "false"
    pull_request = workflows(baked)["pull-request.yml"]
    assert pull_request["concurrency"]["cancel-in-progress"] == "true"


def test_rulesets_require_the_pull_request_checks(baked: Baked) -> None:
    """The main ruleset requires every pull-request job by name; the release ruleset requires integration."""
    import json

    main = baked.config.get("default_branch", "main")
    folder = baked.path / ".github" / "rulesets"
    ruleset = json.loads((folder / f"{main}.json").read_text())
    rules = {rule["type"]: rule.get("parameters", {}) for rule in ruleset["rules"]}
    required = {check["context"] for check in rules["required_status_checks"]["required_status_checks"]}
    jobs = workflows(baked)["pull-request.yml"]["jobs"]
    assert required == {job["name"] for key, job in jobs.items() if key != "summary"}
    release = json.loads((folder / "release.json").read_text())
    contexts = [r["parameters"]["required_status_checks"] for r in release["rules"] if r["type"] == "required_status_checks"]
    assert contexts == [[{"context": "integration"}]]


def test_only_the_retraining_dispatch_can_start_workflows(baked: Baked) -> None:
    """`actions: write` is held by one job: the one that runs when the cycle says retraining is due."""
    holders = [
        (name, job_name)
        for name, workflow in workflows(baked).items()
        for job_name, job in workflow["jobs"].items()
        if isinstance(job.get("permissions"), dict) and job["permissions"].get("actions") == "write"
    ]
    assert holders == [("monitor.yml", "retrain")]
    job = workflows(baked)["monitor.yml"]["jobs"]["retrain"]
    assert job["needs"] == "cycle" and "needs.cycle.outputs.retrain == 'true'" in job["if"]
    assert any(step.get("run") == "make dispatch-retraining ENV=prod" for step in job["steps"])


def data_jobs(baked: Baked) -> set[tuple[str, str]]:
    """(workflow, job) of every job whose setup action fetches an environment's data from the DVC remote."""
    return {
        (name, job_name)
        for name, workflow in workflows(baked).items()
        for job_name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if step.get("uses") == "./.github/actions/setup" and step.get("with", {}).get("environment", "none") != "none"
    }


def test_write_permissions_are_held_by_the_jobs_that_need_them_only(baked: Baked) -> None:
    """contents: write where data pointers or tags are pushed; issues: write for the breach's issue; packages,
    id-token and attestations: write for the job that pushes and attests the serving image; id-token: write for the
    jobs that fetch data when the DVC remote is a cloud bucket (OIDC); nowhere else."""
    writers = {
        (name, job_name, scope)
        for name, workflow in workflows(baked).items()
        for job_name, job in workflow["jobs"].items()
        for scope, level in (job.get("permissions") or {}).items()
        if level == "write"
    }
    assert writers == {
        ("monitor.yml", "cycle", "contents"),
        ("monitor.yml", "issue", "issues"),
        ("monitor.yml", "retrain", "actions"),
        ("release.yml", "batch-inference", "contents"),
        ("release.yml", "image", "packages"),
        ("release.yml", "image", "id-token"),
        ("release.yml", "image", "attestations"),
    } | ({(name, job, "id-token") for name, job in data_jobs(baked)} if baked.config["dvc_remote"] != "local" else set())


def test_image_and_deploy_follow_the_production_approval(baked: Baked) -> None:
    """The image is built after promote and every step after the act check waits for build == 'true'; the deploy
    job runs only when an image was pushed, behind the production environment, never cancelled, checks the
    KUBE_CONFIG secret first, writes the online feature table to the shared store its pods read (after checking that
    it is one), and rolls out by digest; the secrets reach that job only; a failure of either alerts."""
    jobs = workflows(baked)["release.yml"]["jobs"]
    image, deploy = jobs["image"], jobs["deploy"]
    assert image["needs"] == "promote" and "environment" not in image
    steps = image["steps"]
    check = next(i for i, step in enumerate(steps) if step.get("run") == "make image-check")
    assert all(step["if"] == "${{ steps.check.outputs.build == 'true' }}" for step in steps[check + 1 :])
    build = next(step for step in steps if step.get("id") == "build")
    assert build["with"]["push"] == "true" and build["with"]["sbom"] == "true"
    assert image["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"

    assert deploy["needs"] == "image" and deploy["if"] == "${{ needs.image.outputs.digest != '' }}"
    assert deploy["environment"] == "production" and deploy["concurrency"]["cancel-in-progress"] == "false"
    runs = [step.get("run") for step in deploy["steps"] if "run" in step]
    assert runs == ["make deploy-check", "make online-check ENV=prod\nmake online ENV=prod\n", "make deploy OVERLAY=prod"]
    rollout = next(step for step in deploy["steps"] if step.get("run") == "make deploy OVERLAY=prod")
    assert rollout["env"]["IMAGE"] == "${{ needs.image.outputs.name }}@${{ needs.image.outputs.digest }}"
    for secret in ("secrets.KUBE_CONFIG", "secrets.ONLINE_STORE_PASSWORD"):
        assert {name for name, job in jobs.items() if secret in yaml.safe_dump(job)} == {"deploy"}
    assert {"image", "deploy"} <= set(jobs["alert"]["needs"])


def test_the_templates_own_ci_is_clean_and_tries_the_newest_versions_nightly() -> None:
    """The template's own .github/workflows/ci.yml: zizmor (auditor) finds nothing, GitHub's schema and actionlint
    pass; pushes and pull requests run .ci/run, and the nightly schedule runs `make test-newest`, read-only."""
    root = Path(__file__).resolve().parents[1]
    audit = subprocess.run([tool("zizmor"), "--offline", "--persona", "auditor", "--strict-collection", "--no-progress",
                            ".github/"], cwd=root, capture_output=True, text=True)  # fmt: skip
    assert audit.returncode == 0 and "No findings to report" in audit.stdout + audit.stderr, audit.stdout + audit.stderr
    path = root / ".github" / "workflows" / "ci.yml"
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                            capture_output=True, text=True)  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run([tool("actionlint"), "-no-color", str(path)], cwd=root, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    ci = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
    assert ci["permissions"] == {} and len(ci["on"]["schedule"]) == 1
    test, newest = ci["jobs"]["test"], ci["jobs"]["newest-versions"]
    assert test["steps"][-1]["run"] == "bash .ci/run" and "schedule" not in test["if"]
    assert newest["steps"][-1]["run"] == "make test-newest" and "'schedule'" in newest["if"]
    for job in (test, newest):
        assert job["permissions"] == {"contents": "read"}
        assert all(SHA_PIN.match(step["uses"]) for step in job["steps"] if "uses" in step)
