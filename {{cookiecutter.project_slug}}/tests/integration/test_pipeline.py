"""The whole pipeline on a tiny sample of the real data, in a temporary MLflow store, with its failure modes."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.cli import main
from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core import audit, gate, onnx_export
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.explain import Explainer
from {{ cookiecutter.__package_name }}.core.model import make_pipeline
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import read_features
from {{ cookiecutter.__package_name }}.pipeline import predict

from .conftest import PROJECT_ROOT, copy_project, edit_yaml

pytestmark = pytest.mark.integration
REQUIRED_TAGS = ("git_commit", "git_branch", "git_dirty", "data_md5", "params_hash", "lockfile_hash", "environment")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the real sample, a SQLite store under tmp, 3,000 rows and a quick model."""
    return copy_project(tmp_path_factory.mktemp("project"))


def cli(project: Path, *args: str) -> int:
    return main([*args, "--env", "dev", "--root", str(project)])


@pytest.fixture(scope="module")
def first_run(project: Path) -> tracking.Registry:
    """features -> train -> evaluate -> validate -> promote -> predict, as `make pipeline` runs them."""
    for step in ("features", "train", "evaluate", "validate", "promote", "predict"):
        assert cli(project, step) == 0, step
    return tracking.connect(load_settings("dev", project))


def test_pipeline_registers_a_validated_champion_with_lineage(first_run: tracking.Registry) -> None:
    """After one run the registry has @champion, tagged PASSED, with every lineage tag and the comparison figures;
    with no champion before it, it had to beat the baseline: the naive model's score unless one is configured. Its
    ONNX export was verified on the holdout: no prediction differs from scikit-learn's by more than 1e-6."""
    champion = first_run.version_by_alias(tracking.CHAMPION)
    assert champion is not None
    assert champion.tags[tracking.STATUS_TAG] == "PASSED"
    assert champion.tags[tracking.ONNX_TAG] == tracking.ONNX_VERIFIED
    assert float(champion.tags[tracking.ONNX_PARITY_TAG]) <= 1e-6
    for tag in REQUIRED_TAGS:
        assert champion.tags.get(tag), tag
    assert champion.tags["environment"] == "dev"
    assert "data/raw" in champion.tags["data_md5"] and "features.parquet" in champion.tags["data_md5"]
    assert champion.tags["promotion_decision"] == "promoted"
    configured = load_settings("dev", first_run.settings.root).promote.baseline is not None
    assert champion.tags["promotion_reference"].startswith("the configured" if configured else "the naive baseline")
    assert first_run.version_by_alias(tracking.CHALLENGER) is None


def test_predictions_name_the_model_that_made_them(project: Path, first_run: tracking.Registry) -> None:
    import pandas as pd

    settings = load_settings("dev", project)
    batch = pd.read_parquet(project / predict.default_batch(settings))
    out = pd.read_parquet(project / "data" / "dev" / "predictions.parquet")
    champion = first_run.version_by_alias(tracking.CHAMPION)
    assert len(out) == len(batch) and out[settings.data.id_column].tolist() == batch[settings.data.id_column].tolist()
    assert set(out["model_version"]) == {str(champion.version)} and set(out["model_alias"]) == {"champion"}
    assert {"model_name", "scored_at", "prediction"} <= set(out.columns)


def test_impossible_threshold_fails_the_gate_and_never_moves_the_champion(project: Path, first_run) -> None:
    """A new version trained under an impossible threshold is tagged FAILED, exits non-zero, and @champion stays."""
    before = first_run.version_by_alias(tracking.CHAMPION).version
    spec = task_spec(load_settings("dev", project).task)
    metric = spec.primary_metric
    impossible = 1.01 if spec.higher_is_better else 0.0
    edit_yaml(project / "params.yaml", lambda doc: doc["validate"]["thresholds"].update({metric: impossible}))
    try:
        assert cli(project, "train") == 0
        assert cli(project, "evaluate") == 0
        assert cli(project, "validate") == 1
        settings = load_settings("dev", project)
        registry = tracking.connect(settings)
        newest = registry.versions()[-1]
        assert newest.tags[tracking.STATUS_TAG] == "FAILED"
        assert registry.version_by_alias(tracking.CHAMPION).version == before
        assert registry.version_by_alias(tracking.CHALLENGER) is None
        assert cli(project, "promote") == 0
        assert registry.version_by_alias(tracking.CHAMPION).version == before
    finally:
        edit_yaml(project / "params.yaml", lambda doc: doc["validate"]["thresholds"].pop(metric))


def test_a_disparity_beyond_the_limit_fails_the_gate_naming_the_worst_group(project: Path, first_run, capsys) -> None:
    """With governance.disparity_limit 0, a new version's groups differ by more than the limit: the gate fails on
    fairness alone, names the worst group in its report and on the model card, and @champion stays."""
    before = first_run.version_by_alias(tracking.CHAMPION).version
    limit = load_settings("dev", project).governance.disparity_limit
    edit_yaml(project / "params.yaml", lambda doc: doc["governance"].update(disparity_limit=0.0))
    edit_yaml(project / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))  # quicker
    try:
        assert cli(project, "train") == 0
        assert cli(project, "evaluate") == 0
        capsys.readouterr()
        assert cli(project, "validate") == 1
        printed = capsys.readouterr().out
        registry = tracking.connect(load_settings("dev", project))
        newest = registry.versions()[-1]
        verdict = gate.Verdict.from_json(newest.tags["validation_report"])
        assert [check.name for check in verdict.checks if not check.passed] == ["fairness"]
        (fairness,) = [check for check in verdict.checks if check.name == "fairness"]
        assert "worst group " in fairness.detail and "(need <= 0.0)" in fairness.detail
        assert "[FAIL] fairness" in printed and fairness.detail in printed
        assert newest.tags[tracking.STATUS_TAG] == "FAILED"
        assert registry.version_by_alias(tracking.CHAMPION).version == before
        assert registry.version_by_alias(tracking.CHALLENGER) is None
        description = registry.client.get_model_version(registry.name, newest.version).description
        assert "model_card.html" in description and "Gate: FAILED" in description
        assert fairness.detail.split("worst group ")[1].split("=")[1].split(" ")[0] in description
    finally:
        edit_yaml(project / "params.yaml", lambda doc: doc["governance"].update(disparity_limit=limit))
        edit_yaml(project / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=True))


def test_missing_column_names_it_and_keeps_the_previous_output(project: Path, first_run, capsys) -> None:
    """Scoring a file without `distance` fails naming the column; the previous predictions are untouched."""
    import pandas as pd

    previous = (project / "data" / "dev" / "predictions.parquet").read_bytes()
    broken = project / "broken.parquet"
    pd.read_parquet(project / "data" / "dev" / "batch.parquet").drop(columns="distance").to_parquet(broken)
    assert cli(project, "predict", "--input", str(broken)) == 1
    assert "column 'distance': missing" in capsys.readouterr().out
    assert (project / "data" / "dev" / "predictions.parquet").read_bytes() == previous


def test_crash_mid_write_leaves_no_partial_output(project: Path, first_run, monkeypatch) -> None:
    """A failure after the first chunk was written leaves the previous file and no temporary file."""
    folder = project / "data" / "dev"
    previous = (folder / "predictions.parquet").read_bytes()
    base = load_settings("dev", project)
    settings = base.model_copy(update={"predict": base.predict.model_copy(update={"chunk_rows": 100})})
    calls = {"n": 0}

    real = task_spec(settings.task)

    class FailsOnTheThirdChunk:
        """The real task spec, except that scoring the third chunk runs out of memory."""

        def __getattr__(self, name: str):
            return getattr(real, name)

        def scores(self, model, frame):
            calls["n"] += 1
            if calls["n"] == 3:
                raise MemoryError("simulated crash on the third chunk")
            return real.scores(model, frame)

    monkeypatch.setattr(predict, "task_spec", lambda name: FailsOnTheThirdChunk())
    with pytest.raises(MemoryError):
        predict.run(settings, predict.default_batch(settings), Path("data/dev/predictions.parquet"))
    assert (folder / "predictions.parquet").read_bytes() == previous
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_rollback_swaps_champion_and_previous(project: Path, first_run: tracking.Registry, capsys) -> None:
    """With a previous champion recorded, rollback restores it and keeps the replaced one addressable; its reason,
    who and when are on the restored version and in the audit trail that status prints."""
    registry = tracking.connect(load_settings("dev", project))
    current = registry.version_by_alias(tracking.CHAMPION).version
    assert cli(project, "train") == 0  # a version of its own to roll back to, whatever ran before
    other = registry.versions()[-1].version
    registry.set_alias(tracking.PREVIOUS, other)
    assert cli(project, "rollback", "--reason", "v-current mis-scores JFK evenings") == 0
    assert registry.version_by_alias(tracking.CHAMPION).version == other
    assert registry.version_by_alias(tracking.PREVIOUS).version == current
    (entry,) = [e for e in audit.entries(other, registry.version(other).tags) if e.action == "rollback"]
    assert entry.reason == "v-current mis-scores JFK evenings" and entry.user and entry.at.endswith("+00:00")
    assert entry.detail == f"@champion v{current} -> v{other}"
    capsys.readouterr()
    assert cli(project, "status") == 0
    assert f"rollback v{other}" in " ".join(capsys.readouterr().out.split())
    assert cli(project, "rollback") == 0
    assert registry.version_by_alias(tracking.CHAMPION).version == current


def test_dev_cannot_write_prod_paths(project: Path, first_run, capsys) -> None:
    """Writing predictions under data/prod from dev is refused by the prod-data guard, in one line."""
    assert cli(project, "predict", "--output", "data/prod/predictions.parquet") == 1
    assert "error: prod-data guard" in capsys.readouterr().err
    assert not (project / "data" / "prod").exists()


def test_batch_inference_uses_the_verified_onnx_flavour_and_predicts_what_scikit_learn_does(
    project: Path, first_run: tracking.Registry, caplog
) -> None:
    """predict loads the champion's verified ONNX export, and every prediction it writes is within 1e-6 of the
    champion's scikit-learn model on the same rows."""
    import pandas as pd

    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.__package_name }}.io.tracking"):
        assert cli(project, "predict") == 0
    assert "as @champion (onnx flavour)" in caplog.text
    settings = load_settings("dev", project)
    champion = first_run.load_alias(tracking.CHAMPION)
    assert champion.flavour == "sklearn"  # unless asked for ONNX
    batch = pd.read_parquet(project / predict.default_batch(settings))
    out = pd.read_parquet(project / "data" / "dev" / "predictions.parquet")
    expected = task_spec(settings.task).scores(champion.model, batch[list(champion.inputs)])
    assert out["prediction"].to_numpy() == pytest.approx(expected, abs=1e-6)


def test_predict_explain_adds_each_rows_largest_contributions_on_the_onnx_flavour(
    project: Path, first_run: tracking.Registry, caplog, capsys
) -> None:
    """predict --explain on a champion scored by its verified ONNX export: each row also gets its explain_top_k
    largest SHAP contributions, those of the version's scikit-learn trees, largest magnitude first; a file of more
    rows than governance.explain_max_rows is refused before anything is written."""
    import pandas as pd

    settings = load_settings("dev", project)
    target = project / "data" / "dev" / "explained.parquet"
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.__package_name }}.io.tracking"):
        assert cli(project, "predict", "--explain", "--output", str(target)) == 0
    assert "as @champion (onnx flavour)" in caplog.text
    batch, out = pd.read_parquet(project / predict.default_batch(settings)), pd.read_parquet(target)
    champion = first_run.load_alias(tracking.CHAMPION)  # the scikit-learn flavour
    expected = Explainer(champion.model).top(batch[list(champion.inputs)], settings.governance.explain_top_k)
    features, contributions = expected.filter(like="_feature").columns, expected.filter(like="_contribution").columns
    assert len(features) == settings.governance.explain_top_k and len(out) == len(batch)
    assert (out[features].to_numpy() == expected[features].to_numpy()).all()
    assert out[contributions].to_numpy() == pytest.approx(expected[contributions].to_numpy(), abs=1e-9)
    magnitudes = out[contributions].abs().to_numpy()
    assert (magnitudes[:, :-1] >= magnitudes[:, 1:]).all() and magnitudes[:, 0].min() > 0

    limit = settings.governance.explain_max_rows
    edit_yaml(project / "params.yaml", lambda doc: doc["governance"].update(explain_max_rows=len(batch) - 1))
    try:
        capsys.readouterr()
        assert cli(project, "predict", "--explain", "--output", str(project / "data" / "dev" / "refused.parquet")) == 1
        assert f"--explain explains at most {len(batch) - 1:,}" in capsys.readouterr().out
        assert not (project / "data" / "dev" / "refused.parquet").exists()
    finally:
        edit_yaml(project / "params.yaml", lambda doc: doc["governance"].update(explain_max_rows=limit))


def test_an_export_that_fails_conversion_or_parity_says_why_and_scikit_learn_is_loaded(
    project: Path, first_run: tracking.Registry, monkeypatch
) -> None:
    """A model that cannot be converted exactly (an empty string as a category) is tagged ``onnx: failed: ...`` at
    registration; an export that predicts otherwise (another model's, standing for a wrong converter) is tagged
    failed with its largest difference by validation's check. Either way, a loader that prefers ONNX gets the
    scikit-learn flavour."""
    import pandas as pd

    settings = load_settings("dev", project)
    spec = task_spec(settings.task)
    train, holdout = holdout_split(settings, read_features(settings))
    inputs = list(first_run.input_kinds(first_run.version_by_alias(tracking.CHAMPION).version))
    categorical = [c for c in inputs if not pd.api.types.is_numeric_dtype(train[c])]
    numeric = [c for c in inputs if c not in categorical]

    def fit(frame, seed: int):
        model = make_pipeline(spec, numeric, categorical, {"max_iter": 10}, seed)
        return model.fit(frame[categorical + numeric], frame[settings.data.target])

    def register(model) -> tracking.Version:
        example = train[categorical + numeric].head(5)
        output = getattr(model, spec.pyfunc_predict_fn)(example)
        return first_run.log_trained_model(
            model, example, output, predict_fn=spec.pyfunc_predict_fn, tags={}, params={}, metrics={}
        )

    blank = train.copy()
    blank.loc[blank.index[::7], categorical[0]] = ""
    unconvertible = register(fit(blank, seed=0))
    assert unconvertible.tags[tracking.ONNX_TAG].startswith("failed:")
    assert "empty string" in unconvertible.tags[tracking.ONNX_TAG]
    assert first_run.verify_onnx(unconvertible, holdout) == {tracking.ONNX_TAG: unconvertible.tags[tracking.ONNX_TAG]}

    other, real_export = fit(train.tail(len(train) // 2), seed=1), onnx_export.export
    monkeypatch.setattr(onnx_export, "export", lambda model: real_export(other))
    wrong = register(fit(train, seed=0))
    monkeypatch.undo()
    tags = first_run.verify_onnx(wrong, holdout)
    assert tags[tracking.ONNX_TAG].startswith("failed: max |difference|")
    assert float(tags[tracking.ONNX_PARITY_TAG]) > onnx_export.PARITY_TOLERANCE

    for version in (unconvertible, wrong):
        assert first_run.load(first_run.version(version.version), prefer_onnx=True).flavour == "sklearn"


def test_your_own_csv_through_config_only(tmp_path: Path) -> None:
    """A CSV with its own column names runs the whole pipeline after editing only params.yaml."""
    import pandas as pd

    root = tmp_path
    for name in ("params.yaml", "uv.lock"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    flights = pd.read_parquet(PROJECT_ROOT / "data" / "raw" / "flights.parquet").dropna(subset=["arr_delay"]).tail(3000)
    own = pd.DataFrame(
        {
            "when": pd.to_datetime(flights["time_hour"]).dt.tz_localize(None),
            "airline": flights["carrier"],
            "from_airport": flights["origin"],
            "miles": flights["distance"],
            "hour_of_day": flights["hour"],
            "late": (flights["arr_delay"] > 30).astype(int),
            "minutes_late": flights["arr_delay"],
        }
    )
    (root / "data" / "raw").mkdir(parents=True)
    own.to_csv(root / "data" / "raw" / "my_flights.csv", index=False)
    task = load_settings("dev", PROJECT_ROOT).task

    def point_at_csv(doc: dict) -> None:
        doc["data"].update(
            source="csv",
            csv_path="data/raw/my_flights.csv",
            time_column="when",
            id_column="row_id",
            target="late" if task == "classification" else "minutes_late",
        )
        doc["data"]["max_rows"] = None
        doc["tracking"]["uri"] = f"sqlite:///{root / 'mlflow.db'}"
        doc["train"]["model"].update(max_iter=40)
        doc["validate"]["slice_columns"] = ["airline"]
        doc["governance"]["group_columns"] = ["airline"]
        doc["validate"]["slice_floor"] = 0.4 if task == "classification" else 200.0
        doc["validate"]["thresholds"] = {"roc_auc": 0.5} if task == "classification" else {"mae": 200.0}

    edit_yaml(root / "params.yaml", point_at_csv)
    edit_yaml(root / "configs" / "dev.yaml", lambda doc: doc["train"]["tuning"].update(enabled=False))
    for step in ("features", "train", "evaluate", "validate", "promote", "predict"):
        assert cli(root, step) == 0, step
    out = pd.read_parquet(root / "data" / "dev" / "predictions.parquet")
    assert len(out) > 0 and "row_id" in out.columns
    registry = tracking.connect(load_settings("dev", root))
    champion = registry.version_by_alias(tracking.CHAMPION)
    assert champion.tags[tracking.STATUS_TAG] == "PASSED"
    assert champion.tags[tracking.ONNX_TAG] == tracking.ONNX_VERIFIED  # other columns, the same exact export
    assert "data/raw/my_flights.csv" in champion.tags["data_md5"]
