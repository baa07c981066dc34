"""Monitoring's verdict on a window and the retraining policy: pure decisions on figures already computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.config import MonitorConfig, RetrainPolicy
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
