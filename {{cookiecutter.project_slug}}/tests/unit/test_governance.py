"""Governance's pure parts: SHAP values of the trees, fairness and its verdict, the model card, the audit trail."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core import audit, card, explain, fairness, gate
from {{ cookiecutter.__package_name }}.core.model import make_pipeline
from {{ cookiecutter.__package_name }}.core.task import task_spec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings("dev", PROJECT_ROOT, environ={})
QUICK = {"learning_rate": 0.2, "max_iter": 25, "max_leaf_nodes": 15, "min_samples_leaf": 5, "l2_regularization": 0.0}


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread():
    """scikit-learn's trees on one OpenMP thread here: these small fits gain nothing from a second one, and on a busy
    machine waiting for it costs seconds."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def flights_like(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A route with 60 values (more than shap's 31-category limit) and a carrier that both move the label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "route": rng.choice([f"R{i:02d}" for i in range(60)], rows),
            "carrier": rng.choice(list("ABCDEF"), rows),
            "hour": rng.integers(5, 23, rows).astype(float),
            "temp": rng.normal(50, 15, rows),
            "wind": rng.gamma(2, 5, rows),
            "distance": rng.uniform(100, 2500, rows),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "temp"] = np.nan
    signal = frame["route"].str[1:].astype(int) % 7 / 3 + (frame["carrier"] == "C") + frame["hour"] / 10
    signal += (frame["wind"] > 15) * (frame["temp"] < 40) + frame["distance"] / 2500
    frame["late"] = (signal + rng.normal(0, 1, rows) > 2.5).astype(int)
    frame["minutes"] = signal * 20 + rng.normal(0, 10, rows)
    return frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_shap_values_add_up_to_the_prediction_with_categorical_splits(task: str) -> None:
    """For every row, expected value + the contributions = the model's raw prediction, on a model that splits a
    60-value categorical natively, where shap.TreeExplainer's own values do not add up (why core/explain.py exists)."""
    import shap  # imported in the two tests that call it: it takes seconds

    spec = task_spec(task)
    frame = flights_like()
    model = make_pipeline(spec, ["hour", "temp"], ["route", "carrier"], QUICK, seed=0)
    model.fit(frame[["route", "carrier", "hour", "temp"]], frame["late" if task == "classification" else "minutes"])
    explainer = explain.Explainer(model)
    rows = frame[["route", "carrier", "hour", "temp"]].head(300)
    values = explainer.values(rows)
    matrix = np.asarray(model.named_steps["preprocess"].transform(rows), dtype=np.float64)
    raw = model.named_steps["model"]._raw_predict(matrix)[:, 0]
    assert any(tree[0].nodes["is_categorical"].any() for tree in model.named_steps["model"]._predictors)
    assert values.shape == (300, 4) and explainer.features == ("route", "carrier", "hour", "temp")
    np.testing.assert_allclose(values.sum(axis=1) + explainer.expected_value, raw, atol=1e-9)
    assert np.abs(values[:, 0]).mean() > 0.01  # the route carries signal and gets its share
    theirs = shap.TreeExplainer(model.named_steps["model"])
    missed = np.abs(theirs.shap_values(matrix).sum(axis=1) + np.ravel(theirs.expected_value)[0] - raw)
    assert missed.max() > 0.5  # if shap learns these splits, call shap.TreeExplainer instead (docs/governance.md)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_shap_values_are_shaps_own_on_a_model_without_categorical_splits(task: str) -> None:
    """Where shap.TreeExplainer reads the trees right (numeric splits only), the values and the expected value are
    shap's own."""
    import shap

    frame = flights_like()
    numeric = ["hour", "temp", "wind", "distance"]
    model = make_pipeline(task_spec(task), numeric, [], QUICK, seed=0)
    model.fit(frame[numeric], frame["late" if task == "classification" else "minutes"])
    rows = frame[numeric].head(200)
    theirs, ours = shap.TreeExplainer(model.named_steps["model"]), explain.Explainer(model)
    np.testing.assert_allclose(ours.values(rows), theirs.shap_values(rows.to_numpy()), atol=1e-9)
    assert ours.expected_value == pytest.approx(np.ravel(theirs.expected_value)[0], abs=1e-9)


def test_top_contributions_are_the_largest_by_magnitude() -> None:
    """top(k) names the k inputs of largest |contribution|, in order; records(k) gives the same as JSON-ready lists."""
    frame = flights_like()
    model = make_pipeline(task_spec("classification"), ["hour", "temp"], ["route", "carrier"], QUICK, seed=0)
    inputs = frame[["route", "carrier", "hour", "temp"]]
    model.fit(inputs, frame["late"])
    explainer = explain.Explainer(model)
    top, values = explainer.top(inputs.head(50), 2), explainer.values(inputs.head(50))
    assert list(top.columns) == [
        "explain_1_feature", "explain_1_contribution", "explain_2_feature", "explain_2_contribution"
    ]  # fmt: skip
    for (_, row), contributions in zip(top.iterrows(), values, strict=True):
        largest = np.argsort(-np.abs(contributions))[:2]
        assert [row["explain_1_feature"], row["explain_2_feature"]] == [explainer.features[i] for i in largest]
        assert row["explain_1_contribution"] == pytest.approx(contributions[largest[0]])
    answer, three = explainer.records(inputs.head(3), 3), explainer.top(inputs.head(3), 3)
    features, contributions = three.filter(like="_feature"), three.filter(like="_contribution")
    assert [[item["feature"] for item in row] for row in answer] == features.to_numpy().tolist()
    assert [[item["contribution"] for item in row] for row in answer] == contributions.to_numpy().tolist()


def rules(**changes) -> object:
    """The shipped governance settings judging a classifier's selection rates per region."""
    fixed = {"group_columns": ("region",), "min_group_rows": 50, "disparity_metric": "selection_rate"}
    return SETTINGS.governance.model_copy(update={**fixed, "selection_threshold": 0.5, **changes})


def scored_groups() -> tuple[pd.DataFrame, np.ndarray]:
    """Three regions of 200 rows the model selects at 10 %, 15 % and 60 %, and one of 20 rows it always selects."""
    parts, scores = [], []
    for region, rows, selected in (("north", 200, 0.10), ("south", 200, 0.15), ("east", 200, 0.60), ("tiny", 20, 1)):
        parts.append(pd.DataFrame({"region": region, "y": np.arange(rows) % 2}))
        scores.append(np.where(np.arange(rows) < selected * rows, 0.9, 0.1))
    return pd.concat(parts, ignore_index=True), np.concatenate(scores)


def test_a_disparity_beyond_the_limit_fails_and_names_the_worst_group() -> None:
    """Selection rates 0.10 / 0.15 / 0.60 differ by 0.50: beyond a 0.3 limit the verdict fails naming east (the
    furthest from the overall rate); the 20-row group is reported but not judged."""
    frame, scores = scored_groups()
    spec = task_spec("classification")
    report = fairness.report(spec, frame, "y", scores, rules(disparity_limit=0.3, selection_threshold=0.5))
    (column,) = report.columns
    assert column.difference == pytest.approx(0.50) and column.worst == "east" and column.best == "north"
    assert "tiny" not in column.judged and {g["group"] for g in column.groups} == {"north", "south", "east", "tiny"}
    passed, detail = fairness.verdict(report, rules(disparity_limit=0.3))
    assert not passed and "worst group region=east (0.6000)" in detail and "differs by 0.5000" in detail
    assert fairness.verdict(report, rules(disparity_limit=0.5))[0]
    restored = fairness.FairnessReport.from_dict(json.loads(json.dumps(report.as_dict())))
    assert fairness.verdict(restored, rules(disparity_limit=0.3)) == (passed, detail)


def test_for_an_error_metric_the_worst_group_is_the_one_with_the_largest_error() -> None:
    """Regression judged by mae: the group the model misses by most is the worst, whatever the overall error."""
    frame = pd.DataFrame({"region": ["north"] * 60 + ["south"] * 60, "y": [10.0] * 120})
    scores = np.array([12.0] * 60 + [40.0] * 60)  # 2 minutes off in the north, 30 in the south
    report = fairness.report(task_spec("regression"), frame, "y", scores, rules(disparity_metric="mae"))
    (column,) = report.columns
    assert column.difference == pytest.approx(28.0) and (column.worst, column.best) == ("south", "north")
    passed, detail = fairness.verdict(report, rules(disparity_metric="mae", disparity_limit=20.0))
    assert not passed and "worst group region=south (30.0000)" in detail


def test_the_fairness_check_fails_on_missing_columns_and_on_reports_of_other_settings() -> None:
    """A group column the data lacks fails the check naming it; so does a report evaluated for another metric; no
    group column configured passes with nothing to judge."""
    frame, scores = scored_groups()
    spec = task_spec("classification")
    missing = fairness.report(spec, frame, "y", scores, rules(group_columns=("region", "age_band")))
    passed, detail = fairness.verdict(missing, rules(group_columns=("region", "age_band")))
    assert not passed and "group column age_band not in the data" in detail
    other = fairness.report(spec, frame, "y", scores, rules(disparity_metric="roc_auc"))
    assert not fairness.verdict(other, rules())[0]
    assert fairness.verdict(None, rules(group_columns=()))[0]
    assert not fairness.verdict(None, rules())[0]


def test_the_gate_fails_on_fairness_alone_and_leaves_the_other_checks_alone() -> None:
    """With every other rule met, a disparity beyond the limit is the gate's one failed check."""
    frame, scores = scored_groups()
    spec = task_spec(SETTINGS.task)
    report = fairness.report(task_spec("classification"), frame, "y", scores, rules(disparity_limit=0.0))
    limits = SETTINGS.validate_
    holdout = {m: (v * 0.5 if m in {"mae", "rmse"} else min(1.0, v + 0.05)) for m, v in limits.thresholds.items()}
    holdout[f"worst_slice_{spec.primary_metric}"] = (
        limits.slice_floor * 0.5 if not spec.higher_is_better else min(1.0, limits.slice_floor + 0.05)
    )
    tags = dict.fromkeys(limits.required_tags, "x")
    verdict = gate.judge(
        spec, limits, has_signature=True, tags=tags, holdout=holdout, governance=rules(disparity_limit=0.0),
        fairness=report,
    )  # fmt: skip
    failed = [check for check in verdict.checks if not check.passed]
    assert [check.name for check in failed] == ["fairness"] and "worst group region=east" in failed[0].detail


def test_reasons_are_one_line_not_blank_and_bounded() -> None:
    """A reason is recorded on one line; a blank or an essay is refused with a message saying why."""
    assert audit.reason("  rollback:\n v5 mis-scores JFK  ") == "rollback: v5 mis-scores JFK"
    with pytest.raises(argparse.ArgumentTypeError, match="in words"):
        audit.reason(" \n ")
    with pytest.raises(argparse.ArgumentTypeError, match="keep it under 500"):
        audit.reason("x" * 501)


def test_the_audit_trail_round_trips_through_tags_newest_first() -> None:
    """Entries written as tags read back equal, across versions, newest first; other tags are ignored."""
    first = audit.entry(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "promote", "2", "ana <a@x>", "better", "v1 -> v2")
    second = audit.entry(datetime(2026, 1, 3, tzinfo=UTC), "rollback", "1", "bo", "JFK scores", "@champion v2 -> v1")
    v2 = {"git_commit": "abc", **dict([first.tag()])}
    v1 = dict([second.tag()])
    assert audit.trail([("1", v1), ("2", v2)]) == [second, first]
    assert audit.trail([("1", v1), ("2", v2)], limit=1) == [second]
    assert "rollback v1" in " ".join(audit.line(second).split()) and "reason: JFK scores" in audit.line(second)


def test_only_approving_reviews_of_the_environment_are_approvals() -> None:
    """From GitHub's review log of a run: approved reviews of production count; rejected ones and other
    environments' approvals do not."""
    reviews = [
        {"state": "approved", "comment": "ship it", "user": {"login": "ana"}, "environments": [{"name": "production"}]},
        {"state": "rejected", "comment": "", "user": {"login": "bo"}, "environments": [{"name": "production"}]},
        {"state": "approved", "comment": "", "user": {"login": "cy"}, "environments": [{"name": "staging"}]},
    ]
    found = audit.approvals_of(reviews, "production", "https://github.com/o/r/actions/runs/9")
    assert [(a.user, a.comment, a.source) for a in found] == [("ana", "ship it", "github")]


def facts(**changes) -> card.Facts:
    """The facts of a version as the registry would hand them over."""
    frame, scores = scored_groups()
    report = fairness.report(task_spec("classification"), frame, "y", scores, rules(disparity_limit=0.3))
    approval = audit.entry(datetime(2026, 2, 1, tzinfo=UTC), "approval", "7", "ana", "ship it", "production approved")
    verdict = gate.Verdict((gate.Check("signature", True, "input signature logged"),))
    base = dict(
        name="m_prod", version="7", environment="prod", task="classification", label="1 when late",
        primary_metric="roc_auc", run_id="r" * 32, created="2026-01-31T00:00:00+00:00",
        aliases=("champion",),
        tags={"model_validation_status": "PASSED", "git_commit": "c" * 40, "data_md5": '{"data/full": "d41d8"}',
         "split": "time: the latest 20% of rows", "approved_by": "ana", "approval_at": "2026-02-01T00:00:00+00:00"},
        params={"model.learning_rate": "0.08", "inputs": "route,carrier", "train_rows": "1000"},
        metrics={"roc_auc": 0.71, "holdout_rows": 600.0}, thresholds={"roc_auc": 0.62},
        slices=[{"column": "origin", "value": "JFK", "rows": 200, "roc_auc": 0.66}],
        evaluation={
            "window": {"train": {"rows": 1000, "from": "2013-01-01", "through": "2013-09-30"},
                       "holdout": {"rows": 600, "from": "2013-10-01", "through": "2013-12-31"}},
            "fairness": report.as_dict(),
            "explanations": {"rows": 500, "output": "log-odds", "expected_value": -1.4,
                             "importance": [{"feature": "dep_hour", "mean_abs_shap": 0.51}]},
        },
        verdict=verdict, audit=[approval], intended_use="Plan buffers.", limitations="NYC 2013 only.",
        generated="2026-02-02T00:00:00+00:00",
    )  # fmt: skip
    return card.Facts(**{**base, **changes})


def test_the_card_fills_every_section_from_the_recorded_figures() -> None:
    """Each section of the card carries the version's own figures: use, data versions and window, metrics and
    slices, fairness with the worst group, explanations, lineage, the gate, the approval and the audit trail."""
    title, sections = card.build(facts())
    text = card.to_markdown(title, sections, "now", card.summary(facts()))
    assert [s.title for s in sections] == [
        "Model", "Intended use", "Data and its versions", "Metrics and slices", "Fairness across groups",
        "Explanations", "Lineage", "Validation gate and promotion", "Approval and audit trail",
    ]  # fmt: skip
    for figure in ("Plan buffers.", "NYC 2013 only.", "d41d8", "2013-09-30", "0.7100", "| JFK | 200 | 0.6600 |",
                   "worst group east", "dep_hour | 0.5100", "c" * 40, "input signature logged", "ship it",
                   "approved by | ana"):  # fmt: skip
        assert figure in text, figure
    page = card.to_html(title, sections, "now", facts())
    assert page.startswith("<!doctype html>") and "worst group east" in page and "gate PASSED" in page
    summary = card.summary(facts())
    assert "Largest disparity: selection_rate 0.5000 across region (limit 0.3; worst group east)" in summary


def test_a_card_without_governance_records_says_so() -> None:
    """A version evaluated before governance existed gets a card that says what is missing, not empty tables."""
    title, sections = card.build(facts(evaluation=None, audit=[], verdict=None, tags={"git_commit": "c"}))
    text = card.to_markdown(title, sections, "now")
    assert "Not evaluated for this version." in text and "No SHAP summary" in text and "No approval recorded" in text


def test_a_disparity_metric_of_the_other_task_is_refused_naming_the_key(project_copy: Path) -> None:
    """mae cannot judge a classifier's groups (nor roc_auc a regressor's): the message names the key and the file."""
    from {{ cookiecutter.__package_name }}.config import ConfigError

    params = project_copy / "params.yaml"
    other = "roc_auc" if SETTINGS.task == "regression" else "mae"
    shipped = f"disparity_metric: {SETTINGS.governance.disparity_metric}"
    params.write_text(params.read_text().replace(shipped, f"disparity_metric: {other}"))
    expected = rf"params\.yaml: key 'governance': disparity_metric '{other}' does not apply"
    with pytest.raises(ConfigError, match=expected):
        load_settings("dev", project_copy)
