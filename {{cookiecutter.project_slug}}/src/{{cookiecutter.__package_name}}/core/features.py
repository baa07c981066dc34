"""Point-in-time-correct features: only what is known at the scheduled departure time."""

from __future__ import annotations

import pandas as pd

# Inputs of the model, by kind. Everything here is known when the flight is scheduled.
CATEGORICAL = ["carrier", "origin", "dest", "route", "engine"]
NUMERIC = [
    "dep_hour",
    "dep_minute",
    "weekday",
    "month",
    "day_of_year",
    "distance",
    "scheduled_block_minutes",
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
    "plane_age",
    "seats",
]
WEATHER = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
# What is only known once a flight has flown: its outcomes, the labels of both tasks among them. The production cycle
# ingests a period's schedule without them and its outcomes operate.label_lag periods later (labels/<period>).
OUTCOMES = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]
# The columns build_features reads from each raw table.
RAW_COLUMNS = {
    "flights": ["year", "month", "day", "hour", "minute", "sched_dep_time", "sched_arr_time", "dep_delay", "arr_delay",
                "carrier", "flight", "tailnum", "origin", "dest", "distance", "time_hour"],
    "weather": ["origin", "time_hour", *WEATHER],
    "planes": ["tailnum", "year", "seats", "engine"],
}  # fmt: skip
ID_COLUMN, TIME_COLUMN = "flight_id", "scheduled_departure"
# The local time of the flights table's clock times (departures are from New York's airports).
LOCAL_TIMEZONE = "America/New_York"
# What a client sends to POST /predict for one flight (the server computes the model inputs): name -> JSON type.
# Times are local ISO 8601 date-times (the departure at the origin, the arrival at the destination), as scheduled.
REQUEST_FIELDS = {
    "carrier": "string",
    "flight": "integer",
    "tailnum": "string",
    "origin": "string",
    "dest": "string",
    "distance": "number",
    "scheduled_departure": "date-time",
    "scheduled_arrival": "date-time",
}
NULLABLE_REQUEST_FIELDS = ("tailnum",)
DELAY_THRESHOLD_MINUTES = 15
# The label of each task from the flights table: (column, dtype, how to compute it). Missing means cancelled.
LABELS = {
    "classification": (
        "dep_delayed",
        "int64",
        lambda f: (f["dep_delay"] >= DELAY_THRESHOLD_MINUTES).where(f["dep_delay"].notna()),
    ),
    "regression": ("arr_delay", "float64", lambda f: f["arr_delay"]),
}


def _minutes(hhmm: pd.Series) -> pd.Series:
    return (hhmm // 100) * 60 + hhmm % 100


def _dates(flights: pd.DataFrame) -> pd.Series:
    """YYYY-MM-DD of each flight's scheduled day."""
    return (
        flights["year"].astype(str)
        + "-"
        + flights["month"].astype(str).str.zfill(2)
        + "-"
        + flights["day"].astype(str).str.zfill(2)
    )


def flight_ids(flights: pd.DataFrame) -> pd.Series:
    """A stable key per scheduled flight: date, carrier, number, origin and scheduled time."""
    raw = (
        _dates(flights)
        + "-"
        + flights["carrier"].astype(str)
        + flights["flight"].astype(str)
        + "-"
        + flights["origin"].astype(str)
        + "-"
        + flights["sched_dep_time"].astype(str).str.zfill(4)
    )
    return raw


def split_outcomes(flights: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the schedule, known ahead; the outcomes keyed by flight id, known once the flights have flown)."""
    present = [c for c in OUTCOMES if c in flights.columns]
    return flights.drop(columns=present), flights[present].assign(**{ID_COLUMN: flight_ids(flights)})


def with_outcomes(schedule: pd.DataFrame, outcomes: pd.DataFrame | None) -> pd.DataFrame:
    """The schedule with the outcomes that have arrived (missing ones stay empty: not flown, or not labelled yet)."""
    keyed = schedule.drop(columns=[c for c in OUTCOMES if c in schedule.columns])
    keyed = keyed.assign(**{ID_COLUMN: flight_ids(keyed)})
    if outcomes is not None and not outcomes.empty:
        keyed = keyed.merge(outcomes.drop_duplicates(ID_COLUMN, keep="last"), on=ID_COLUMN, how="left",
                            validate="many_to_one")  # fmt: skip
    missing = {c: float("nan") for c in OUTCOMES if c not in keyed.columns}
    return keyed.assign(**missing).drop(columns=ID_COLUMN)


def weather_lookup(weather: pd.DataFrame) -> pd.DataFrame:
    """The hourly observations keyed by (origin, weather_hour): the weather table the features join, and what the
    pipeline materialises into the online feature table for the server."""
    obs = weather[["origin", "time_hour", *WEATHER]].copy()
    obs["weather_hour"] = pd.to_datetime(obs["time_hour"], utc=True)
    obs["origin"] = obs["origin"].astype(object)
    return obs.drop(columns="time_hour").drop_duplicates(["origin", "weather_hour"]).reset_index(drop=True)


def plane_lookup(planes: pd.DataFrame) -> pd.DataFrame:
    """Plane facts keyed by tail number (``built`` is the year of manufacture): joined like the weather."""
    fleet = planes[["tailnum", "year", "seats", "engine"]].rename(columns={"year": "built"})
    return fleet.assign(tailnum=fleet["tailnum"].astype(object)).drop_duplicates("tailnum").reset_index(drop=True)


def build_features(
    flights: pd.DataFrame, weather: pd.DataFrame, planes: pd.DataFrame, task: str, *, labelled_only: bool = True
) -> pd.DataFrame:
    """Join flights with the weather known before departure and plane facts; add the label of ``task``.

    Weather comes from the last complete hourly observation at the origin *before* the scheduled
    departure hour, so nothing observed after the schedule leaks in. Flights without a label (cancelled, or not
    flown yet) are dropped, unless ``labelled_only`` is false (scoring): then their label is missing (NaN).
    """
    return join_features(flights, weather_lookup(weather), plane_lookup(planes), task, labelled_only=labelled_only)


def join_features(
    flights: pd.DataFrame, obs: pd.DataFrame, fleet: pd.DataFrame, task: str, *, labelled_only: bool = True
) -> pd.DataFrame:
    """``build_features`` on lookups already prepared (``weather_lookup``, ``plane_lookup``): the batch pipeline passes
    whole tables, the server the rows its online feature table holds for the flights of a request. A flight without
    an observation or a known plane gets missing values either way."""
    target, dtype, label = LABELS[task]
    frame = pd.DataFrame(
        {
            target: label(flights).astype("float64"),
            ID_COLUMN: flight_ids(flights),
            TIME_COLUMN: pd.to_datetime(
                dict(
                    year=flights["year"],
                    month=flights["month"],
                    day=flights["day"],
                    hour=flights["hour"],
                    minute=flights["minute"],
                )
            ),
            "carrier": flights["carrier"].astype(object),
            "origin": flights["origin"].astype(object),
            "dest": flights["dest"].astype(object),
            "distance": flights["distance"].astype("float64"),
            "tailnum": flights["tailnum"].astype(object),
            "weather_hour": pd.to_datetime(flights["time_hour"], utc=True) - pd.Timedelta(hours=1),
        }
    )
    frame["route"] = frame["origin"] + "-" + frame["dest"]
    frame["dep_hour"] = flights["hour"].astype("float64")
    frame["dep_minute"] = flights["minute"].astype("float64")
    frame["weekday"] = frame[TIME_COLUMN].dt.day_of_week.astype("float64")
    frame["month"] = frame[TIME_COLUMN].dt.month.astype("float64")
    frame["day_of_year"] = frame[TIME_COLUMN].dt.day_of_year.astype("float64")
    block = _minutes(flights["sched_arr_time"]) - _minutes(flights["sched_dep_time"])
    frame["scheduled_block_minutes"] = (block % 1440).astype("float64")

    frame = frame.merge(obs, on=["origin", "weather_hour"], how="left", validate="many_to_one")
    frame = frame.merge(fleet, on="tailnum", how="left", validate="many_to_one")
    frame["plane_age"] = (frame[TIME_COLUMN].dt.year - frame["built"]).astype("float64")
    frame["seats"] = frame["seats"].astype("float64")
    frame["engine"] = frame["engine"].astype(object)
    for column in WEATHER:
        frame[column] = frame[column].astype("float64")

    frame = frame[frame[target].notna()].astype({target: dtype}) if labelled_only else frame
    frame = frame.drop_duplicates(ID_COLUMN)
    columns = [ID_COLUMN, TIME_COLUMN, *CATEGORICAL, *NUMERIC, target]
    return frame[columns].sort_values([TIME_COLUMN, ID_COLUMN]).reset_index(drop=True)


def request_records(flights: pd.DataFrame) -> pd.DataFrame:
    """The flights table's scheduled flights as clients send them to the server (``REQUEST_FIELDS``): the inverse of
    ``schedule_from_requests``, for examples, tests and benchmarks."""

    def local(day: pd.Series, hhmm: pd.Series) -> pd.Series:
        minutes = _minutes(hhmm) % 1440  # 2400 is midnight of the next day: the clock time is what the features use
        clock = (minutes // 60).astype(str).str.zfill(2) + ":" + (minutes % 60).astype(str).str.zfill(2)
        return day + "T" + clock

    day = _dates(flights)
    tailnum = flights["tailnum"].astype(object)
    return pd.DataFrame(
        {
            "carrier": flights["carrier"].astype(str),
            "flight": flights["flight"].astype("int64"),
            "tailnum": tailnum.where(tailnum.notna(), None),
            "origin": flights["origin"].astype(str),
            "dest": flights["dest"].astype(str),
            "distance": flights["distance"].astype("float64"),
            "scheduled_departure": local(day, flights["hour"] * 100 + flights["minute"]),
            "scheduled_arrival": local(day, flights["sched_arr_time"]),
        }
    )


def schedule_from_requests(records: pd.DataFrame) -> pd.DataFrame:
    """Raw flight records as a request carries them (``REQUEST_FIELDS``) in the flights table's shape, so that
    ``join_features`` computes their inputs exactly as the batch pipeline does. Times are local to the airports, as
    in the flights table; ``time_hour`` is the departure hour at the origin (New York) in UTC."""
    departure = pd.to_datetime(records["scheduled_departure"])
    arrival = pd.to_datetime(records["scheduled_arrival"])
    hour = departure.dt.floor("h").dt.tz_localize(LOCAL_TIMEZONE, ambiguous=True, nonexistent="shift_forward")
    schedule = pd.DataFrame(
        {
            "year": departure.dt.year,
            "month": departure.dt.month,
            "day": departure.dt.day,
            "hour": departure.dt.hour,
            "minute": departure.dt.minute,
            "sched_dep_time": departure.dt.hour * 100 + departure.dt.minute,
            "sched_arr_time": arrival.dt.hour * 100 + arrival.dt.minute,
            "carrier": records["carrier"],
            "flight": records["flight"].astype("int64"),
            "tailnum": records["tailnum"],
            "origin": records["origin"],
            "dest": records["dest"],
            "distance": records["distance"],
            "time_hour": hour.dt.tz_convert("UTC"),
        }
    )
    return schedule.assign(**{c: float("nan") for c in OUTCOMES})


def split_columns(frame: pd.DataFrame, exclude: list[str]) -> tuple[list[str], list[str]]:
    """Numeric and categorical input columns of a table, by dtype (for your own CSV)."""
    inputs = [c for c in frame.columns if c not in exclude]
    numeric = [
        c for c in inputs if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in inputs if c not in numeric]
    return numeric, categorical
