"""The one MLflow adapter: tracking URI, experiment, registry aliases and version tags."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
STATUS_TAG = "model_validation_status"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registry:
    """The environment's registered model, seen through the MLflow client."""

    settings: Settings
    client: MlflowClient

    @property
    def name(self) -> str:
        return self.settings.tracking.registered_model

    def version_by_alias(self, alias: str):
        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def version(self, version: str):
        try:
            return self.client.get_model_version(self.name, str(version))
        except MlflowException as err:
            raise LookupError(
                f"model {self.name} version {version} is not in the registry at {self.settings.tracking_uri}. "
                f"Re-run training: dvc repro --force train@{self.settings.env}"
            ) from err

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.name, alias, str(version))

    def delete_alias(self, alias: str) -> None:
        if self.version_by_alias(alias) is not None:
            self.client.delete_registered_model_alias(self.name, alias)

    def tag(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, str(version), key, str(value))

    def uri(self, alias_or_version: str) -> str:
        sep = "/" if str(alias_or_version).isdigit() else "@"
        return f"models:/{self.name}{sep}{alias_or_version}"


def connect(settings: Settings) -> Registry:
    """Point MLflow at the environment's store and experiment (artifacts next to a local SQLite store)."""
    uri = settings.tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    name = settings.tracking.experiment
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.get_experiment_by_name(name) is None:
        location = None
        if uri.startswith("sqlite:///"):  # artifacts next to the database file, wherever the run happens
            location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
        client.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)
    return Registry(settings, client)
