"""Raw flight records to model inputs at request time, with the batch pipeline's own feature code.

The request's flights take the flights table's shape (``schedule_from_requests``), the online feature table gives
the weather and plane rows for their keys, and ``join_features`` (what ``build_features`` runs on whole tables)
computes the inputs. A flight whose weather hour or plane is not in the table gets missing values, as in batch.
"""

from __future__ import annotations

import math

import pandas as pd

from {{ cookiecutter.__package_name }}.core.features import (
    ID_COLUMN,
    flight_ids,
    join_features,
    schedule_from_requests,
)
from {{ cookiecutter.__package_name }}.io.online import OnlineFeatures


class FlightFeatures:
    """Computes the inputs of raw flight records for one task."""

    def __init__(self, online: OnlineFeatures, task: str) -> None:
        self.online = online
        self.task = task

    def rows(self, records: list[dict], inputs: tuple[str, ...]) -> tuple[list[dict], list[str]]:
        """(one dict of model inputs plus the flight id per record, in request order; the flight ids)."""
        schedule = schedule_from_requests(pd.DataFrame.from_records(records))
        obs, fleet = self.online.lookup(schedule)
        features = join_features(schedule, obs, fleet, self.task, labelled_only=False).set_index(ID_COLUMN)
        ordered = features.loc[flight_ids(schedule).tolist(), list(inputs)]  # request order; a repeated flight twice
        rows = []
        for flight_id, values in zip(ordered.index, ordered.itertuples(index=False, name=None), strict=True):
            row = {column: _plain(value) for column, value in zip(inputs, values, strict=True)}
            row[ID_COLUMN] = str(flight_id)
            rows.append(row)
        return rows, [str(i) for i in ordered.index]


def _plain(value):
    """A JSON-ready value: NaN/NaT/None become None, numpy numbers Python numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value
