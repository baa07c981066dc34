"""Monitoring's verdict on a window and the retraining policy: pure decisions on figures already computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.config import MonitorConfig, OperateConfig, RetrainPolicy
from {{ cookiecutter.__package_name }}.core.periods import distance
from {{ cookiecutter.__package_name }}.core.task import TaskSpec


@dataclass(frozen=True)
class WindowVerdict:
    """What a monitoring window shows, and whether that is a breach."""

    share_drifted: float
    dataset_drift: bool
    prediction_drift: bool
    degraded: bool

    @property
    def breach(self) -> bool:
        return self.dataset_drift or self.prediction_drift or self.degraded

    @property
    def reasons(self) -> list[str]:
        named = {"dataset drift": self.dataset_drift, "prediction drift": self.prediction_drift,
                 "performance below the reference": self.degraded}  # fmt: skip
        return [name for name, present in named.items() if present]


def degraded(spec: TaskSpec, metric: float | None, reference: float | None, tolerance: float) -> bool:
    """A drop of the score by ``tolerance`` (absolute), or a rise of the error by ``tolerance`` (relative)."""
    if metric is None or reference is None:
        return False
    if spec.higher_is_better:
        return metric < reference - tolerance
    return metric > reference * (1 + tolerance)


def judge_window(
    spec: TaskSpec,
    rules: MonitorConfig,
    *,
    drifted: Sequence[bool],
    prediction_ks: float,
    prediction_p_value: float,
    metric: float | None,
    reference_metric: float | None,
) -> WindowVerdict:
    """Dataset drift (a share of features drifted), prediction drift (KS of the scores) and performance decay."""
    share = sum(drifted) / len(drifted) if drifted else 0.0
    return WindowVerdict(
        share_drifted=share,
        dataset_drift=share >= rules.drift_share,
        prediction_drift=prediction_ks >= rules.prediction_ks_threshold and prediction_p_value < rules.alpha,
        degraded=degraded(spec, metric, reference_metric, rules.performance_tolerance),
    )


def retraining_due(breaches: Sequence[bool], policy: RetrainPolicy) -> bool:
    """``policy.breaches`` of the last ``policy.windows`` windows of the current champion breached.

    ``breaches`` lists the champion's windows, newest first; windows judged under an earlier champion must not be in
    it, so that a retrained model starts with a clean record.
    """
    return sum(bool(b) for b in list(breaches)[: policy.windows]) >= policy.breaches


@dataclass(frozen=True)
class Retraining:
    """Whether to retrain now, what triggered it, and the episode it answers (a dispatch is made once per episode)."""

    due: bool
    trigger: str | None
    episode: str | None
    reason: str


@dataclass(frozen=True)
class PeriodRecord:
    """What monitoring recorded for one period of the current champion."""

    period: str
    drift_breach: bool
    degraded: bool


def decide_retraining(
    *,
    period: str,
    champion: str,
    trained_through: str | None,
    records: Sequence[PeriodRecord],
    policy: RetrainPolicy,
    operate: OperateConfig,
    last_dispatch: str | None,
    dispatched: frozenset[str],
) -> Retraining:
    """Retrain on evidence (the champion's performance decayed on its newest labelled period, or drift breached in
    ``policy.breaches`` of its last ``policy.windows`` periods) or on schedule (its training data is
    ``operate.retrain_every`` periods old).

    ``records`` are the current champion's periods, newest first. An episode is the champion and the newest period of
    the evidence: monitoring the same period again finds its episode already dispatched and does nothing; a new
    breaching period is a new episode, unless it is ``operate.cooldown`` periods or fewer after the last dispatch.
    """
    unit = operate.period
    newest = records[0] if records else None
    drifting = [r.period for r in records[: policy.windows] if r.drift_breach]
    if newest is not None and newest.degraded:
        trigger, why = "performance", f"performance decayed on the period labelled at {newest.period}"
    elif len(drifting) >= policy.breaches:
        trigger, why = "drift", f"drift in {len(drifting)} of the last {policy.windows} periods ({', '.join(drifting)})"
    elif trained_through is not None and distance(trained_through, period, unit) >= operate.retrain_every:
        trigger, why = (
            "schedule",
            f"the champion's newest data is {distance(trained_through, period, unit)} periods old",
        )
    else:
        return Retraining(False, None, None, "no evidence, and the schedule is not due")
    evidence = period if trigger == "schedule" or newest is None else newest.period
    episode = f"v{champion}:{trigger}:{evidence}"
    if episode in dispatched:
        return Retraining(False, trigger, episode, f"{why}: already dispatched for this episode")
    if last_dispatch is not None and distance(last_dispatch, period, unit) <= operate.cooldown:
        return Retraining(False, trigger, episode, f"{why}, but within the cool-down after {last_dispatch}")
    return Retraining(True, trigger, episode, why)


def roll_back_new_champion(spec: TaskSpec, *, new: float, previous: float, margin: float) -> bool:
    """A newly promoted champion that does worse than the one it replaced, on the same labelled period, by more than
    ``margin``, goes back."""
    return spec.better(previous, new, margin)


def rotation(
    size_bytes: int, max_bytes: float, rotated_ages_days: Sequence[float], keep: int, max_age_days: int
) -> tuple[bool, list[int]]:
    """(rotate the live log now?, indexes of rotated files to delete): over the size cap it rotates; rotated files
    beyond the newest ``keep`` (the list is newest first), or older than ``max_age_days``, go."""
    rotate = size_bytes > max_bytes
    kept = keep - 1 if rotate else keep  # rotating adds one
    return rotate, [i for i, age in enumerate(rotated_ages_days) if i >= kept or age > max_age_days]


def to_archive(versions: Sequence[tuple[str, float, bool, bool]], max_age_days: int) -> list[str]:
    """Versions (version, age in days, holds an alias, already archived) to archive: old enough and unaliased.
    A version that holds an alias is never archived, however old."""
    return [v for v, age, aliased, archived in versions if age > max_age_days and not aliased and not archived]
