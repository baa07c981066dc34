"""Batch inputs are checked against the model's signature: strict, every problem at once, each naming its column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.config import load_settings
from {{ cookiecutter.__package_name }}.pipeline.predict import InputSchemaError, input_schema, validate_chunk

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KINDS = {"carrier": "string", "distance": "double"}  # input name -> MLflow type, as the model's signature gives them


def batch(**overrides) -> pd.DataFrame:
    settings = load_settings("dev", PROJECT_ROOT)
    frame = pd.DataFrame(
        {
            settings.data.id_column: ["a", "b"],
            settings.data.time_column: pd.to_datetime(["2013-01-01", "2013-01-02"]),
            "carrier": ["UA", "AA"],
            "distance": [100.0, 200.0],
        }
    )
    for column, value in overrides.items():
        if value is None:
            frame = frame.drop(columns=column)
        else:
            frame[column] = value
    return frame


def test_a_good_batch_passes() -> None:
    schema = input_schema(load_settings("dev", PROJECT_ROOT), KINDS)
    assert len(validate_chunk(schema, batch(), "batch")) == 2


def test_every_problem_is_reported_at_once_naming_its_column() -> None:
    """A missing column, an unexpected one and a wrong type are all listed in one error."""
    schema = input_schema(load_settings("dev", PROJECT_ROOT), KINDS)
    bad = batch(distance=None, extra=[1, 2], carrier=[1.5, 2.5])
    with pytest.raises(InputSchemaError) as err:
        validate_chunk(schema, bad, "batch.parquet")
    message = str(err.value)
    assert "column 'distance': missing" in message
    assert "column 'extra': not expected" in message
    assert "column 'carrier': expected type" in message
