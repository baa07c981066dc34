"""The environment overlays and the typed schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.__package_name }}.config import ENVIRONMENTS, ConfigError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_shipped_environment_loads(env: str) -> None:
    """Each configs/<env>.yaml overlays params.yaml into valid settings of that environment."""
    settings = load_settings(env, PROJECT_ROOT)
    assert settings.env == env
    assert settings.tracking.registered_model.endswith(f"_{env}")
    assert settings.output_dir == Path("data") / env


def test_overlay_overrides_only_its_keys(project_copy: Path) -> None:
    """An overlay key replaces the base value; sibling keys keep the base values."""
    base = load_settings("dev", project_copy)
    staging = project_copy / "configs" / "staging.yaml"
    doc = yaml.safe_load(staging.read_text())
    doc["train"] = {"model": {"max_iter": 7}}
    staging.write_text(yaml.safe_dump(doc))
    settings = load_settings("staging", project_copy)
    assert settings.train.model.max_iter == 7
    assert settings.train.model.learning_rate == base.train.model.learning_rate


def test_typo_names_the_key_and_the_file(project_copy: Path) -> None:
    """A misspelt key is refused with its dotted name and the file it came from."""
    dev = project_copy / "configs" / "dev.yaml"
    dev.write_text(dev.read_text() + "\ntrain:\n  model:\n    lerning_rate: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_settings("dev", project_copy)
    assert "unknown key 'train.model.lerning_rate'" in str(err.value)
    assert str(dev) in str(err.value)


def test_bad_value_in_params_names_params_yaml(project_copy: Path) -> None:
    """A value of the wrong type is blamed on the file that set it."""
    params = project_copy / "params.yaml"
    params.write_text(params.read_text().replace("holdout_fraction: 0.2", "holdout_fraction: lots"))
    with pytest.raises(ConfigError, match=r"params\.yaml: key 'train\.holdout_fraction'"):
        load_settings("prod", project_copy)


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after loading: every step sees the same values."""
    settings = load_settings("dev", PROJECT_ROOT)
    with pytest.raises(ValueError, match="frozen"):
        settings.train.seed = 1  # type: ignore[misc]


def test_unknown_environment_and_missing_file(project_copy: Path) -> None:
    """An unknown environment or a missing overlay is a clear error, not a traceback."""
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        load_settings("qa", project_copy)
    (project_copy / "configs" / "prod.yaml").unlink()
    with pytest.raises(ConfigError, match=r"prod\.yaml: file not found"):
        load_settings("prod", project_copy)


def test_env_key_must_match_the_file(project_copy: Path) -> None:
    """configs/staging.yaml cannot claim to be prod."""
    staging = project_copy / "configs" / "staging.yaml"
    staging.write_text(staging.read_text().replace("env: staging", "env: prod"))
    with pytest.raises(ConfigError, match="key 'env' is 'prod'"):
        load_settings("staging", project_copy)


@pytest.mark.parametrize(
    ("configured", "expected", "origin"),
    [
        ("", "sqlite:///{root}/mlflow.db", "default"),
        ("sqlite:///store/team.db", "sqlite:///{root}/store/team.db", "params"),  # relative: inside the project
        ("https://mlflow.example.com", "https://mlflow.example.com", "params"),
    ],
)
def test_tracking_uri_is_resolved_once_at_load(project_copy: Path, configured: str, expected: str, origin: str) -> None:
    """MLFLOW_TRACKING_URI given to load_settings overrides the files; else tracking.uri (a relative SQLite path is
    the project's), else the project's SQLite file."""
    edit = yaml.safe_load((project_copy / "params.yaml").read_text())
    edit["tracking"]["uri"] = configured
    (project_copy / "params.yaml").write_text(yaml.safe_dump(edit))
    team = load_settings("prod", project_copy, environ={"MLFLOW_TRACKING_URI": "https://team.example.com"})
    assert (team.tracking_uri, team.tracking_uri_origin) == ("https://team.example.com", "environment")
    local = load_settings("prod", project_copy, environ={})
    root = project_copy.resolve().as_posix()
    assert (local.tracking_uri, local.tracking_uri_origin) == (expected.format(root=root), origin)


def test_a_path_in_an_overlay_points_at_the_environments_table(project_copy: Path) -> None:
    """Raw and output folders live in params.yaml's environments table (dvc.yaml reads it); an overlay key says so."""
    dev = project_copy / "configs" / "dev.yaml"
    dev.write_text(dev.read_text() + "\ndata:\n  raw_dir: data/other\n")
    with pytest.raises(
        ConfigError, match=r"key 'data\.raw_dir' is set per environment: use environments\.<env>\.raw_dir"
    ):
        load_settings("dev", project_copy)


def test_dvc_stages_come_from_the_same_table() -> None:
    """dvc.yaml repeats no path: its stages iterate over params.yaml's environments table."""
    pipeline = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())
    for stage in pipeline["stages"].values():
        assert stage["foreach"] == "${environments}"
        assert all("data/" not in str(dep) for dep in stage["do"]["deps"] if not dep.startswith("${item"))
