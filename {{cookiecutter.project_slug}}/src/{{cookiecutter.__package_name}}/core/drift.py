"""Drift statistics (pure, scipy): KS for numeric features, chi-square and PSI for categorical ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-4
KS_EXACT_MAX_N = 10_000  # up to this sample size scipy's ks_2samp uses the exact distribution ("auto" mode)
MISSING = "<missing>"


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


def ks_two_sample(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and p-value of two *sorted* samples, as ``scipy.stats.ks_2samp`` gives them.

    Samples of up to 10,000 values go to scipy as they are (it uses the exact distribution there). Above that, scipy
    evaluates both empirical CDFs at the unsorted concatenation of the samples, and those binary searches jump all
    over memory; evaluating them at each sorted sample instead finds the same largest gap (up to floating-point
    rounding) several times faster. The p-value is then scipy's asymptotic one (``stats.kstwo``), as in ``ks_2samp``.
    """
    n1, n2 = len(reference), len(current)
    if max(n1, n2) <= KS_EXACT_MAX_N:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    gap = 0.0
    for points in (reference, current):
        below_reference = np.searchsorted(reference, points, side="right") / n1
        below_current = np.searchsorted(current, points, side="right") / n2
        gap = max(gap, float(np.abs(below_reference - below_current).max()))
    larger, smaller = max(n1, n2), min(n1, n2)
    effective_n = np.round(larger * smaller / (larger + smaller))
    return gap, float(np.clip(stats.kstwo.sf(gap, effective_n), 0, 1))


def numeric_drift(reference: pd.Series, current: pd.Series, bins: int = 10) -> dict[str, float]:
    """KS statistic and p-value, and PSI over the reference's deciles (missing values left out)."""
    ref, cur = (np.sort(values[~np.isnan(values)]) for values in (reference.to_numpy(float), current.to_numpy(float)))
    if len(ref) == 0 or len(cur) == 0:
        return {"statistic": float("nan"), "p_value": float("nan"), "psi": float("nan")}
    statistic, p_value = ks_two_sample(ref, cur)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    return {
        "statistic": statistic,
        "p_value": p_value,
        "psi": psi_from_counts(bin_counts(ref, edges), bin_counts(cur, edges)),
    }


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for sorted values, by binary search instead of a pass over the data."""
    positions = np.searchsorted(values, edges, side="left")
    positions[-1] = np.searchsorted(values, edges[-1], side="right")  # the last bin is closed, as in np.histogram
    return np.diff(positions).astype(float)


def category_counts(values: pd.Series) -> pd.Series:
    """How often each category occurs, missing values counted as the category ``<missing>``."""
    counts = values.value_counts(dropna=False)
    counts.index = pd.Index([MISSING if pd.isna(key) else key for key in counts.index], dtype=object)
    return counts.groupby(level=0).sum()


def categorical_drift(reference: pd.Series, current: pd.Series) -> dict[str, float]:
    """Chi-square test of the category counts (missing is a category) and PSI over the same categories."""
    ref, cur = category_counts(reference), category_counts(current)
    categories = sorted(set(ref.index) | set(cur.index), key=str)
    ref_counts = ref.reindex(categories, fill_value=0).to_numpy(float)
    cur_counts = cur.reindex(categories, fill_value=0).to_numpy(float)
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
