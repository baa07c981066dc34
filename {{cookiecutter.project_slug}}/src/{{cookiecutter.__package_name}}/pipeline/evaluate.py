"""Step 3, evaluate: metrics on the time-based holdout (the latest period), per slice, with plots."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import precision_recall_curve, roc_curve

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import metrics as M
from {{ cookiecutter.__package_name }}.core.features import time_split
from {{ cookiecutter.__package_name }}.core.model import predict_scores
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.data import output_path, read_features
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.pipeline._common import TrainRecord, read_record, summary

HELP = "Score the trained version on the latest period: metrics.json, slice metrics and plots"
log = logging.getLogger(__name__)


def evaluate(settings: Settings, model, record: TrainRecord, holdout: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Holdout metrics (with the worst slice) and the per-slice table."""
    y = holdout[settings.data.target].to_numpy()
    scores = predict_scores(model, holdout[record.inputs], settings.task)
    result = M.task_metrics(settings.task, y, scores)
    columns = [c for c in settings.validate_.slice_columns if c in holdout.columns]
    slices = M.slice_metrics(
        settings.task, holdout, settings.data.target, scores, columns, settings.validate_.slice_min_rows
    )
    metric = M.primary(settings.task)
    if not slices.empty:
        worst = slices[metric].min() if settings.higher_is_better else slices[metric].max()
        result[f"worst_slice_{metric}"] = float(worst)
    result["holdout_rows"] = float(len(holdout))
    return result, slices


def plots(settings: Settings, model, record: TrainRecord, holdout: pd.DataFrame, folder: Path) -> list[Path]:
    """Curves (ROC and precision-recall, or residuals) and permutation feature importance, as PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    y = holdout[settings.data.target].to_numpy()
    x = holdout[record.inputs]
    scores = predict_scores(model, x, settings.task)
    written = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if settings.task == "classification":
        fpr, tpr, _ = roc_curve(y, scores)
        axes[0].plot(fpr, tpr)
        axes[0].plot([0, 1], [0, 1], linestyle="--", color="grey")
        axes[0].set(title="ROC curve", xlabel="false positive rate", ylabel="true positive rate")
        precision, recall, _ = precision_recall_curve(y, scores)
        axes[1].plot(recall, precision)
        axes[1].axhline(y.mean(), linestyle="--", color="grey")
        axes[1].set(title="Precision-recall curve", xlabel="recall", ylabel="precision")
        name = "curves.png"
    else:
        axes[0].scatter(scores, y - scores, s=4, alpha=0.3)
        axes[0].axhline(0, color="grey")
        axes[0].set(title="Residuals", xlabel="predicted", ylabel="actual - predicted")
        axes[1].hist(y - scores, bins=60)
        axes[1].set(title="Residual distribution", xlabel="minutes")
        name = "residuals.png"
    fig.tight_layout()
    fig.savefig(folder / name, dpi=90)
    plt.close(fig)
    written.append(folder / name)

    sample = holdout.sample(n=min(len(holdout), 3000), random_state=settings.train.seed)
    scoring = "roc_auc" if settings.task == "classification" else "neg_mean_absolute_error"
    importance = permutation_importance(
        model,
        sample[record.inputs],
        sample[settings.data.target],
        scoring=scoring,
        n_repeats=3,
        random_state=settings.train.seed,
        n_jobs=1,
    )
    order = np.argsort(importance.importances_mean)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(order) + 1))
    ax.barh(np.array(record.inputs)[order], importance.importances_mean[order], xerr=importance.importances_std[order])
    ax.set(title=f"Permutation importance ({scoring}, holdout)", xlabel="score drop when shuffled")
    fig.tight_layout()
    fig.savefig(folder / "feature_importance.png", dpi=90)
    plt.close(fig)
    written.append(folder / "feature_importance.png")
    return written


def run(settings: Settings, features: pd.DataFrame, record: TrainRecord) -> tuple[dict, pd.DataFrame, list[Path]]:
    """Evaluate the version named in ``record`` and log everything to its training run."""
    import mlflow

    registry = tracking.connect(settings)
    model = mlflow.sklearn.load_model(registry.uri(record.version))
    _, holdout = time_split(features, settings.data.time_column, settings.train.holdout_fraction)
    result, slices = evaluate(settings, model, record, holdout)
    folder = settings.path(output_path(settings, "plots"))
    pictures = plots(settings, model, record, holdout, folder)
    with mlflow.start_run(run_id=record.run_id):
        mlflow.log_metrics({f"holdout_{k}": v for k, v in result.items()})
        mlflow.log_dict(slices.to_dict(orient="records"), "evaluation/slices.json")
        for picture in pictures:
            mlflow.log_artifact(str(picture), "evaluation")
    return result, slices, pictures


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
