"""Bake each option combination once per session; every check fans out from those bakes.

The matrix follows cookiecutter-data-science: the product of the options that interact,
filtered by ``_is_valid``, with the independent options cycled across it so every value
is covered without the full product.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# Two workers share two cores with the servers, pipelines and act jobs each scenario starts. OpenMP (scikit-learn's
# histogram trees) would start one spinning thread per core in every process: oversubscribed, its threads wait on
# each other. One OpenMP thread per process, inherited by every bake's subprocesses: one own-data pipeline test took
# 113 s with two threads beside one busy process, 31 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

TEMPLATE = Path(__file__).resolve().parents[1]
OPTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())

# task decides the notebook's and params' content, include_notebooks what exists: they interact.
INTERACTING = {"task": OPTIONS["task"], "include_notebooks": OPTIONS["include_notebooks"]}
# Each of these changes files on its own; cycling covers every value.
CYCLED = {
    "python_version": OPTIONS["python_version"],
    "dvc_remote": OPTIONS["dvc_remote"],
    "license": OPTIONS["license"],
    "mlflow_tracking_uri": ["", "http://127.0.0.1:5000", "sqlite:///mlflow.db"],
}
# A bake with every free-text answer at its awkward edge: the strings must round-trip.
EDGE_CASE = {
    "project_name": "Zoë Flight Delay Model",
    "project_slug": "zoe_delay_model_with_a_long_name_forty_c",
    "description": "Predicts 'late' flights: <fast> & {cheap} — 100% offline",
    "author_name": "Zoë O'Brien-Łukasiewicz",
    "author_email": "zoe.obrien+ml@example.co.uk",
    "default_branch": "trunk",
    "dev_branch": "develop",
    "release_branch_prefix": "releases/v",
    "mlflow_tracking_uri": "sqlite:///mlflow.db",  # a local store inside the project: valid with the local remote
}


def _is_valid(config: dict) -> bool:
    """A SQLite (local) tracking store with a team's cloud DVC remote is refused by the pre-gen hook."""
    uri = config.get("mlflow_tracking_uri", "")
    return not (uri.startswith(("sqlite:", "file:")) and config.get("dvc_remote", "local") != "local")


def _matrix() -> tuple[list[dict], list[dict]]:
    """(the bakes, the combinations ``_is_valid`` refused). A refused combination takes the tracking URI's next
    value instead, so the matrix keeps its length and every other value stays where the cycles put it."""
    combos = [dict(zip(INTERACTING, values)) for values in itertools.product(*INTERACTING.values())]
    cycles = {key: itertools.cycle(values) for key, values in CYCLED.items()}
    longest = max(len(combos), *(len(v) for v in CYCLED.values()))
    matrix, refused = [], []
    for index in range(longest):
        config = dict(combos[index % len(combos)])
        config.update({key: next(cycle) for key, cycle in cycles.items()})
        while not _is_valid(config):
            refused.append(dict(config))
            config["mlflow_tracking_uri"] = next(cycles["mlflow_tracking_uri"])
        matrix.append(config)
    matrix.append({**matrix[0], **EDGE_CASE})
    return matrix, refused


MATRIX, REFUSED = _matrix()


def config_id(config: dict) -> str:
    keys = ("task", "include_notebooks", "python_version", "dvc_remote", "license")
    label = "-".join(str(config[k]) for k in keys)
    return label + ("-edge" if "project_slug" in config else "")


def _minutes(item: pytest.Item) -> float:
    return item.get_closest_marker("heavy").kwargs["minutes"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy scenarios start first, split across the workers: `--dist worksteal` gives each of the n workers one
    contiguous share of this list (the first gets len // n items, the next len(rest) // (n - 1), ...) and steals
    only from the tails, so a scenario of many minutes that started late would be the whole run's tail."""
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    heavy = sorted((item for item in items if item.get_closest_marker("heavy")), key=_minutes, reverse=True)
    light = [item for item in items if not item.get_closest_marker("heavy")]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in heavy:  # longest first, each to the lightest share
        min(shares, key=lambda share: sum(map(_minutes, share))).append(item)
    ordered, left = [], len(items)
    for index, share in enumerate(shares):
        size = left // (workers - index)  # what worksteal sends this worker first
        fill = max(0, size - len(share))
        ordered += share + light[:fill]
        light = light[fill:]
        left -= size
    items[:] = ordered + light


def tool_env(home: Path) -> dict[str, str]:
    """An environment with no git identity and the DVC remote under a private XDG_DATA_HOME."""
    # PYTHONDONTWRITEBYTECODE would make every process of a bake (CLI, dvc, act's steps) recompile mlflow, pandas and
    # sklearn at import: ~10 s each on 2 cores. A user's machine caches bytecode; so do the bakes.
    skipped = ("GIT_", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "share"),
        XDG_CONFIG_HOME=str(home / "config"),
        GIT_CONFIG_NOSYSTEM="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        DVC_NO_ANALYTICS="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        PRE_COMMIT_HOME=os.environ.get("PRE_COMMIT_HOME", str(Path.home() / ".cache" / "pre-commit")),
        UV=uv_bin(),  # every `make` in a bake uses the template's uv instead of bootstrapping its own
    )
    return env


def bake(config: dict, output_dir: Path, env: dict[str, str], template: Path = TEMPLATE) -> subprocess.CompletedProcess:
    """Run cookiecutter as a user would, through its command line."""
    args = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "--output-dir", str(output_dir)]
    args += [f"{key}={value}" for key, value in config.items()]
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=output_dir, timeout=120)


class Baked:
    """One baked project plus what its bake printed."""

    def __init__(self, config: dict, path: Path, result: subprocess.CompletedProcess, env: dict[str, str]):
        self.config, self.path, self.result, self.env = config, path, result, env

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.path, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Baked]:
    """Every matrix combination, baked once for the whole session."""
    baked = {}
    for config in MATRIX:
        root = tmp_path_factory.mktemp(config_id(config))
        home = root / "home"
        home.mkdir()
        output = root / "out"
        output.mkdir()
        env = tool_env(home)
        result = bake(config, output, env)
        assert result.returncode == 0, f"bake failed for {config}:\n{result.stdout}\n{result.stderr}"
        (project,) = [p for p in output.iterdir() if p.is_dir()]
        baked[config_id(config)] = Baked(config, project, result, env)
    return baked


@pytest.fixture(params=MATRIX, ids=config_id)
def baked(request: pytest.FixtureRequest, bakes: dict[str, Baked]) -> Baked:
    return bakes[config_id(request.param)]


def uv_bin() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is not installed: run `make test`, which installs it"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers: a 4xx is still an answer
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


class S3Server:
    """moto's server: an S3-API endpoint on 127.0.0.1 (what DVC's own tests use in place of a cloud bucket; MinIO is
    not packaged here). Any access key is accepted; the bucket starts empty."""

    def __init__(self, endpoint: str, process: subprocess.Popen):
        self.endpoint, self.process = endpoint, process
        self.env = {
            "AWS_ACCESS_KEY_ID": "testing-key",
            "AWS_SECRET_ACCESS_KEY": "testing-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def create_bucket(self, name: str) -> str:
        import boto3

        keys = {
            "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
        }
        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **keys)
        client.create_bucket(Bucket=name)
        return f"s3://{name}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto S3 server per worker for the session, stopped at its end."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    assert moto, "moto_server is not installed: run `make test`, which installs requirements.txt"
    process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for_http(endpoint, process)
        yield S3Server(endpoint, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


# The team tracking stack (PostgreSQL, the S3 server above, mlflow server with auth): its fixtures live in team.py.
from team import postgres, team  # noqa: E402, F401
