"""The smoke test (`smoke --url`, `serve --smoke`) against the real server on 127.0.0.1: it passes on a served
champion with the example records, and fails in one line when the server is not ready or does not answer."""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.serving import server, smoke

from .conftest import copy_project, edit_yaml

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory):
    """A project whose registry has one version as @champion, its online table materialised, served."""
    root = copy_project(tmp_path_factory.mktemp("smoke"))
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    args = ["--env", "dev", "--root", str(root)]
    for step in ("features", "online", "train"):
        assert main([step, *args]) == 0
    settings = load_settings("dev", root)
    tracking.connect(settings).set_alias(tracking.CHAMPION, "1")
    uvicorn_server, url = server.start(settings, server.free_port())
    yield {"url": url, "args": args}
    uvicorn_server.should_exit = True


def test_smoke_passes_on_a_served_champion(champion, capsys: pytest.CaptureFixture[str]) -> None:
    """`smoke --url` exits 0 and says which version scored the example records, one prediction each."""
    assert main(["smoke", "--url", champion["url"], "--timeout", "30", *champion["args"]]) == 0
    count = len(smoke.examples()["records"])
    assert capsys.readouterr().out.strip() == (
        f"smoke test passed: {champion['url']} is ready (@champion v1); {count} example records scored by v1"
    )


def test_serve_smoke_runs_the_same_check_in_process(champion, capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --smoke` starts its own server on a free port, passes the same check, and stops."""
    assert main(["serve", "--smoke", *champion["args"]]) == 0
    assert "smoke test passed: " in capsys.readouterr().out


def test_a_server_without_a_champion_is_not_ready(tmp_path) -> None:
    """With no @champion the smoke test waits its timeout and fails with the server's reason, not a traceback."""
    settings = load_settings("dev", copy_project(tmp_path))
    uvicorn_server, url = server.start(settings, server.free_port())
    try:
        passed, verdict = smoke.run(url, timeout=2)
    finally:
        uvicorn_server.should_exit = True
    assert not passed
    assert verdict.startswith("smoke test failed: not ready: no @champion loaded")
    assert verdict.endswith("(HTTP 503), after 2 s")


def test_no_server_is_a_one_line_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: exit 1 and one line naming the URL; a URL without a scheme is refused up front."""
    url = f"http://127.0.0.1:{server.free_port()}"
    assert main(["smoke", "--url", url, "--timeout", "1"]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"smoke test failed: not ready: no answer from {url} (") and "\n" not in out
    assert main(["smoke", "--url", url.removeprefix("http://")]) == 2
    assert "error: --url must be http://host:port" in capsys.readouterr().err
