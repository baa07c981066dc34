"""Reading the server's inference log (JSON lines, plus the files retention rotated) for judging and monitoring."""

from __future__ import annotations

import json

import pandas as pd

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io.data import output_path

COLUMNS = ["request_id", "timestamp", "model_version", "model_alias", "prediction"]


def read_answers(settings: Settings) -> pd.DataFrame:
    """One row per logged prediction: request id, time, the version and alias that made it, the prediction and the
    row key (data.id_column) when the request carried it. Rotated logs (``<name>.<timestamp>``) come first."""
    live = settings.path(output_path(settings, settings.serve.inference_log))
    files = sorted(live.parent.glob(f"{live.name}.*")) + ([live] if live.is_file() else [])
    key = settings.data.id_column
    rows = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            row = {column: entry.get(column) for column in COLUMNS}
            row[key] = (entry.get("features") or {}).get(key)
            rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, key])
    return frame.astype({"model_version": str}) if not frame.empty else frame
