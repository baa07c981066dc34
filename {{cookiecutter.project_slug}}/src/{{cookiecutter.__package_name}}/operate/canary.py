"""``canary judge|ramp|abort|status``: judge the challenger on the traffic it answered, move its share, or end it.

The share and the mode are registered-model tags that every running server follows within serve.refresh_seconds
(no restart, no failed request): ``ramp --to 0.25`` sends a quarter of request ids to @challenger, ``ramp --shadow``
lets it score every request without answering, ``abort`` returns all traffic to @champion.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.canary import FRACTION_TAG, MODE_TAG, canary_state, judge
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import feature_table
from {{ cookiecutter.__package_name }}.io.inference_log import read_answers

HELP = "Judge the canary on labelled traffic (judge), move the challenger's share (ramp --to F), end it (abort)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["judge", "ramp", "abort", "status"])
    parser.add_argument("--to", type=float, help="ramp: the share of request ids @challenger answers (0 < F <= 1)")
    parser.add_argument("--shadow", action="store_true", help="ramp: score every request, answer none (shadow mode)")
    parser.add_argument("--min-labelled", type=int, default=30, help="judge: labelled answers needed per version")


def _label_of(settings: Settings) -> pd.DataFrame:
    """flight id -> label, for every row of the raw data whose label has arrived."""
    data = settings.data
    table = feature_table(settings, labelled_only=True)
    return table[[data.id_column, data.target]].rename(columns={data.target: "label"})


def _judge(settings: Settings, registry: tracking.Registry, args: argparse.Namespace) -> int:
    aliases = registry.aliases()
    champion, challenger = aliases.get(tracking.CHAMPION), aliases.get(tracking.CHALLENGER)
    if champion is None or challenger is None:
        print(f"error: judging needs @champion and @challenger on {registry.name}; it has {aliases or 'no aliases'}")
        return 1
    answers = read_answers(settings)
    if answers.empty:
        print(f"error: the inference log of {settings.env} is empty: serve traffic first (make serve)")
        return 1
    key = settings.data.id_column
    # A flight asked about again counts once per version (its latest answer): repeats must not weigh an arm.
    answers = answers.dropna(subset=[key]).drop_duplicates(["model_version", key], keep="last")
    joined = answers.merge(_label_of(settings), on=key, how="left")
    result = judge(task_spec(settings.task), joined, champion, challenger, min_labelled=args.min_labelled)
    fraction, shadow = canary_state(settings.serve.challenger_fraction, settings.serve.shadow, registry.model_tags())
    mode = "shadow (challenger answers none)" if shadow else f"{fraction:.0%} of request ids to @challenger"
    print(f"\n== canary ({settings.env}): {registry.name}, {mode} ==")
    for arm in (result.champion, result.challenger):
        shown = "n/a" if arm.metric is None else f"{arm.metric:.4f}"
        print(f"  @{arm.alias:<10} v{arm.version:<4} flights {arm.answered:>7,}  labelled {arm.labelled:>7,}  "
              f"{result.metric} {shown}")  # fmt: skip
    if result.difference is not None:
        print(f"  gain of the challenger  {result.difference:+.4f} ({result.metric}, positive is better), "
              f"95 % interval [{result.low:+.4f}, {result.high:+.4f}], p = {result.p_value:.3f}")  # fmt: skip
    print(f"  verdict  {result.verdict}")
    return 0


def execute(settings: Settings, args: argparse.Namespace) -> int:
    registry = tracking.connect(settings)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if args.action == "judge":
        return _judge(settings, registry, args)
    if args.action == "ramp":
        if not args.shadow and (args.to is None or not 0 < args.to <= 1):
            print(
                "error: ramp needs --to F with 0 < F <= 1 (the share of request ids @challenger answers), or --shadow"
            )
            return 2
        if registry.version_by_alias(tracking.CHALLENGER) is None:
            print(f"error: {registry.name} has no @challenger to ramp: validate a new version first")
            return 1
        mode, fraction = ("shadow", 0.0) if args.shadow else ("split", args.to)
        registry.set_model_tags({FRACTION_TAG: fraction, MODE_TAG: mode,
                                 "canary_changed_at": now})  # fmt: skip
        shown = "shadow: @challenger scores every request, @champion answers all" if args.shadow else f"{fraction:.0%}"
        print(f"canary of {registry.name}: {shown}; servers follow within {settings.serve.refresh_seconds:g} s")
        return 0
    if args.action == "abort":
        registry.set_model_tags({FRACTION_TAG: 0.0, MODE_TAG: "split",
                                 "canary_changed_at": now})  # fmt: skip
        print(
            f"canary of {registry.name} ended: all traffic goes to @champion within "
            f"{settings.serve.refresh_seconds:g} s (in-flight requests finish on the version that took them)"
        )
        return 0
    fraction, shadow = canary_state(settings.serve.challenger_fraction, settings.serve.shadow, registry.model_tags())
    print(f"canary of {registry.name}: {'shadow' if shadow else f'{fraction:.0%} to @challenger'}; "
          f"aliases {registry.aliases() or 'none'}")  # fmt: skip
    return 0
