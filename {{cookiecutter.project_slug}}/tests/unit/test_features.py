"""Point-in-time features on tiny hand-made tables."""

from __future__ import annotations

import pandas as pd

from {{ cookiecutter.__package_name }}.core import features as F


def tiny_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    flights = pd.DataFrame(
        {
            "year": [2013] * 4,
            "month": [1, 1, 1, 2],
            "day": [1, 1, 2, 1],
            "dep_time": [520.0, 700.0, None, 900.0],
            "sched_dep_time": [515, 640, 800, 845],
            "dep_delay": [5.0, 15.0, None, 14.0],
            "arr_time": [830.0, 1000.0, None, 1200.0],
            "sched_arr_time": [819, 950, 1100, 1130],
            "arr_delay": [11.0, 30.0, None, -3.0],
            "carrier": ["UA", "AA", "UA", "B6"],
            "flight": [1545, 33, 1, 7],
            "tailnum": ["N1", "N2", "N1", None],
            "origin": ["EWR", "JFK", "EWR", "LGA"],
            "dest": ["IAH", "MIA", "ORD", "BOS"],
            "air_time": [227.0, 160.0, None, 40.0],
            "distance": [1400, 1089, 719, 184],
            "hour": [5, 6, 8, 8],
            "minute": [15, 40, 0, 45],
            "time_hour": [
                "2013-01-01T10:00:00Z",
                "2013-01-01T11:00:00Z",
                "2013-01-02T13:00:00Z",
                "2013-02-01T13:00:00Z",
            ],
        }
    )
    weather = pd.DataFrame(
        {
            "origin": ["EWR", "EWR", "JFK", "LGA"],
            "time_hour": [
                "2013-01-01T09:00:00Z",
                "2013-01-01T10:00:00Z",
                "2013-01-01T10:00:00Z",
                "2013-02-01T12:00:00Z",
            ],
            **{column: [1.0, 2.0, 3.0, 4.0] for column in F.WEATHER},
        }
    )
    planes = pd.DataFrame(
        {"tailnum": ["N1", "N2"], "year": [2003.0, None], "seats": [180, 55], "engine": ["Turbo-fan", None]}
    )
    return flights, weather, planes


def test_weather_comes_from_the_hour_before_departure() -> None:
    """A 05:15 flight sees the 09:00Z observation (04:00 local), never the one of its own hour."""
    features = F.build_features(*tiny_tables(), task="classification")
    first = features.set_index(F.ID_COLUMN).loc["2013-01-01-UA1545-EWR-0515"]
    assert first["temp"] == 1.0


def test_classification_label_threshold_and_cancelled_flights() -> None:
    """Delays of 15 minutes or more are positive, 14 is not; cancelled flights have no label and are dropped."""
    features = F.build_features(*tiny_tables(), task="classification")
    assert len(features) == 3
    assert features.set_index("carrier")["dep_delayed"].to_dict() == {"UA": 0, "AA": 1, "B6": 0}


def test_regression_label_is_arrival_delay() -> None:
    features = F.build_features(*tiny_tables(), task="regression")
    assert sorted(features["arr_delay"]) == [-3.0, 11.0, 30.0]


def test_no_outcome_column_leaks_into_the_features() -> None:
    """Nothing measured after departure (actual times, delays other than the label, air time) is a feature."""
    features = F.build_features(*tiny_tables(), task="classification")
    leaks = {"dep_time", "arr_time", "dep_delay", "arr_delay", "air_time", "tailnum", "time_hour"}
    assert leaks.isdisjoint(features.columns)
    assert list(features.columns) == [F.ID_COLUMN, F.TIME_COLUMN, *F.CATEGORICAL, *F.NUMERIC, "dep_delayed"]


def test_plane_facts_and_route() -> None:
    features = F.build_features(*tiny_tables(), task="classification").set_index("carrier")
    assert features.loc["UA", "plane_age"] == 10.0
    assert features.loc["UA", "route"] == "EWR-IAH"
    assert pd.isna(features.loc["B6", "plane_age"])


def test_split_columns_by_dtype() -> None:
    frame = pd.DataFrame(
        {"id": ["a"], "t": [pd.Timestamp("2013-01-01")], "y": [1], "n": [1.5], "c": ["x"], "b": [True]}
    )
    assert F.split_columns(frame, ["id", "t", "y"]) == (["n"], ["c", "b"])


def test_a_raw_request_gets_the_batch_features_of_its_flight() -> None:
    """Flights sent as a client sends them (request_records), put back in the flights table's shape and joined with
    the lookups, give exactly the rows build_features gives on the whole tables; the time_hour of the departure is
    rebuilt from the local clock (New York, EST in January)."""
    flights, weather, planes = tiny_tables()
    schedule = F.schedule_from_requests(F.request_records(flights))
    assert (schedule["time_hour"] == pd.to_datetime(flights["time_hour"], utc=True)).all()
    batch = F.build_features(flights, weather, planes, task="classification", labelled_only=False)
    online = F.join_features(
        schedule, F.weather_lookup(weather), F.plane_lookup(planes), task="classification", labelled_only=False
    )
    inputs = [*F.CATEGORICAL, *F.NUMERIC]
    pd.testing.assert_frame_equal(online[[F.ID_COLUMN, *inputs]], batch[[F.ID_COLUMN, *inputs]])


def test_a_summer_departure_is_on_daylight_time_and_midnight_arrivals_keep_their_clock() -> None:
    """July in New York is UTC-4; an arrival at 2400 in the table is 00:00 local, the same block minutes."""
    records = pd.DataFrame(
        {
            "carrier": ["UA"], "flight": [1], "tailnum": [None], "origin": ["EWR"], "dest": ["SFO"],
            "distance": [2565.0], "scheduled_departure": ["2013-07-04T21:05"],
            "scheduled_arrival": ["2013-07-05T00:00"],
        }
    )  # fmt: skip
    schedule = F.schedule_from_requests(records)
    assert schedule.loc[0, "time_hour"] == pd.Timestamp("2013-07-05T01:00:00Z")
    assert schedule.loc[0, "sched_dep_time"] == 2105 and schedule.loc[0, "sched_arr_time"] == 0
