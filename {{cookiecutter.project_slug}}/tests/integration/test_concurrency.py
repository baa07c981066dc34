"""Alias moves from concurrent processes against the SQLite store: one winner, the others told why."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration
PACKAGE = "{{ cookiecutter.__package_name }}"


@pytest.fixture
def contested(tmp_path: Path) -> tuple[Path, tracking.Registry]:
    """Champion v2 (a model that ignores its inputs, sure to lose) with v1 as previous champion, and v3 (trained)
    waiting as @challenger."""
    root = copy_project(tmp_path)
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    assert main(["run", "features", "train", "--env", "dev", "--root", str(root)]) == 0
    settings = load_settings("dev", root)
    registry = tracking.connect(settings)
    features = pd.read_parquet(root / "data" / "dev" / "features.parquet")
    inputs = registry.load(registry.version("1")).inputs
    x, y = features[list(inputs)], features[settings.data.target]
    spec = task_spec(settings.task)
    naive = (DummyClassifier(strategy="prior") if spec.higher_is_better else DummyRegressor()).fit(x, y)
    example = x.head(5)
    registry.log_trained_model(naive, example, getattr(naive, spec.pyfunc_predict_fn)(example),
                               predict_fn=spec.pyfunc_predict_fn, tags={}, params={}, metrics={})  # fmt: skip
    assert main(["train", "--env", "dev", "--root", str(root)]) == 0
    registry.set_alias(tracking.PREVIOUS, "1")
    registry.set_alias(tracking.CHAMPION, "2")
    registry.set_alias(tracking.CHALLENGER, "3")
    return root, registry


def step(root: Path, name: str) -> subprocess.Popen:
    command = [sys.executable, "-m", PACKAGE, name, "--env", "dev", "--root", str(root)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_promotes_have_one_winner(contested) -> None:
    """Four promotes of the same challenger at once: one prints PROMOTED; every other one either finds nothing left
    to promote or reports that the champion changed under it. The aliases end consistent."""
    root, registry = contested
    workers = [step(root, "promote") for _ in range(4)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    promoted = [out for out, _ in outputs if "PROMOTED" in out]
    changed = [err for _, err in outputs if "changed under this step" in err]
    assert len(promoted) == 1, outputs
    assert len(promoted) + len(changed) + sum("nothing to promote" in out for out, _ in outputs) == 4, outputs
    codes = [(worker.returncode, "changed under" in err) for worker, (_, err) in zip(workers, outputs, strict=True)]
    assert all(code == (1 if changed else 0) for code, changed in codes), outputs
    assert registry.aliases() == {"champion": "3", "previous_champion": "2"}


def test_a_promote_racing_a_rollback_does_not_undo_it(contested, tmp_path: Path) -> None:
    """A rollback lands while promote is comparing: promote refuses to move the champion it no longer compared with,
    and the rollback stands."""
    root, registry = contested
    store = Path(registry.settings.tracking_uri.removeprefix("sqlite:///"))
    log = tmp_path / "promote.err"
    command = [sys.executable, "-m", PACKAGE, "promote", "--env", "dev", "--root", str(root)]
    with store.with_suffix(".aliases.lock").open("a") as lock, log.open("w") as err:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the rollback's process: it holds the aliases while promote compares
        promote = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        deadline = time.monotonic() + 300
        while "waiting for" not in log.read_text() and promote.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "waiting for" in log.read_text(), log.read_text()
        registry.set_alias(tracking.CHAMPION, "1")  # what `rollback` does under the lock
        registry.set_alias(tracking.PREVIOUS, "2")
        fcntl.flock(lock, fcntl.LOCK_UN)
        out, _ = promote.communicate(timeout=300)
    assert promote.returncode == 1 and "PROMOTED" not in out
    assert "changed under this step: it was v2 when read, it is v1 now" in log.read_text()
    assert registry.aliases() == {"champion": "1", "challenger": "3", "previous_champion": "2"}
