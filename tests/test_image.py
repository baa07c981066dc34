"""The serving image and its Kubernetes rollout, without Docker or a cluster: hadolint on the Dockerfile, shellcheck
on deploy/k8s/deploy.sh; the Dockerfile's steps replayed in a clean folder and its CMD served, checked by the smoke
test; deploy.sh against a stand-in kubectl; every overlay rendered by kubectl kustomize and validated by
kubernetes-validate."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import MATRIX, Baked, config_id, free_port, uv_bin

BIN = Path(sys.executable).parent
K8S_VERSION = "1.33.0"  # the oldest Kubernetes the manifests must suit
DEFAULT, EDGE = MATRIX[0], MATRIX[-1]  # the defaults, and the bake with every answer at its awkward edge
OVERLAYS = ("dev", "staging", "prod")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed: run `make test`, which installs requirements.txt"
    return found


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) in order: comments dropped, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(line for line in dockerfile.read_text().splitlines()
                                          if not line.lstrip().startswith("#")))  # fmt: skip
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def image_settings(dockerfile: Path) -> dict[str, str]:
    """What the manifests must agree with: the ENV values, the WORKDIR and the USER."""
    found: dict[str, str] = {}
    for instruction, arguments in instructions(dockerfile):
        if instruction == "ENV":
            found.update(pair.split("=", 1) for pair in shlex.split(arguments))
        elif instruction in ("WORKDIR", "USER", "EXPOSE"):
            found[instruction] = arguments.strip()
    return found


def test_hadolint_passes_and_would_catch_a_shell_form_cmd(baked: Baked, tmp_path: Path) -> None:
    """hadolint has nothing to say about the Dockerfile; the same file with a shell-form CMD fails it."""
    hadolint = [tool("hadolint"), "--no-color"]
    lint = subprocess.run([*hadolint, "Dockerfile"], cwd=baked.path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = (baked.path / "Dockerfile").read_text()
    planted = tmp_path / "Dockerfile"
    planted.write_text(re.sub(r"^CMD .*$", "CMD serve --host 0.0.0.0", text, flags=re.MULTILINE))
    lint = subprocess.run([*hadolint, str(planted)], capture_output=True, text=True)
    assert lint.returncode != 0 and "DL3025" in lint.stdout


def test_deploy_script_passes_shellcheck(baked: Baked) -> None:
    """shellcheck has nothing to say about deploy/k8s/deploy.sh (what `make deploy` runs)."""
    check = subprocess.run([tool("shellcheck"), "deploy/k8s/deploy.sh"], cwd=baked.path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def render(project: Path, overlay: str) -> list[dict]:
    """The overlay as kubectl kustomize renders it, after kubernetes-validate --strict passed it."""
    rendered = subprocess.run([tool("kubectl"), "kustomize", f"deploy/k8s/overlays/{overlay}"], cwd=project,
                              capture_output=True, text=True)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    checked = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, "-"], input=rendered.stdout,
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return list(yaml.safe_load_all(rendered.stdout))


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("config", [DEFAULT, EDGE], ids=config_id)
def test_overlays_render_valid_manifests_that_match_the_image(config: dict, overlay: str, bakes: dict) -> None:
    """Each overlay renders and passes kubernetes-validate --strict; no Secret is committed (MLflow's settings come
    from one by name); names are DNS labels; the pods run the image's user, port and workdir on a read-only root
    file system with /tmp and data/ writable, probe /health/ready and /health/live, and get APP_ENV = the overlay."""
    baked = bakes[config_id(config)]
    image = image_settings(baked.path / "Dockerfile")
    docs = {doc["kind"]: doc for doc in render(baked.path, overlay)}
    assert set(docs) == {"ConfigMap", "Service", "Deployment"}
    slug = config.get("project_slug", "flight-delays")
    for doc in docs.values():
        assert DNS_LABEL.match(doc["metadata"]["name"]) and len(doc["metadata"]["name"]) <= 63
        assert doc["metadata"]["namespace"] == f"{slug.replace('_', '-')}-{overlay}"
    assert docs["ConfigMap"]["data"] == {"APP_ENV": overlay}

    deployment, service = docs["Deployment"], docs["Service"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"{slug}-serve:{overlay}"
    assert container["envFrom"] == [{"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}},
                                    {"secretRef": {"name": "serve-mlflow"}}]  # fmt: skip
    uid, gid = image["USER"].split(":")
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(uid), int(gid))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", f"{image['WORKDIR']}/data"}
    (port,) = container["ports"]
    assert port["containerPort"] == int(image["PORT"]) == int(image["EXPOSE"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": port["name"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def replay(dockerfile: Path, context: Path, app: Path, env: dict[str, str]) -> list[str]:
    """Replay the Dockerfile's build in ``app`` (for /app): its ENV, COPY and RUN steps; returns its CMD.

    The steps that need root (the user, the data folder's owner) are replayed without it. uv links from its warm
    cache instead of copying, and Python writes the byte-code of what it imports when it first does, instead of uv
    compiling all of it ahead (UV_LINK_MODE, UV_COMPILE_BYTECODE and PYTHONDONTWRITEBYTECODE change only how fast
    the files land and load). A step the replay does not know fails the test."""
    command: list[str] = []
    for instruction, arguments in instructions(dockerfile):
        arguments = arguments.replace("/app", str(app))
        if instruction == "FROM":
            env["UV_PYTHON"] = re.fullmatch(r"python:(\d+\.\d+)-slim", arguments).group(1)
        elif instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments.replace("$PATH", env["PATH"])))
        elif instruction == "WORKDIR":
            app.mkdir(parents=True)
        elif instruction == "COPY":
            *sources, target = arguments.split()
            for source in sources:
                copy = shutil.copytree if (context / source).is_dir() else shutil.copy
                copy(context / source, app / target if target != "./" else app / source)
        elif instruction == "RUN":
            for step in (part.strip() for part in arguments.split("&&")):
                if step.startswith("uv sync "):
                    uv = {**env, "UV_LINK_MODE": "hardlink", "UV_COMPILE_BYTECODE": "0"}
                    done = subprocess.run([uv_bin(), *shlex.split(step)[1:]], cwd=app, env=uv, capture_output=True,
                                          text=True, timeout=600)  # fmt: skip
                    assert done.returncode == 0, done.stderr[-3000:]
                elif step.startswith("install -d "):
                    Path(step.split()[-1]).mkdir(parents=True, exist_ok=True)
                elif not step.startswith(('pip install --no-cache-dir "uv', "groupadd ", "useradd ")):
                    pytest.fail(f"the replay does not know the Dockerfile step {step!r}: teach it")
        elif instruction == "CMD":
            command = json.loads(arguments)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return command


def files(app: Path) -> list[Path]:
    """The files of the replayed image, apart from the environment and the byte-code the replay lets Python write."""
    return [path for path in app.rglob("*") if path.is_file() and not {".venv", "__pycache__"} & set(path.parts)]


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


STAND_IN_KUBECTL = """#!/usr/bin/env bash
# A stand-in for a cluster: kustomize is the real kubectl's; the rest is recorded and answered as the test says.
echo "$*" >> "$STAND_IN_LOG"
case " $* " in
  *" kustomize "*) exec "$REAL_KUBECTL" "$@" ;;
  *" apply -f "*) cp "${@: -1}" "$STAND_IN_APPLIED" ;;
  *" rollout status "*) exit "${STAND_IN_ROLLOUT_STATUS:-0}" ;;
  *" port-forward "*) exec sleep 300 ;;
esac
"""


@pytest.mark.slow
def test_the_image_replayed_without_docker(bakes: dict, tmp_path: Path) -> None:
    """The Dockerfile's steps, replayed in a clean folder, install a server that its CMD starts; with no @champion in
    the registry it answers /health/live and 503 on /health/ready. deploy.sh, against a stand-in kubectl whose service
    is that server, applies the overlay with the image pinned; the smoke test reports "not ready: <why>" after its
    timeout, and the rollout is undone and the job fails; so it is when the rollout does not finish. The server wrote
    nothing outside data/ (an emptyDir on Kubernetes) and its home."""
    baked = bakes[config_id(DEFAULT)]
    app, home = tmp_path / "app", tmp_path / "home"
    home.mkdir()
    env = {**baked.env, "HOME": str(home), "UV_PYTHON_DOWNLOADS": "never"}
    started = time.monotonic()
    command = replay(baked.path / "Dockerfile", baked.path, app, env)
    installed = time.monotonic() - started
    port = free_port()
    env.update(PORT=str(port), MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'registry.db'}")
    before = {path: path.stat().st_mtime for path in files(app)}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while status_of(f"{url}/health/live") != 200:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not answer within 180 s"
            time.sleep(0.5)
        assert status_of(f"{url}/health/ready") == 503
        cli = app / ".venv" / "bin" / baked.path.name
        served = time.monotonic() - started - installed

        # deploy.sh from the project's root (here the replayed one), kubectl standing in for a cluster whose service
        # is the server above.
        deploy = app / "deploy"
        shutil.copytree(baked.path / "deploy", deploy)
        stand_in = tmp_path / "stand-in"
        stand_in.mkdir()
        (stand_in / "kubectl").write_text(STAND_IN_KUBECTL)
        (stand_in / "kubectl").chmod(0o755)
        calls, applied = tmp_path / "kubectl.log", tmp_path / "applied.yaml"
        digest = "sha256:" + "0123456789abcdef" * 4
        deploy_env = {**env, "PATH": f"{stand_in}:{env['PATH']}", "REAL_KUBECTL": tool("kubectl"),
                      "STAND_IN_LOG": str(calls), "STAND_IN_APPLIED": str(applied),
                      "SMOKE_PORT": str(port), "SMOKE_TIMEOUT": "3"}  # fmt: skip
        image = f"ghcr.io/example/flight-delays@{digest}"
        rollout = subprocess.run(["bash", "deploy/k8s/deploy.sh", "prod", image, str(cli)], cwd=app, env=deploy_env,
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        assert rollout.returncode == 1, rollout.stdout + rollout.stderr
        verdict = next(line for line in rollout.stdout.splitlines() if line.startswith("smoke test failed: "))
        assert verdict.startswith("smoke test failed: not ready: no @champion loaded") and verdict.endswith(
            "(HTTP 503), after 3 s"
        )
        assert ("::error::the smoke test failed: deployment/serve in flight-delays-prod is back at its previous "
                "revision") in rollout.stdout  # fmt: skip
        recorded = calls.read_text().splitlines()
        namespaced = [line.removeprefix("--namespace flight-delays-prod ") for line in recorded
                      if "kustomize" not in line]  # fmt: skip
        assert [line.split()[0:2] for line in namespaced] == [
            ["apply", "-f"], ["rollout", "status"], ["port-forward", "service/serve"], ["get", "pods"],
            ["get", "events"], ["rollout", "undo"], ["rollout", "status"],
        ]  # fmt: skip
        pinned = next(doc for doc in yaml.safe_load_all(applied.read_text()) if doc["kind"] == "Deployment")
        assert pinned["spec"]["template"]["spec"]["containers"][0]["image"] == image
        assert not list((deploy / "k8s" / "overlays").glob(".pinned*")), "deploy.sh left its pinned overlay behind"

        calls.unlink()
        stuck = subprocess.run(["bash", "deploy/k8s/deploy.sh", "prod", image, str(cli)], cwd=app,
                               env={**deploy_env, "STAND_IN_ROLLOUT_STATUS": "1"}, capture_output=True, text=True,
                               timeout=60)  # fmt: skip
        assert stuck.returncode == 1 and "::error::the rollout did not finish" in stuck.stdout, stuck.stdout
        assert "port-forward" not in calls.read_text() and "rollout undo" in calls.read_text()
        for bad, needle in (("ghcr.io/example/flight-delays", "neither a tag nor a digest"), ("", "IMAGE is not set")):
            refused = subprocess.run(["bash", "deploy/k8s/deploy.sh", "prod", bad, str(cli)], cwd=app,
                                     env=deploy_env, capture_output=True, text=True, timeout=60)  # fmt: skip
            assert refused.returncode == 1 and needle in refused.stdout, refused.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    changed = [str(path.relative_to(app)) for path in files(app) if before.get(path) != path.stat().st_mtime
               and path.relative_to(app).parts[0] not in ("data", "deploy")]  # fmt: skip
    assert changed == [], f"the server wrote outside data/: {changed}"
    assert not any(home.iterdir()), f"the server wrote to its home: {list(home.rglob('*'))}"
    rest = time.monotonic() - started - installed - served
    print(f"replayed the install in {installed:.0f} s, served in {served:.0f} s, the rest in {rest:.0f} s")
