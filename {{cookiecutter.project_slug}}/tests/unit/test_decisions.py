"""The pure decisions: the gate's verdict, the promotion decision, monitoring's verdict and the retraining policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core import gate, promotion
from {{ cookiecutter.__package_name }}.core.policy import judge_window, retraining_due
from {{ cookiecutter.__package_name }}.core.task import ERROR_METRICS, task_spec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings("dev", PROJECT_ROOT, environ={})
SPEC = task_spec(SETTINGS.task)
METRIC = SPEC.primary_metric
TAGS = dict.fromkeys(SETTINGS.validate_.required_tags, "x")


def good_holdout() -> dict[str, float]:
    """Holdout figures that clear every configured threshold and the slice floor."""
    rules = SETTINGS.validate_
    figures = {m: (v * 0.5 if m in ERROR_METRICS else min(1.0, v + 0.05)) for m, v in rules.thresholds.items()}
    worst = rules.slice_floor * 0.5 if not SPEC.higher_is_better else min(1.0, rules.slice_floor + 0.05)
    return {**figures, f"worst_slice_{METRIC}": worst}


def test_gate_passes_a_version_that_meets_every_rule() -> None:
    verdict = gate.judge(SPEC, SETTINGS.validate_, has_signature=True, tags=TAGS, holdout=good_holdout())
    assert verdict.passed, verdict.checks


@pytest.mark.parametrize("broken", ["signature", "tag", "threshold", "slice", "not evaluated"])
def test_gate_fails_on_each_rule_and_names_it(broken: str) -> None:
    """Each rule alone fails the gate, with a check that says which rule and why."""
    holdout, tags, signature = good_holdout(), dict(TAGS), True
    threshold = next(iter(SETTINGS.validate_.thresholds))
    if broken == "signature":
        signature = False
    elif broken == "tag":
        tags.pop("git_commit")
    elif broken == "threshold":
        holdout[threshold] = 1e9 if threshold in ERROR_METRICS else 0.0
    elif broken == "slice":
        holdout[f"worst_slice_{METRIC}"] = 1e9 if not SPEC.higher_is_better else 0.0
    else:
        holdout.pop(threshold)
    verdict = gate.judge(SPEC, SETTINGS.validate_, has_signature=signature, tags=tags, holdout=holdout)
    failed = [check for check in verdict.checks if not check.passed]
    assert not verdict.passed and len(failed) == 1
    expected = {"signature": "signature", "tag": "lineage tags", "threshold": f"threshold {threshold}",
                "slice": "slice floor", "not evaluated": f"threshold {threshold}"}[broken]  # fmt: skip
    assert failed[0].name == expected
    assert gate.Verdict.from_json(verdict.as_json()) == verdict


def decide(challenger_score: float, champion_score: float | None, margin: float = 0.0) -> promotion.Decision:
    spec = task_spec("classification")
    return promotion.decide(
        spec,
        challenger="2",
        challenger_score=challenger_score,
        champion="1" if champion_score is not None else None,
        champion_score=champion_score,
        baseline_score=0.5,
        baseline_source="the naive baseline",
        margin=margin,
    )


def test_promotion_against_the_champion_and_the_baseline() -> None:
    """With a champion the challenger must beat it by the margin; without one, the baseline."""
    assert decide(0.70, 0.69, margin=0.005).promoted
    assert not decide(0.692, 0.69, margin=0.005).promoted
    assert not decide(0.69, 0.69).promoted  # a tie keeps the champion
    first = decide(0.51, None)
    assert first.promoted and first.reference == "the naive baseline" and first.reference_score == 0.5
    assert not decide(0.49, None).promoted
    assert "does not beat champion v1" in decide(0.60, 0.69).reason


def test_regression_promotion_runs_the_other_way() -> None:
    spec = task_spec("regression")
    lower = promotion.decide(spec, challenger="2", challenger_score=19.0, champion="1", champion_score=20.0,
                             baseline_score=25.0, baseline_source="median", margin=0.5)  # fmt: skip
    assert lower.promoted


def test_window_verdict_names_its_reasons() -> None:
    rules = SETTINGS.monitor
    quiet = judge_window(SPEC, rules, drifted=[False] * 10, prediction_ks=0.0, prediction_p_value=1.0,
                         metric=None, reference_metric=None)  # fmt: skip
    assert not quiet.breach and quiet.reasons == []
    drifting = judge_window(SPEC, rules, drifted=[True] * 4 + [False] * 6, prediction_ks=0.5, prediction_p_value=0.0,
                            metric=None, reference_metric=None)  # fmt: skip
    assert drifting.breach and drifting.reasons == ["dataset drift", "prediction drift"]
    worse = 0.5 if SPEC.higher_is_better else 100.0
    decayed = judge_window(SPEC, rules, drifted=[False], prediction_ks=0.0, prediction_p_value=1.0,
                           metric=worse, reference_metric=0.7 if SPEC.higher_is_better else 20.0)  # fmt: skip
    assert decayed.reasons == ["performance below the reference"]


def test_retraining_counts_only_the_newest_windows() -> None:
    """2 of the last 3: older breaches fall out of the window."""
    policy = SETTINGS.monitor.retrain.model_copy(update={"breaches": 2, "windows": 3})
    assert retraining_due([True, False, True], policy)
    assert not retraining_due([True, False, False, True], policy)
    assert not retraining_due([], policy)
