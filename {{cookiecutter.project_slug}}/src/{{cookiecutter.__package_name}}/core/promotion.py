"""The promotion decision: does the challenger beat the champion (or, with no champion, the baseline)?"""

from __future__ import annotations

from dataclasses import dataclass

from {{ cookiecutter.__package_name }}.core.task import TaskSpec


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    challenger: str | None = None
    champion: str | None = None
    challenger_score: float | None = None
    reference_score: float | None = None
    reference: str = ""


def nothing_to_promote(champion: str | None) -> Decision:
    return Decision(False, "no @challenger: nothing to promote", champion=champion)


def already_champion(version: str) -> Decision:
    return Decision(False, f"v{version} is already the champion", version, version)


def decide(
    spec: TaskSpec,
    *,
    challenger: str,
    challenger_score: float,
    champion: str | None,
    champion_score: float | None,
    baseline_score: float,
    baseline_source: str,
    margin: float,
) -> Decision:
    """Promote only a strict improvement of at least ``margin`` on the primary metric.

    The reference is the champion's score on the same holdout; with no champion (or one that cannot score the
    current features) it is the baseline.
    """
    if champion_score is None:
        reference, against = baseline_score, baseline_source
    else:
        reference, against = champion_score, f"champion v{champion}"
    promoted = spec.better(challenger_score, reference, margin)
    verb = "beats" if promoted else "does not beat"
    metric = spec.primary_metric
    reason = f"v{challenger} {metric} {challenger_score:.4f} {verb} {against} {reference:.4f} (margin {margin})"
    return Decision(promoted, reason, challenger, champion, challenger_score, reference, against)
