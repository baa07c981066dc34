"""Step 5, promote: the challenger becomes champion only by beating it on the current holdout."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.core.features import time_split
from {{ cookiecutter.__package_name }}.core.model import predict_scores
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import read_features

HELP = "Compare @challenger with @champion on the current holdout; promote when better by the margin"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    challenger: str | None = None
    champion: str | None = None
    challenger_score: float | None = None
    reference_score: float | None = None


def score(settings: Settings, registry: tracking.Registry, version: str, holdout: pd.DataFrame) -> float | None:
    """The primary metric of ``version`` on ``holdout``; None when it cannot read the current features."""
    import mlflow

    inputs = mlflow.models.get_model_info(registry.uri(version)).signature.inputs.input_names()
    missing = [c for c in inputs if c not in holdout.columns]
    if missing:
        log.warning("v%s expects columns the current features lack (%s): it cannot be scored", version, missing)
        return None
    model = mlflow.sklearn.load_model(registry.uri(version))
    scores = predict_scores(model, holdout[inputs], settings.task)
    return M.task_metrics(settings.task, holdout[settings.data.target].to_numpy(), scores)[M.primary(settings.task)]


def run(settings: Settings, features: pd.DataFrame) -> Decision:
    registry = tracking.connect(settings)
    challenger, champion = registry.version_by_alias(tracking.CHALLENGER), registry.version_by_alias(tracking.CHAMPION)
    if challenger is None:
        return Decision(False, "no @challenger: nothing to promote", champion=champion and champion.version)
    if champion is not None and champion.version == challenger.version:
        registry.delete_alias(tracking.CHALLENGER)
        return Decision(False, f"v{challenger.version} is already the champion", challenger.version, champion.version)
    _, holdout = time_split(features, settings.data.time_column, settings.train.holdout_fraction)
    metric, margin = M.primary(settings.task), settings.promote.margin
    challenger_score = score(settings, registry, challenger.version, holdout)
    champion_score = score(settings, registry, champion.version, holdout) if champion is not None else None
    if champion_score is None:
        reference, against = settings.promote.baseline, "the configured baseline (promote.baseline)"
    else:
        reference, against = champion_score, f"champion v{champion.version}"
    promoted = M.better(settings.task, challenger_score, reference, margin)
    registry.tag(
        challenger.version,
        {
            f"promotion_challenger_{metric}": f"{challenger_score:.6f}",
            f"promotion_reference_{metric}": f"{reference:.6f}",
            "promotion_reference": against,
            "promotion_margin": str(margin),
            "promotion_holdout_rows": str(len(holdout)),
            "promotion_decision": "promoted" if promoted else "rejected",
            "promotion_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    if promoted:
        if champion is not None:
            registry.set_alias(tracking.PREVIOUS, champion.version)
        registry.set_alias(tracking.CHAMPION, challenger.version)
        registry.delete_alias(tracking.CHALLENGER)
    verb = "beats" if promoted else "does not beat"
    reason = f"v{challenger.version} {metric} {challenger_score:.4f} {verb} {against} {reference:.4f} (margin {margin})"
    return Decision(promoted, reason, challenger.version, champion and champion.version, challenger_score, reference)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    decision = run(settings, read_features(settings))
    registry = tracking.connect(settings)
    champion = registry.version_by_alias(tracking.CHAMPION)
    print(f"\n== promote ({settings.env}): {'PROMOTED' if decision.promoted else 'no change'} ==")
    print(f"  {decision.reason}")
    if champion is None:
        print(f"  {registry.name} has no @champion yet")
        return 0
    metrics = registry.client.get_run(champion.run_id).data.metrics
    print(f"  champion: {registry.name} v{champion.version}")
    for key in sorted(k for k in metrics if k.startswith("holdout_")):
        print(f"    {key.removeprefix('holdout_'):<26} {metrics[key]:.4f}")
    return 0
