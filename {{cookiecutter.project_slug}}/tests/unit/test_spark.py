"""The Spark engine's configuration, publication and features (the Spark ones skip without pyspark or Java)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.__package_name }}.config import ConfigError, load_settings
from {{ cookiecutter.__package_name }}.core import features as F
from {{ cookiecutter.__package_name }}.io import spark
from {{ cookiecutter.__package_name }}.io.data import DataError, feature_table

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPARK = {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 2}}  # as the integration tests: one session
HAS_PYSPARK = importlib.util.find_spec("pyspark") is not None
needs_spark = pytest.mark.skipif(
    not HAS_PYSPARK or shutil.which("java") is None, reason="pyspark or Java missing (a pandas bake: docs/spark.md)"
)


def _edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_spark_conf_refuses_credentials(project_copy: Path) -> None:
    """A secret in spark.conf is refused with the key named: config files are committed."""
    _edit(project_copy / "params.yaml", lambda d: d["spark"]["conf"].update({"spark.hadoop.fs.s3a.secret.key": "x"}))
    with pytest.raises(ConfigError, match=r"spark\.hadoop\.fs\.s3a\.secret\.key.*committed"):
        load_settings("dev", project_copy)


def test_environment_overlay_sets_the_master(project_copy: Path) -> None:
    """configs/<env>.yaml may point one environment at a cluster; the others keep params.yaml's master."""
    _edit(project_copy / "configs" / "prod.yaml", lambda d: d.update(spark={"master": "spark://spark-master:7077"}))
    assert load_settings("prod", project_copy).spark.master == "spark://spark-master:7077"
    shipped = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())["spark"]["master"]
    assert load_settings("dev", project_copy).spark.master == shipped


def test_atomic_directory_publishes_only_a_finished_output(tmp_path: Path) -> None:
    """The folder replaces the previous output (a file or a folder) only when the block succeeds; a failure leaves
    the previous output as it was and no temporary behind."""
    target = tmp_path / "predictions.parquet"
    target.write_text("the pandas engine's file")
    with spark.atomic_directory(target) as tmp:
        tmp.mkdir()
        (tmp / "part-0.parquet").write_text("new")
    assert (target / "part-0.parquet").read_text() == "new"

    def failing_job() -> None:
        with spark.atomic_directory(target) as tmp:
            tmp.mkdir()
            (tmp / "part-0.parquet").write_text("half")
            raise RuntimeError("executor lost")

    with pytest.raises(RuntimeError, match="executor lost"):
        failing_job()
    assert (target / "part-0.parquet").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.parquet"]


@pytest.mark.skipif(HAS_PYSPARK, reason="pyspark is installed")
def test_without_pyspark_the_spark_engine_says_how_to_get_it(project_copy: Path) -> None:
    """A pandas bake asked for engine: spark stops with one line naming the extra, not an ImportError."""
    settings = load_settings("dev", project_copy).model_copy(update={"engine": "spark"})
    with pytest.raises(DataError, match=r"needs pyspark.*uv sync --extra spark"):
        spark.session(settings)
    with pytest.raises(DataError, match=r"needs pyspark"):  # the features step: before any Spark import
        spark.feature_table(settings)


@pytest.fixture
def small_raw(project_copy: Path) -> Path:
    """The shipped sample's first 2,000 flights (and all its weather and planes) in a project on local[2]."""
    raw = project_copy / "data" / "raw"
    raw.mkdir(parents=True)
    flights = pd.read_parquet(PROJECT_ROOT / "data" / "raw" / "flights.parquet").head(2000)
    flights.to_parquet(raw / "flights.parquet", index=False)
    for name in ("weather", "planes"):
        shutil.copy(PROJECT_ROOT / "data" / "raw" / f"{name}.parquet", raw / f"{name}.parquet")
    _edit(project_copy / "params.yaml", lambda d: d.update(spark=SPARK))
    return project_copy


@needs_spark
def test_spark_features_equal_the_pandas_features(small_raw: Path) -> None:
    """The Spark engine's feature table is build_features' table, value for value, type for type and in order."""
    settings = load_settings("dev", small_raw)
    expected = feature_table(settings)
    assert len(expected) > 1500
    pd.testing.assert_frame_equal(spark.feature_table(settings), expected, check_exact=True)


@needs_spark
def test_spark_features_in_the_cycle_layout(small_raw: Path) -> None:
    """Periods' files with outcomes arriving in labels/ (the production cycle's layout): the unlabelled rows too
    (labelled_only false) equal the pandas engine's, so flights whose labels have not arrived get a missing label."""
    raw = small_raw / "data" / "raw"
    schedule, outcomes = F.split_outcomes(pd.read_parquet(raw / "flights.parquet"))
    (raw / "flights.parquet").unlink()
    for folder in ("flights", "labels", "weather", "planes"):
        (raw / folder).mkdir()
    schedule.to_parquet(raw / "flights" / "2013-01.parquet", index=False)
    outcomes.head(1200).to_parquet(raw / "labels" / "2013-01.parquet", index=False)  # the rest not labelled yet
    for name in ("weather", "planes"):
        (raw / f"{name}.parquet").rename(raw / name / "2013.parquet")
    settings = load_settings("dev", small_raw)
    expected = feature_table(settings, labelled_only=False)
    assert expected[settings.data.target].isna().sum() > 500
    pd.testing.assert_frame_equal(spark.feature_table(settings, labelled_only=False), expected, check_exact=True)
