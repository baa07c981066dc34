"""Step 3, evaluate: metrics on the time-based holdout (the latest period), per slice, with plots."""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import precision_recall_curve, roc_curve

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import explain, fairness
from {{ cookiecutter.__package_name }}.core.dataset import holdout_split
from {{ cookiecutter.__package_name }}.core.metrics import slice_metrics
from {{ cookiecutter.__package_name }}.core.task import TaskSpec, task_spec
from {{ cookiecutter.__package_name }}.io import card as io_card
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path, read_features
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.pipeline._common import TrainRecord, read_record, summary

HELP = "Score the trained version on the latest period: metrics.json, slice metrics and plots"
log = logging.getLogger(__name__)


def evaluate(
    settings: Settings, spec: TaskSpec, scores: np.ndarray, holdout: pd.DataFrame
) -> tuple[dict[str, float], pd.DataFrame]:
    """Holdout metrics (with the worst slice) and the per-slice table."""
    y = holdout[settings.data.target].to_numpy()
    result = spec.metrics(y, scores)
    columns = [c for c in settings.validate_.slice_columns if c in holdout.columns]
    slices = slice_metrics(spec, holdout, settings.data.target, scores, columns, settings.validate_.slice_min_rows)
    if not slices.empty:
        result[f"worst_slice_{spec.primary_metric}"] = spec.worst(slices[spec.primary_metric])
    result["holdout_rows"] = float(len(holdout))
    return result, slices


def _classification_curves(axes, y: np.ndarray, scores: np.ndarray) -> str:
    fpr, tpr, _ = roc_curve(y, scores)
    axes[0].plot(fpr, tpr)
    axes[0].plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes[0].set(title="ROC curve", xlabel="false positive rate", ylabel="true positive rate")
    precision, recall, _ = precision_recall_curve(y, scores)
    axes[1].plot(recall, precision)
    axes[1].axhline(y.mean(), linestyle="--", color="grey")
    axes[1].set(title="Precision-recall curve", xlabel="recall", ylabel="precision")
    return "curves.png"


def _regression_residuals(axes, y: np.ndarray, scores: np.ndarray) -> str:
    axes[0].scatter(scores, y - scores, s=4, alpha=0.3)
    axes[0].axhline(0, color="grey")
    axes[0].set(title="Residuals", xlabel="predicted", ylabel="actual - predicted")
    axes[1].hist(y - scores, bins=60)
    axes[1].set(title="Residual distribution", xlabel="actual - predicted")
    return "residuals.png"


CURVES = {"classification": _classification_curves, "regression": _regression_residuals}


def plots(
    settings: Settings, spec: TaskSpec, model, record: TrainRecord, holdout: pd.DataFrame, folder: Path
) -> list[Path]:
    """Curves (ROC and precision-recall, or residuals) and permutation feature importance, as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    y = holdout[settings.data.target].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    name = CURVES[spec.name](axes, y, spec.scores(model, holdout[record.inputs]))
    fig.tight_layout()
    fig.savefig(folder / name, dpi=90)
    plt.close(fig)

    sample = holdout.sample(n=min(len(holdout), 3000), random_state=settings.train.seed)
    importance = permutation_importance(
        model,
        sample[record.inputs],
        sample[settings.data.target],
        scoring=spec.sklearn_scoring,
        n_repeats=3,
        random_state=settings.train.seed,
        n_jobs=1,
    )
    order = np.argsort(importance.importances_mean)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(order) + 1))
    ax.barh(np.array(record.inputs)[order], importance.importances_mean[order], xerr=importance.importances_std[order])
    ax.set(title=f"Permutation importance ({spec.sklearn_scoring}, holdout)", xlabel="score drop when shuffled")
    fig.tight_layout()
    fig.savefig(folder / "feature_importance.png", dpi=90)
    plt.close(fig)
    return [folder / name, folder / "feature_importance.png"]


def window(settings: Settings, train: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, dict]:
    """The rows and the time span of each side of the split (the model card's training window)."""
    column = settings.data.time_column

    def span(part: pd.DataFrame) -> dict:
        if not column or part.empty:
            return {"rows": len(part), "from": None, "through": None}
        return {"rows": len(part), "from": str(part[column].min()), "through": str(part[column].max())}

    return {"train": span(train), "holdout": span(holdout)}


def explanations(
    settings: Settings, model, record: TrainRecord, holdout: pd.DataFrame, folder: Path
) -> tuple[dict | None, list[Path]]:
    """SHAP values of ``governance.shap_rows`` holdout rows: the mean |value| per input and a summary plot."""
    rows = min(settings.governance.shap_rows, len(holdout))
    if rows == 0:
        return None, []
    import shap

    sample = holdout.sample(n=rows, random_state=settings.train.seed)[record.inputs]
    explainer = explain.Explainer(model)
    values = explainer.values(sample)
    shown = sample.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)  # categoricals: grey points
    summary_ = shap.Explanation(
        values=values, base_values=explainer.expected_value, data=shown, feature_names=list(explainer.features)
    )
    plt.figure()
    with warnings.catch_warnings():  # categorical inputs have no colour scale: shap warns about their all-NaN values
        warnings.simplefilter("ignore", RuntimeWarning)
        shap.plots.beeswarm(summary_, max_display=15, show=False, plot_size=(9, 6))
    plt.title(f"SHAP values of {rows:,} holdout rows ({explain.UNITS[settings.task]})", fontsize=10)
    plt.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    plt.savefig(folder / "shap_summary.png", dpi=90)
    plt.close("all")
    record_ = {
        "rows": rows,
        "output": explain.UNITS[settings.task],
        "expected_value": explainer.expected_value,
        "importance": explain.importance(explainer.features, values),
    }
    return record_, [folder / "shap_summary.png"]


def run(settings: Settings, features: pd.DataFrame, record: TrainRecord) -> tuple[dict, pd.DataFrame, list[Path]]:
    """Evaluate the version named in ``record`` and log everything to its training run."""
    spec = task_spec(settings.task)
    registry = tracking.connect(settings)
    model = registry.load(registry.version(record.version)).model
    train, holdout = holdout_split(settings, features)
    scores = spec.scores(model, holdout[record.inputs])
    result, slices = evaluate(settings, spec, scores, holdout)
    folder = settings.path(output_path(settings, "plots"))
    pictures = plots(settings, spec, model, record, holdout, folder)
    started = time.perf_counter()
    equity = fairness.report(spec, holdout, settings.data.target, scores, settings.governance)
    fairness_seconds = time.perf_counter() - started
    started = time.perf_counter()
    explained, shap_pictures = explanations(settings, model, record, holdout, folder)
    shap_seconds = time.perf_counter() - started
    largest = equity.largest
    if largest is not None:
        result[f"fairness_{equity.metric}_difference"] = largest.difference
    governance = {
        "window": window(settings, train, holdout),
        "fairness": equity.as_dict(),
        "explanations": explained,
        "seconds": {"fairness": round(fairness_seconds, 3), "shap": round(shap_seconds, 3)},
    }
    log.info("fairness %.1f s, SHAP %.1f s", fairness_seconds, shap_seconds)
    registry.log_to_run(
        record.run_id,
        metrics={f"holdout_{k}": v for k, v in result.items()},
        records={
            "evaluation/slices.json": slices.to_dict(orient="records"),
            io_card.GOVERNANCE_RECORD: governance,
        },
        artifacts=(*pictures, *shap_pictures),
        artifact_dir="evaluation",
    )
    return result, slices, [*pictures, *shap_pictures]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --env."""


def execute(settings: Settings, args: argparse.Namespace) -> int:
    record = read_record(settings)
    result, slices, _ = run(settings, read_features(settings), record)
    text = json.dumps({k: round(v, 6) for k, v in result.items()}, indent=2) + "\n"
    write_atomic(settings, output_path(settings, "metrics.json"), lambda tmp: tmp.write_text(text))
    write_atomic(settings, output_path(settings, "slices.csv"), lambda tmp: slices.to_csv(tmp, index=False))
    summary(f"evaluate ({settings.env}): {record.model_name} v{record.version} on the holdout", result)
    return 0
