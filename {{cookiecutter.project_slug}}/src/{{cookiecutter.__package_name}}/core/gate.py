"""The validation gate's verdict: pure checks of what the registry and the evaluation recorded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.config import GovernanceConfig, ValidateConfig
from {{ cookiecutter.__package_name }}.core import fairness as equity
from {{ cookiecutter.__package_name }}.core.task import ERROR_METRICS, TaskSpec, passes


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    """Every check of the gate; the version passes when all of them pass."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_json(self) -> str:
        return json.dumps([[c.name, c.passed, c.detail] for c in self.checks])

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        return cls(tuple(Check(*row) for row in json.loads(text)))


def _sign(metric: str) -> str:
    return "<=" if metric in ERROR_METRICS else ">="


def judge(
    spec: TaskSpec,
    rules: ValidateConfig,
    *,
    has_signature: bool,
    tags: Mapping[str, str],
    holdout: Mapping[str, float],
    governance: GovernanceConfig | None = None,
    fairness: equity.FairnessReport | None = None,
) -> Verdict:
    """Judge a version from its signature, its tags and its holdout metrics (``holdout_`` prefix removed); with
    ``governance``, also the spread of a fairness metric between groups (``fairness``, evaluate's report)."""
    checks = [
        Check("signature", has_signature, "input signature logged" if has_signature else "logged without a signature")
    ]
    missing = [tag for tag in rules.required_tags if not tags.get(tag)]
    checks.append(Check("lineage tags", not missing, f"missing: {', '.join(missing)}" if missing else "all present"))
    for metric, limit in rules.thresholds.items():
        value = holdout.get(metric)
        if value is None:
            checks.append(Check(f"threshold {metric}", False, f"holdout {metric} was not logged: run evaluate first"))
        else:
            detail = f"{value:.4f} (need {_sign(metric)} {limit})"
            checks.append(Check(f"threshold {metric}", passes(metric, value, limit), detail))
    metric = spec.primary_metric
    worst = holdout.get(f"worst_slice_{metric}")
    if worst is None:
        detail = f"no slice has {rules.slice_min_rows}+ rows with every label value: nothing to judge"
        checks.append(Check("slice floor", True, detail))
    else:
        detail = f"worst slice {metric} {worst:.4f} (need {_sign(metric)} {rules.slice_floor})"
        checks.append(Check("slice floor", passes(metric, worst, rules.slice_floor), detail))
    if governance is not None:
        checks.append(Check("fairness", *equity.verdict(fairness, governance)))
    return Verdict(tuple(checks))
