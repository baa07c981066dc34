"""The Spark engine end to end on local[2]: the features and the scores equal the pandas engine's (skips without
pyspark or Java: a pandas bake)."""

from __future__ import annotations

import importlib.util
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import spark, tracking
from {{ cookiecutter.__package_name }}.io.data import feature_table, read_features
from {{ cookiecutter.__package_name }}.pipeline import features

from .conftest import copy_project, edit_yaml

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
        reason="pyspark or Java missing (a pandas bake: docs/spark.md)",
    ),
]
PROVENANCE = ["model_name", "model_version", "model_alias", "scored_at"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The integration project (3,000 rows, a quick model) with engine: spark on local[2]."""
    root = copy_project(tmp_path_factory.mktemp("spark"))

    def on_spark(doc: dict) -> None:
        doc["engine"] = "spark"
        doc["spark"] = {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 2}}

    edit_yaml(root / "params.yaml", on_spark)
    for step in ("features", "train", "evaluate", "validate", "promote"):
        assert main([step, "--env", "dev", "--root", str(root)]) == 0, step
    return root


def test_spark_features_equal_the_pandas_features_on_the_sample(project: Path) -> None:
    """The whole shipped sample: Spark's feature table is build_features' exactly, and so is what the features step
    wrote on Spark (its window and 3,000 rows) against the same step on pandas, as written and read back."""
    settings = load_settings("dev", project)
    pd.testing.assert_frame_equal(spark.feature_table(settings), feature_table(settings), check_exact=True)
    on_pandas, _ = features.run(settings.model_copy(update={"engine": "pandas"}))
    written = pd.read_parquet(io.BytesIO(on_pandas.to_parquet(index=False)))
    assert len(written) == 3000
    pd.testing.assert_frame_equal(read_features(settings), written, check_exact=True)


def test_spark_scores_equal_the_pandas_scores(project: Path) -> None:
    """predict on Spark (spark_udf on models:/<name>@champion) writes partitioned parquet with the same rows and
    provenance as the pandas engine; its scores equal scikit-learn's and the pandas engine's output (the verified ONNX
    export, an exact one) to 1e-9. A batch the model cannot score leaves the output unchanged."""
    root, settings = str(project), load_settings("dev", project)
    on_spark, on_pandas = project / "data" / "dev" / "predictions.parquet", project / "pandas-predictions.parquet"
    assert main(["predict", "--env", "dev", "--root", root]) == 0
    assert main(["predict", "--env", "dev", "--root", root, "--engine", "pandas", "--output", str(on_pandas)]) == 0
    assert on_spark.is_dir() and any(on_spark.glob(f"{spark.PARTITION_COLUMN}=*/*.parquet"))
    key = settings.data.id_column
    got = pd.read_parquet(on_spark).sort_values(key).reset_index(drop=True)
    want = pd.read_parquet(on_pandas).sort_values(key).reset_index(drop=True)
    assert list(got[key]) == list(want[key])
    assert list(got[settings.data.time_column]) == list(want[settings.data.time_column])
    assert (got[PROVENANCE[:3]].astype(str).values == want[PROVENANCE[:3]].astype(str).values).all()
    assert got["scored_at"].notna().all()
    registry = tracking.connect(settings)
    champion = registry.load_alias(tracking.CHAMPION)  # the scikit-learn flavour: what spark_udf loads
    batch = pd.read_parquet(project / "data" / "dev" / "batch.parquet").sort_values(key).reset_index(drop=True)
    sklearn_scores = task_spec(settings.task).scores(champion.model, batch[list(champion.inputs)])
    assert abs(got["prediction"].to_numpy() - sklearn_scores).max() <= 1e-9
    assert registry.load_alias(tracking.CHAMPION, prefer_onnx=True).flavour == "onnx"  # what the pandas engine used
    assert abs(got["prediction"] - want["prediction"]).max() <= 1e-9

    before = sorted(p.relative_to(on_spark) for p in on_spark.rglob("*"))
    broken = project / "broken.parquet"
    batch.drop(columns=["distance"]).to_parquet(broken, index=False)
    assert main(["predict", "--env", "dev", "--root", root, "--input", str(broken)]) == 1
    assert sorted(p.relative_to(on_spark) for p in on_spark.rglob("*")) == before
