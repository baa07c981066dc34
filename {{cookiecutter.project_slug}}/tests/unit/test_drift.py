"""The drift statistics on synthetic samples with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from {{ cookiecutter.__package_name }}.core import drift
from {{ cookiecutter.__package_name }}.core.drift import Thresholds, feature_drift

THRESHOLDS = Thresholds(alpha=0.01, ks=0.1, psi=0.2)


def test_same_distribution_is_not_drift() -> None:
    """Two samples of one distribution: small KS, small PSI, not drifted."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000)})
    current = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000)})
    table = feature_drift(reference, current, ["x"], ["c"], THRESHOLDS)
    assert not table["drifted"].any()
    assert (table["psi"] < 0.05).all()


def test_shifted_numeric_and_categorical_are_drift() -> None:
    """A shifted mean and a changed category mix are flagged, with KS and PSI above their thresholds."""
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000, p=[0.6, 0.3, 0.1])})
    current = pd.DataFrame({"x": rng.normal(0.7, 1, size=5000), "c": rng.choice(list("abc"), 5000, p=[0.2, 0.3, 0.5])})
    table = feature_drift(reference, current, ["x"], ["c"], THRESHOLDS).set_index("feature")
    assert table.loc["x", "drifted"] and table.loc["x", "statistic"] > 0.2
    assert table.loc["c", "drifted"] and table.loc["c", "psi"] > 0.2


def test_unseen_category_and_missing_values_are_handled() -> None:
    """A category absent from the reference and missing values do not break the statistics."""
    result = drift.categorical_drift(pd.Series(["a", "b", None] * 100), pd.Series(["a", "z", None] * 100))
    assert result["psi"] > 0.2 and result["p_value"] < 0.01
    empty = drift.numeric_drift(pd.Series([1.0, 2.0]), pd.Series([np.nan, np.nan]))
    assert np.isnan(empty["statistic"])


@pytest.mark.parametrize("shift", [0.05, -0.05])
@pytest.mark.parametrize(
    ("sizes", "rounding"),
    [((500, 800), None), ((500, 800), 1), ((20_000, 15_000), None), ((20_000, 15_000), 1), ((30_000, 30_000), 0)],
)
def test_ks_matches_scipy(sizes: tuple[int, int], rounding: int | None, shift: float) -> None:
    """The KS statistic and p-value are scipy's ks_2samp's, below and above its exact-distribution size, with ties,
    whichever sample's points the largest gap sits at."""
    rng = np.random.default_rng(sizes[0] + (rounding or 0))
    reference, current = rng.normal(0, 1, sizes[0]), rng.normal(shift, 1, sizes[1])
    if rounding is not None:
        reference, current = reference.round(rounding), current.round(rounding)
    statistic, p_value = drift.ks_two_sample(np.sort(reference), np.sort(current))
    expected = stats.ks_2samp(reference, current)
    assert statistic == pytest.approx(float(expected.statistic), rel=1e-12)  # scipy versions differ in the last bit
    assert p_value == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-300)


def test_bin_counts_match_numpy_histogram() -> None:
    """Counting sorted values by binary search gives np.histogram's counts, ties on edges and infinities included."""
    rng = np.random.default_rng(3)
    values = np.sort(np.concatenate([rng.poisson(4, 10_000).astype(float), [np.inf, -np.inf, np.inf]]))
    edges = np.unique(np.quantile(values[np.isfinite(values)], np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    assert drift.bin_counts(values, edges).tolist() == np.histogram(values, edges)[0].tolist()


def test_missing_values_of_any_kind_are_one_category() -> None:
    """None, NaN and pandas' NA all count as the one category '<missing>'."""
    counts = drift.category_counts(pd.Series(["a", None, np.nan, "a", pd.NA], dtype=object))
    assert counts.to_dict() == {"a": 2, drift.MISSING: 3}
