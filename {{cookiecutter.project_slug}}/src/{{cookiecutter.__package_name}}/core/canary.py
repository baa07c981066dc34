"""Judging a canary: champion and challenger on the labelled requests each answered, with a significance figure."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }}.core.task import TaskSpec

# Registered-model tags every running server follows: the challenger's share of request ids, and the mode
# ("split": that share is answered by the challenger; "shadow": it scores every request and answers none).
FRACTION_TAG, MODE_TAG = "canary_fraction", "canary_mode"


def canary_state(fraction: float, shadow: bool, model_tags: dict[str, str]) -> tuple[float, bool]:
    """(challenger fraction, shadow) from the registry's canary tags where set (by ``canary ramp``/``abort``), else
    the configured ``fraction`` and ``shadow``. In shadow mode the fraction is 0: the champion answers everything."""
    if FRACTION_TAG in model_tags:
        with contextlib.suppress(ValueError):  # a hand-edited tag that is not a number: the configured share stands
            fraction = min(max(float(model_tags[FRACTION_TAG]), 0.0), 1.0)
    if MODE_TAG in model_tags:
        shadow = model_tags[MODE_TAG] == "shadow"
    return (0.0, True) if shadow else (fraction, False)


@dataclass(frozen=True)
class Arm:
    """One version's share of the traffic: how many requests it answered, how many are labelled, its metric."""

    version: str
    alias: str
    answered: int
    labelled: int
    metric: float | None


@dataclass(frozen=True)
class Judgement:
    metric: str
    champion: Arm
    challenger: Arm
    difference: float | None  # challenger - champion, oriented so that positive is better
    low: float | None  # 95 % bootstrap interval of the difference
    high: float | None
    p_value: float | None  # two-sided bootstrap p-value of "no difference"
    verdict: str


def _metric(spec: TaskSpec, labels: np.ndarray, predictions: np.ndarray) -> float | None:
    if len(labels) < 2 or len(np.unique(labels)) < spec.min_classes:
        return None
    return float(spec.primary(labels, predictions))


def _arm(spec: TaskSpec, answered: pd.DataFrame, version: str, alias: str) -> tuple[Arm, np.ndarray, np.ndarray]:
    """The version's arm, and its labelled answers: (labels, predictions)."""
    mine = answered[answered["model_version"] == version]
    labelled = mine[mine["label"].notna()]
    labels, predictions = labelled["label"].to_numpy(), labelled["prediction"].to_numpy()
    return Arm(version, alias, len(mine), len(labelled), _metric(spec, labels, predictions)), labels, predictions


def judge(
    spec: TaskSpec,
    answered: pd.DataFrame,
    champion: str,
    challenger: str,
    *,
    min_labelled: int = 30,
    resamples: int = 1000,
    seed: int = 0,
) -> Judgement:
    """Compare two versions on ``answered`` (one row per answered record: model_version, prediction, label; label
    missing until it arrives), with the promotion metric. The difference is bootstrapped within each arm (the arms
    are disjoint sets of requests): its 95 % interval and a two-sided p-value say whether it is more than noise."""
    first, champion_labels, champion_predictions = _arm(spec, answered, champion, "champion")
    second, challenger_labels, challenger_predictions = _arm(spec, answered, challenger, "challenger")
    metric = spec.primary_metric
    if min(first.labelled, second.labelled) < min_labelled or first.metric is None or second.metric is None:
        verdict = (
            f"not enough labelled traffic yet: {first.labelled} labelled answers from v{champion} and "
            f"{second.labelled} from v{challenger}; judging needs {min_labelled} of each, both label values present"
        )
        return Judgement(metric, first, second, None, None, None, None, verdict)
    sign = 1.0 if spec.higher_is_better else -1.0
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        a = rng.integers(0, first.labelled, first.labelled)
        b = rng.integers(0, second.labelled, second.labelled)
        ma = _metric(spec, champion_labels[a], champion_predictions[a])
        mb = _metric(spec, challenger_labels[b], challenger_predictions[b])
        if ma is not None and mb is not None:
            differences.append(sign * (mb - ma))
    spread = np.asarray(differences)
    difference = sign * (second.metric - first.metric)
    low, high = (float(q) for q in np.quantile(spread, [0.025, 0.975]))
    p_value = float(min(1.0, 2 * min((spread <= 0).mean(), (spread >= 0).mean())))
    if low > 0:
        verdict = f"v{challenger} is better (95 % interval of the gain above 0): ramp it up, then promote it"
    elif high < 0:
        verdict = f"v{challenger} is worse (95 % interval of the gain below 0): abort the canary"
    else:
        verdict = "no significant difference yet: keep the canary running and judge again with more labels"
    return Judgement(metric, first, second, difference, low, high, p_value, verdict)
