"""Periods of the production cycle: when data arrives, when its labels do, what a model may learn from."""

from __future__ import annotations

import pandas as pd

FREQUENCIES = {"month": "M", "week": "W-SUN"}


def to_period(label: str, unit: str) -> pd.Period:
    """The period a label names: ``2013-05`` (month) or the first day of the week, ``2013-05-06`` (week)."""
    return pd.Period(label, FREQUENCIES[unit])


def label(period: pd.Period, unit: str) -> str:
    """A period's name, also its file name: ``2013-05`` or ``2013-05-06``."""
    return str(period) if unit == "month" else period.start_time.strftime("%Y-%m-%d")


def periods_of(times: pd.Series, unit: str) -> pd.Series:
    """The period label of each timestamp."""
    periods = pd.to_datetime(times).dt.to_period(FREQUENCIES[unit])
    if unit == "month":
        return periods.astype(str)
    return periods.dt.start_time.dt.strftime("%Y-%m-%d")


def shift(name: str, steps: int, unit: str) -> str:
    return label(to_period(name, unit) + steps, unit)


def between(first: str, last: str, unit: str) -> list[str]:
    """Every period from ``first`` to ``last``, both included (empty when last is before first)."""
    start, end = to_period(first, unit), to_period(last, unit)
    return [label(start + step, unit) for step in range((end - start).n + 1)] if end >= start else []


def distance(earlier: str, later: str, unit: str) -> int:
    """How many periods ``later`` is after ``earlier``."""
    return (to_period(later, unit) - to_period(earlier, unit)).n


def labelled_through(newest: str, lag: int, unit: str) -> str:
    """The newest period whose labels have arrived once ``newest`` is in: labels come ``lag`` periods late."""
    return shift(newest, -lag, unit)


def training_periods(labelled: list[str], through: str, window: int | None, unit: str) -> list[str]:
    """The labelled periods a model trained as of ``through`` learns from: at most the ``window`` newest, never a later
    one (point in time)."""
    eligible = sorted(p for p in labelled if to_period(p, unit) <= to_period(through, unit))
    return eligible if window is None else eligible[-window:]


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame, key: str, target: str) -> pd.DataFrame:
    """Published predictions with the ground truth that arrived later, matched by ``key``; rows still without a label
    (not arrived, or never: a cancelled flight) are left out."""
    truth = labels[[key, target]].dropna(subset=[target]).drop_duplicates(key, keep="last")
    return predictions.merge(truth, on=key, how="inner", validate="many_to_one")


def local_times(table: pd.DataFrame) -> pd.Series:
    """A table's local date and time from its year, month, day, hour (and minute) columns."""
    parts = {unit: table[unit] for unit in ("year", "month", "day", "hour")}
    return pd.to_datetime({**parts, "minute": table.get("minute", 0)})


def next_to_ingest(available: list[str], ingested: list[str], unit: str) -> str | None:
    """The period after the newest one ingested (the first available one at the start); None when the upstream has
    nothing newer."""
    if not ingested:
        return min(available) if available else None
    candidate = shift(max(ingested), 1, unit)
    return candidate if candidate in available else None


def labels_due(ingested: list[str], labelled: list[str], newest: str, lag: int, unit: str) -> list[str]:
    """Ingested periods whose labels have arrived by the time ``newest`` is in, and are not stored yet."""
    through = to_period(labelled_through(newest, lag, unit), unit)
    return sorted(p for p in ingested if to_period(p, unit) <= through and p not in labelled)
