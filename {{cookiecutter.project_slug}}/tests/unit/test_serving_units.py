"""Pure parts of serving: raw flight records are checked field by field; the canary is judged and routed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.core.canary import FRACTION_TAG, MODE_TAG, canary_state, judge
from {{ cookiecutter.__package_name }}.core.features import NULLABLE_REQUEST_FIELDS, REQUEST_FIELDS
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.serving.payload import ClientError, check_flight_records

GOOD = {
    "carrier": "B6", "flight": 79, "tailnum": "N593JB", "origin": "JFK", "dest": "MCO", "distance": 944,
    "scheduled_departure": "2013-01-01T06:00", "scheduled_arrival": "2013-01-01T08:46",
}  # fmt: skip


def check(rows: list[dict]) -> None:
    check_flight_records(rows, REQUEST_FIELDS, NULLABLE_REQUEST_FIELDS)


def test_a_good_record_passes_and_tailnum_may_be_null() -> None:
    check([GOOD, {**GOOD, "tailnum": None}])


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"flight": True}, "field 'flight' must be an integer"),
        ({"flight": 1.5}, "field 'flight' must be an integer"),
        ({"distance": -3}, "field 'distance' must be a number above 0"),
        ({"distance": float("inf")}, "field 'distance' must be a number above 0"),
        ({"origin": ""}, "field 'origin' must be a non-empty string"),
        ({"carrier": None}, "field 'carrier' must be a non-empty string of at most 64 characters (record 0: None)"),
        ({"scheduled_departure": "2013-01-01T06:00Z"}, "field 'scheduled_departure' must be a local date-time"),
        ({"scheduled_departure": "tomorrow"}, "field 'scheduled_departure' must be a local date-time"),
        ({"scheduled_arrival": "9999-01-01T00:00"}, "field 'scheduled_arrival' must be a local date-time"),
        ({"wings": 2}, "unexpected field 'wings'"),
    ],
)
def test_each_bad_field_is_named(change: dict, needle: str) -> None:
    with pytest.raises(ClientError) as caught:
        check([{**GOOD, **change}])
    assert caught.value.status == 400 and needle in caught.value.message


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ClientError) as caught:
        check([{k: v for k, v in GOOD.items() if k != "dest"} | {"flight": "79"}])
    assert "missing field 'dest'" in caught.value.message and "field 'flight'" in caught.value.message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(REQUEST_FIELDS)), value=JSON)
def test_any_json_value_in_any_field_is_accepted_or_a_400(field: str, value) -> None:
    """Whatever a field holds, the check either accepts it or raises a 400 naming that field; nothing else."""
    problem = None
    try:
        check([{**GOOD, field: value}])
    except ClientError as err:  # accepting is an outcome too: pytest.raises cannot say "or nothing"
        problem = err
    assert problem is None or (problem.status == 400 and f"'{field}'" in problem.message)


def answers(rng: np.random.Generator, version: str, rows: int, skill: float) -> pd.DataFrame:
    """Labelled answers of a classifier whose scores separate the classes by ``skill``."""
    label = rng.integers(0, 2, rows)
    return pd.DataFrame(
        {
            "model_version": version,
            "label": label.astype(float),
            "prediction": (label * skill + rng.random(rows)) / (1 + skill),
        }
    )


def test_a_clearly_better_challenger_is_called_better_and_an_equal_one_undecided() -> None:
    rng = np.random.default_rng(0)
    spec = task_spec("classification")
    better = pd.concat([answers(rng, "1", 800, 0.2), answers(rng, "2", 400, 0.8)])
    verdict = judge(spec, better, "1", "2", resamples=300)
    assert verdict.champion.labelled == 800 and verdict.challenger.labelled == 400
    assert verdict.difference > 0 and verdict.low > 0 and verdict.p_value < 0.01
    assert "is better" in verdict.verdict
    same = pd.concat([answers(rng, "1", 800, 0.5), answers(rng, "2", 400, 0.5)])
    undecided = judge(spec, same, "1", "2", resamples=300)
    assert undecided.low < 0 < undecided.high and "no significant difference" in undecided.verdict


def test_judging_waits_for_labels_and_regression_errors_count_downwards() -> None:
    rng = np.random.default_rng(1)
    few = answers(rng, "1", 100, 0.5).assign(label=np.nan)
    waiting = judge(task_spec("classification"), pd.concat([few, answers(rng, "2", 100, 0.5)]), "1", "2")
    assert waiting.difference is None and "not enough labelled traffic" in waiting.verdict
    truth = rng.normal(10, 5, 600)
    noise = np.r_[rng.normal(0, 1, 300), rng.normal(0, 6, 300)]
    worse = pd.DataFrame({"model_version": ["1"] * 300 + ["2"] * 300, "label": truth, "prediction": truth + noise})
    verdict = judge(task_spec("regression"), worse, "1", "2", resamples=300)
    assert verdict.challenger.metric > verdict.champion.metric  # mae: the challenger errs more ...
    assert verdict.difference < 0 and "is worse" in verdict.verdict  # ... which is a negative gain


def test_canary_tags_override_the_configured_share_and_shadow_answers_with_the_champion() -> None:
    assert canary_state(0.1, False, {}) == (0.1, False)
    assert canary_state(0.1, False, {FRACTION_TAG: "0.25", MODE_TAG: "split"}) == (0.25, False)
    assert canary_state(0.1, False, {FRACTION_TAG: "0.5", MODE_TAG: "shadow"}) == (0.0, True)
    assert canary_state(0.1, True, {FRACTION_TAG: "0", MODE_TAG: "split"}) == (0.0, False)
    assert canary_state(0.1, False, {FRACTION_TAG: "lots"}) == (0.1, False)
    assert canary_state(0.1, False, {FRACTION_TAG: "7"}) == (1.0, False)
