"""Step 5, promote: the challenger becomes champion only by beating it on the current holdout."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit, promotion
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec
from {{ cookiecutter.__package_name }}.io import audit as audit_io
from {{ cookiecutter.__package_name }}.io import card, ci, tracking
from {{ cookiecutter.__package_name }}.io.data import period_files, read_features

HELP = "Compare @challenger with @champion on the current holdout; promote when better by the margin"
log = logging.getLogger(__name__)


def score(registry: tracking.Registry, spec: TaskSpec, version: tracking.Version, holdout: pd.DataFrame, target: str):
    """The primary metric of ``version`` on ``holdout``; None when it cannot read the current features."""
    model = registry.load(version)
    missing = [c for c in model.inputs if c not in holdout.columns]
    if missing:
        log.warning("v%s expects columns the current features lack (%s): it cannot be scored", version.version, missing)
        return None
    scores = spec.scores(model.model, holdout[list(model.inputs)])
    return spec.metrics(holdout[target].to_numpy(), scores)[spec.primary_metric]


def baseline(settings: Settings, spec: TaskSpec, train: pd.DataFrame, holdout: pd.DataFrame) -> tuple[float, str]:
    """promote.baseline when set; else the score of a model that ignores every input (class prior, or median)."""
    if settings.promote.baseline is not None:
        return settings.promote.baseline, "the configured baseline (promote.baseline)"
    target = settings.data.target
    naive = spec.naive_scores(train[target].to_numpy(), len(holdout))
    value = spec.metrics(holdout[target].to_numpy(), naive)[spec.primary_metric]
    kind = "class prior" if spec.higher_is_better else "median"
    return value, f"the naive baseline (the training {kind} for every row)"


def run(settings: Settings, features: pd.DataFrame, reason: str = "") -> promotion.Decision:
    spec, target = task_spec(settings.task), settings.data.target
    registry = tracking.connect(settings)
    challenger, champion = registry.version_by_alias(tracking.CHALLENGER), registry.version_by_alias(tracking.CHAMPION)
    if challenger is None:
        return promotion.nothing_to_promote(champion and champion.version)
    if champion is not None and champion.version == challenger.version:
        registry.delete_alias(tracking.CHALLENGER)
        return promotion.already_champion(champion.version)
    train, holdout = holdout_split(settings, features)
    challenger_score = score(registry, spec, challenger, holdout, target)
    if challenger_score is None:
        return promotion.Decision(False, f"v{challenger.version} cannot score the current features", challenger.version)
    reference, source = baseline(settings, spec, train, holdout)
    decision = promotion.decide(
        spec,
        challenger=challenger.version,
        challenger_score=challenger_score,
        champion=champion and champion.version,
        champion_score=score(registry, spec, champion, holdout, target) if champion is not None else None,
        baseline_score=reference,
        baseline_source=source,
        margin=settings.promote.margin,
    )
    metric = spec.primary_metric
    if decision.promoted:  # compare-and-set: only if @champion is still the version it was compared with
        registry.promote(challenger.version, expected_champion=decision.champion)
    registry.tag(
        challenger.version,
        {
            f"promotion_challenger_{metric}": f"{decision.challenger_score:.6f}",
            f"promotion_reference_{metric}": f"{decision.reference_score:.6f}",
            "promotion_reference": decision.reference,
            "promotion_margin": str(settings.promote.margin),
            "promotion_holdout_rows": str(len(holdout)),
            "promotion_decision": "promoted" if decision.promoted else "rejected",
            "promotion_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **(
                {"promoted_in": max(cycle)}
                if decision.promoted and (cycle := period_files(settings, "flights"))
                else {}
            ),
        },
    )
    before = f"v{decision.champion}" if decision.champion else "none"
    moved = f"@{tracking.CHAMPION} {before} -> v{challenger.version}" if decision.promoted else "rejected"
    detail = f"{moved}: {metric} {decision.challenger_score:.4f} against {decision.reference_score:.4f}"
    audit_io.record(registry, "promote", challenger.version, settings.root, reason=reason, detail=detail)
    moved_versions = [challenger.version, *([decision.champion] if decision.promoted and decision.champion else [])]
    for version in moved_versions:
        card.publish(settings, registry, version)  # the cards show the aliases, and this decision
    return decision


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", type=audit.reason, help="why, recorded with your name and the time")


def execute(settings: Settings, args: argparse.Namespace) -> int:
    decision = run(settings, read_features(settings), reason=args.reason or "")
    registry = tracking.connect(settings)
    champion = registry.version_by_alias(tracking.CHAMPION)
    ci.set_outputs({"promoted": decision.promoted, "champion": champion.version if champion else ""})
    print(f"\n== promote ({settings.env}): {'PROMOTED' if decision.promoted else 'no change'} ==")
    print(f"  {decision.reason}")
    if champion is None:
        print(f"  {registry.name} has no @champion yet")
        return 0
    print(f"  champion: {registry.name} v{champion.version}")
    figures = registry.holdout_metrics(champion)
    width = max(map(len, figures), default=0)
    for key, value in sorted(figures.items()):
        print(f"    {key:<{width}} {value:.4f}")
    return 0
