"""The drift statistics on synthetic samples with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }}.monitoring import drift
from {{ cookiecutter.__package_name }}.monitoring.drift import Thresholds, feature_drift

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
