"""The model: preprocessing plus a gradient-boosted tree ensemble, for either task."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from {{ cookiecutter.__package_name }}.core.task import TaskSpec

# Small, sensible search space for the optional tuning in dev.
SEARCH_SPACE: dict[str, list[Any]] = {
    "model__learning_rate": [0.03, 0.05, 0.08, 0.12],
    "model__max_leaf_nodes": [15, 31, 63],
    "model__min_samples_leaf": [20, 40, 80],
    "model__l2_regularization": [0.0, 0.5, 1.0, 3.0],
}


def make_pipeline(
    spec: TaskSpec, numeric: list[str], categorical: list[str], params: dict[str, Any], seed: int
) -> Pipeline:
    """Ordinal-encode categoricals (unknown and rare values become missing) and fit HistGradientBoosting."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        max_categories=250,
        dtype=np.float64,
    )
    preprocess = ColumnTransformer(
        [("categorical", encoder, categorical), ("numeric", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )
    estimator = spec.estimator(
        loss=spec.loss,
        categorical_features=[True] * len(categorical) + [False] * len(numeric),
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=seed,
        **params,
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])
