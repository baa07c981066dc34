"""The production cycle's pure decisions: periods, late labels, what a model may learn from, retraining episodes,
the check of a new champion, retention."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.core import periods as P
from {{ cookiecutter.__package_name }}.core.policy import (
    PeriodRecord,
    decide_retraining,
    roll_back_new_champion,
    rotation,
    to_archive,
)
from {{ cookiecutter.__package_name }}.core.task import task_spec

SETTINGS = load_settings("prod", Path(__file__).resolve().parents[2], environ={})
OPERATE = SETTINGS.operate.model_copy(update={"period": "month", "retrain_every": 3, "cooldown": 1})
POLICY = SETTINGS.monitor.retrain.model_copy(update={"breaches": 2, "windows": 3})


def test_periods_name_shift_and_count() -> None:
    assert P.periods_of(pd.Series(pd.to_datetime(["2013-01-31 23:59", "2013-02-01 00:05"])), "month").tolist() == [
        "2013-01",
        "2013-02",
    ]
    assert P.shift("2013-12", 1, "month") == "2014-01" and P.distance("2013-10", "2014-01", "month") == 3
    assert P.between("2013-11", "2014-01", "month") == ["2013-11", "2013-12", "2014-01"]
    assert P.periods_of(pd.Series(pd.to_datetime(["2013-05-08"])), "week").tolist() == ["2013-05-06"]


def test_labels_arrive_late_and_training_never_sees_later_periods() -> None:
    """With a lag of one, once June is in only May is labelled; the window keeps the newest labelled periods only."""
    assert P.labelled_through("2013-06", 1, "month") == "2013-05"
    labelled = ["2013-01", "2013-02", "2013-03", "2013-04", "2013-05", "2013-06"]
    assert P.training_periods(labelled, "2013-05", 3, "month") == ["2013-03", "2013-04", "2013-05"]
    assert P.training_periods(labelled, "2013-05", None, "month")[-1] == "2013-05"


def test_ingest_takes_the_next_period_and_the_labels_now_due() -> None:
    available = ["2013-01", "2013-02", "2013-03"]
    assert P.next_to_ingest(available, [], "month") == "2013-01"
    assert P.next_to_ingest(available, ["2013-01"], "month") == "2013-02"
    assert P.next_to_ingest(available, available, "month") is None
    assert P.labels_due(["2013-01", "2013-02", "2013-03"], ["2013-01"], "2013-03", 1, "month") == ["2013-02"]


def test_late_labels_join_the_published_predictions_by_key() -> None:
    """Rows whose label has not arrived (or never will: cancelled) are left out; a key is matched once."""
    predictions = pd.DataFrame({"id": ["a", "b", "c"], "prediction": [0.1, 0.7, 0.4]})
    labels = pd.DataFrame({"id": ["a", "b", "b", "d"], "y": [0, None, 1, 1]})
    joined = P.join_labels(predictions, labels, "id", "y")
    assert joined[["id", "y"]].values.tolist() == [["a", 0.0], ["b", 1.0]]


def decide(records, *, period="2013-06", trained_through="2013-04", last=None, dispatched=frozenset()):
    return decide_retraining(period=period, champion="2", trained_through=trained_through, records=records,
                             policy=POLICY, operate=OPERATE, last_dispatch=last, dispatched=dispatched)  # fmt: skip


def test_retraining_on_evidence_once_per_episode() -> None:
    """Decay on the newest labelled period triggers at once; drift needs 2 of the last 3 periods; the same evidence
    never triggers twice; a new breaching period does, after the cool-down."""
    decayed = decide([PeriodRecord("2013-06", False, True)])
    assert (decayed.due, decayed.trigger, decayed.episode) == (True, "performance", "v2:performance:2013-06")
    assert not decide([PeriodRecord("2013-06", True, False), PeriodRecord("2013-05", False, False)]).due
    drifting = [PeriodRecord("2013-06", True, False), PeriodRecord("2013-05", False, False),
                PeriodRecord("2013-04", True, False)]  # fmt: skip
    first = decide(drifting)
    assert first.due and first.trigger == "drift"
    again = decide(drifting, last="2013-06", dispatched=frozenset({first.episode}))
    assert not again.due and "already dispatched" in again.reason
    newer = [PeriodRecord("2013-07", True, False), *drifting]
    assert decide(newer, period="2013-07", last="2013-06", dispatched=frozenset({first.episode})).due is False
    later = decide(newer, period="2013-08", last="2013-06", dispatched=frozenset({first.episode}))
    assert later.due and later.episode != first.episode


def test_retraining_on_schedule_and_not_before() -> None:
    assert decide([], period="2013-06", trained_through="2013-03").trigger == "schedule"
    assert not decide([], period="2013-06", trained_through="2013-04").due


def test_a_new_champion_that_does_worse_goes_back() -> None:
    spec = task_spec("classification")
    assert roll_back_new_champion(spec, new=0.65, previous=0.68, margin=0.01)
    assert not roll_back_new_champion(spec, new=0.675, previous=0.68, margin=0.01)
    assert roll_back_new_champion(task_spec("regression"), new=23.0, previous=21.0, margin=0.5)


@pytest.mark.parametrize(
    ("size", "ages", "expected"),
    [(10, [1, 2], (False, [])), (200, [1, 2, 3, 4, 5], (True, [4])), (10, [1, 400], (False, [1]))],
)
def test_rotation_caps_size_count_and_age(size: int, ages: list[float], expected) -> None:
    """Over 100 bytes rotate; keep 5 rotated files (one more comes with a rotation); none older than 90 days."""
    assert rotation(size, 100, ages, keep=5, max_age_days=90) == expected


def test_an_aliased_version_is_never_archived() -> None:
    versions = [
        ("1", 400.0, True, False),
        ("2", 400.0, False, False),
        ("3", 10.0, False, False),
        ("4", 400, False, True),
    ]
    assert to_archive(versions, 90) == ["2"]
