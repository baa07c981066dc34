"""Drift statistics (pure, scipy): KS for numeric features, chi-square and PSI for categorical ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-4


@dataclass(frozen=True)
class Thresholds:
    alpha: float
    ks: float
    psi: float


def psi_from_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index between two histograms over the same bins."""
    ref = np.clip(reference / max(reference.sum(), 1), EPSILON, None)
    cur = np.clip(current / max(current.sum(), 1), EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_drift(reference: pd.Series, current: pd.Series, bins: int = 10) -> dict[str, float]:
    """KS statistic and p-value, and PSI over the reference's deciles."""
    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    if len(ref) == 0 or len(cur) == 0:
        return {"statistic": float("nan"), "p_value": float("nan"), "psi": float("nan")}
    ks = stats.ks_2samp(ref, cur)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ref_counts = np.histogram(ref, edges)[0].astype(float)
    cur_counts = np.histogram(cur, edges)[0].astype(float)
    return {
        "statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
        "psi": psi_from_counts(ref_counts, cur_counts),
    }


def categorical_drift(reference: pd.Series, current: pd.Series) -> dict[str, float]:
    """Chi-square test of the category counts (missing is a category) and PSI over the same categories."""
    ref, cur = reference.astype(object).fillna("<missing>"), current.astype(object).fillna("<missing>")
    categories = sorted(set(ref.unique()) | set(cur.unique()), key=str)
    ref_counts = ref.value_counts().reindex(categories, fill_value=0).to_numpy(float)
    cur_counts = cur.value_counts().reindex(categories, fill_value=0).to_numpy(float)
    if len(categories) < 2:
        return {"statistic": 0.0, "p_value": 1.0, "psi": 0.0}
    table = np.vstack([ref_counts, cur_counts]) + 0.5  # continuity: categories seen on one side only
    chi2, p_value, _, _ = stats.chi2_contingency(table)
    return {"statistic": float(chi2), "p_value": float(p_value), "psi": psi_from_counts(ref_counts, cur_counts)}


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str], thresholds: Thresholds
) -> pd.DataFrame:
    """One row per feature: test, statistic, p-value, PSI and whether it drifted."""
    rows = []
    for column in numeric:
        result = numeric_drift(reference[column], current[column])
        large = result["statistic"] >= thresholds.ks or result["psi"] >= thresholds.psi
        drifted = large and result["p_value"] < thresholds.alpha
        rows.append({"feature": column, "kind": "numeric", "test": "ks", **result, "drifted": bool(drifted)})
    for column in categorical:
        result = categorical_drift(reference[column], current[column])
        drifted = result["psi"] >= thresholds.psi and result["p_value"] < thresholds.alpha
        rows.append({"feature": column, "kind": "categorical", "test": "chi2", **result, "drifted": bool(drifted)})
    return pd.DataFrame(rows, columns=["feature", "kind", "test", "statistic", "p_value", "psi", "drifted"])


def prediction_drift(reference: np.ndarray, current: np.ndarray) -> dict[str, float]:
    """KS between the model's scores on the reference and on the current window."""
    return numeric_drift(pd.Series(reference), pd.Series(current))
