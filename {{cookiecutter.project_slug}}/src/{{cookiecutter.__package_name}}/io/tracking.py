"""The one MLflow adapter: the store, runs, the registry's versions, aliases and tags, and model loading.

No other module imports mlflow. Everything here speaks plain Python (``Version``, ``LoadedModel``, dicts), so the
steps above it never see an MLflow object.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import onnx_export
from {{ cookiecutter.__package_name }}.core.task import task_spec

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
STATUS_TAG = "model_validation_status"
NUMERIC_TYPES = frozenset({"double", "float", "long", "integer"})
# Types the skops serialisation of the pipeline holds beyond its default allow-list (reviewed: our own model).
SKOPS_TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]
MODEL_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
# The ONNX flavour: an extra artifact of the version's run, served only once validation tags it verified.
ONNX_ARTIFACT = "onnx/model.onnx"
ONNX_TAG = "onnx"  # exported (at registration), then verified, or failed: why
ONNX_PARITY_TAG = "onnx_parity"  # the largest difference from scikit-learn's predictions on the holdout
ONNX_VERIFIED = "verified"
log = logging.getLogger(__name__)


class RegistryError(LookupError):
    """The registry lacks what a step needs (a version, an alias); the message says what to run."""


class PermissionDeniedError(RegistryError):
    """The tracking server's auth app refused this identity a change (HTTP 403): nothing was changed."""


class ChampionChangedError(RegistryError):
    """@champion moved (a concurrent promote or rollback) between reading it and moving it: nothing was changed."""


@dataclass(frozen=True)
class Version:
    """One registered model version, as plain data."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    aliases: tuple[str, ...] = ()
    created_ms: int = 0


@dataclass(frozen=True)
class LoadedModel:
    """One registered version in memory, with what its signature says about its inputs."""

    name: str
    alias: str
    version: str
    model: Any
    inputs: tuple[str, ...]
    kinds: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    flavour: str = "sklearn"  # or "onnx": the export in onnxruntime, same predict / predict_proba

    def is_numeric(self, column: str) -> bool:
        return self.kinds[column] in NUMERIC_TYPES

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.inputs if self.is_numeric(c)]

    @property
    def categorical(self) -> list[str]:
        return [c for c in self.inputs if not self.is_numeric(c)]


def _plain(version) -> Version:
    return Version(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or "",
        tags=dict(version.tags or {}),
        aliases=tuple(getattr(version, "aliases", None) or ()),
        created_ms=int(version.creation_timestamp or 0),
    )


def _point_mlflow_at(uri: str) -> None:
    """Make ``uri`` the store of MLflow's fluent API, leaving the process environment as the caller set it.

    ``mlflow.set_tracking_uri()`` also exports MLFLOW_TRACKING_URI (for child processes); ``load_settings`` reads that
    variable as the caller's override, so it is put back as it was.
    """
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _experiment(client: MlflowClient, uri: str, name: str) -> str:
    """The id of experiment ``name``, created on first use (artifacts next to a local SQLite store)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by a concurrent step
        return client.get_experiment_by_name(name).experiment_id


@dataclass(frozen=True)
class Registry:
    """The environment's registered model and experiment, seen through the MLflow client."""

    settings: Settings
    client: MlflowClient

    @property
    def name(self) -> str:
        return self.settings.tracking.registered_model

    @property
    def store(self) -> str:
        return self.settings.tracking_uri

    # --- versions and aliases -------------------------------------------------------------------------------------

    def version_by_alias(self, alias: str) -> Version | None:
        try:
            return _plain(self.client.get_model_version_by_alias(self.name, alias))
        except MlflowException:
            return None

    def version(self, version: str) -> Version:
        try:
            return _plain(self.client.get_model_version(self.name, str(version)))
        except MlflowException as err:
            raise RegistryError(
                f"model {self.name} version {version} is not in the registry at {self.store}. "
                f"Re-run training: dvc repro --force train@{self.settings.env}"
            ) from err

    def versions(self) -> list[Version]:
        """Every version of the model, oldest first."""
        try:
            found = self.client.search_model_versions(f"name='{self.name}'")
        except MlflowException:
            return []
        return sorted((_plain(v) for v in found), key=lambda v: int(v.version))

    def aliases(self) -> dict[str, str]:
        """Alias -> version for the aliases this project uses that are set."""
        found = {alias: self.version_by_alias(alias) for alias in (CHAMPION, CHALLENGER, PREVIOUS)}
        return {alias: v.version for alias, v in found.items() if v is not None}

    def set_alias(self, alias: str, version: str) -> None:
        with _refused(f"move @{alias} of {self.name}", self.store):
            self.client.set_registered_model_alias(self.name, alias, str(version))

    def delete_alias(self, alias: str) -> None:
        if self.version_by_alias(alias) is not None:
            with _refused(f"remove @{alias} of {self.name}", self.store):
                self.client.delete_registered_model_alias(self.name, alias)

    @contextmanager
    def alias_lock(self) -> Iterator[None]:
        """Serialise alias moves of this store: an advisory lock file next to a SQLite store. A server store has no
        lock across machines; there the compare-and-set below narrows the race and CI's concurrency group closes it."""
        if not self.store.startswith("sqlite:///"):
            yield
            return
        path = Path(self.store.removeprefix("sqlite:///")).with_suffix(".aliases.lock")
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for %s: another promote or rollback is moving aliases", path.name)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _champion_is(self, expected: str | None) -> Version | None:
        current = self.version_by_alias(CHAMPION)
        found = None if current is None else current.version
        if found != expected:
            raise ChampionChangedError(
                f"@{CHAMPION} of {self.name} changed under this step: it was "
                f"{'v' + expected if expected else 'unset'} when read, it is {'v' + found if found else 'unset'} now "
                "(a concurrent promote or rollback). Nothing was moved; run the step again to act on the new champion"
            )
        return current

    def promote(self, challenger: str, expected_champion: str | None) -> None:
        """@champion -> ``challenger`` if it is still ``expected_champion`` (which becomes @previous_champion)."""
        with self.alias_lock():
            self._champion_is(expected_champion)
            if expected_champion is not None:
                self.set_alias(PREVIOUS, expected_champion)
            self.set_alias(CHAMPION, challenger)
            waiting = self.version_by_alias(CHALLENGER)
            if waiting is not None and waiting.version == challenger:
                self.delete_alias(CHALLENGER)

    def roll_back(self) -> tuple[str, str | None]:
        """Swap @champion and @previous_champion; returns (restored, replaced)."""
        with self.alias_lock():
            previous, current = self.version_by_alias(PREVIOUS), self.version_by_alias(CHAMPION)
            if previous is None:
                raise RegistryError(f"{self.name} has no @{PREVIOUS}: there is nothing to roll back to")
            self.set_alias(CHAMPION, previous.version)
            if current is not None:
                self.set_alias(PREVIOUS, current.version)
            return previous.version, None if current is None else current.version

    def tag(self, version: str, tags: Mapping[str, object]) -> None:
        with _refused(f"tag {self.name} v{version}", self.store):
            for key, value in tags.items():
                self.client.set_model_version_tag(self.name, str(version), key, str(value))

    def model_tags(self) -> dict[str, str]:
        """The registered model's own tags (what concerns every version: e.g. when retraining was last dispatched)."""
        try:
            return dict(self.client.get_registered_model(self.name).tags or {})
        except MlflowException:
            return {}

    def record_dispatch(self, version: str, episode: str, period: str) -> None:
        """Retraining was dispatched for ``episode`` of champion ``version`` at ``period``: never again for it."""
        episodes = [e for e in self.version(version).tags.get("retraining_episodes", "").split(",") if e]
        self.tag(version, {"retraining_episodes": ",".join([*episodes, episode])})
        self.client.set_registered_model_tag(self.name, "retraining_dispatched_at", period)

    def set_model_tags(self, tags: Mapping[str, object]) -> None:
        """Tags of the registered model itself (e.g. the canary's fraction, which every server follows)."""
        for key, value in tags.items():
            self.client.set_registered_model_tag(self.name, key, str(value))

    def uri(self, alias_or_version: str) -> str:
        sep = "/" if str(alias_or_version).isdigit() else "@"
        return f"models:/{self.name}{sep}{alias_or_version}"

    # --- runs -------------------------------------------------------------------------------------------------------

    def run_metrics(self, run_id: str) -> dict[str, float]:
        return dict(self.client.get_run(run_id).data.metrics)

    def holdout_metrics(self, version: Version) -> dict[str, float]:
        """The evaluation figures of a version's training run, without their ``holdout_`` prefix."""
        metrics = self.run_metrics(version.run_id)
        return {k.removeprefix("holdout_"): v for k, v in metrics.items() if k.startswith("holdout_")}

    # --- models -----------------------------------------------------------------------------------------------------

    def input_kinds(self, version: str) -> dict[str, str] | None:
        """Input column -> MLflow type name from the version's signature; None when it has no signature."""
        signature = mlflow.models.get_model_info(self.uri(version)).signature
        if signature is None or signature.inputs is None:
            return None
        return {spec.name: getattr(spec.type, "name", str(spec.type)) for spec in signature.inputs.inputs}

    def load(self, version: Version, alias: str = "", *, prefer_onnx: bool = False) -> LoadedModel:
        """Load ``version`` with its signature: the scikit-learn flavour, or with ``prefer_onnx`` its ONNX export
        when validation tagged it verified (falling back to scikit-learn if the export does not load)."""
        kinds = self.input_kinds(version.version) or {}
        model, flavour = None, "sklearn"
        if prefer_onnx and version.tags.get(ONNX_TAG) == ONNX_VERIFIED:
            try:
                model, flavour = onnx_export.OnnxPipeline(self.onnx_model(version)), "onnx"
            except Exception:  # a verified export that does not load: the scikit-learn flavour still serves
                log.exception("the ONNX flavour of %s v%s did not load; using scikit-learn", self.name, version.version)
        if model is None:
            model = mlflow.sklearn.load_model(self.uri(version.version))
        where = f" as @{alias}" if alias else ""
        log.info("loaded %s v%s%s (%s flavour)", self.name, version.version, where, flavour)
        return LoadedModel(self.name, alias, version.version, model, tuple(kinds), kinds, dict(version.tags), flavour)

    def sklearn_model(self, loaded: LoadedModel) -> Any:
        """The scikit-learn pipeline of a loaded version: the model itself on that flavour; for the ONNX flavour,
        which has no trees to read, the version's scikit-learn model is loaded (what SHAP explanations need)."""
        if loaded.flavour == "sklearn":
            return loaded.model
        return mlflow.sklearn.load_model(self.uri(loaded.version))

    def onnx_model(self, version: Version) -> bytes:
        """The serialised ONNX export logged with ``version``."""
        with tempfile.TemporaryDirectory() as folder:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=ONNX_ARTIFACT, dst_path=folder
            )
            return Path(path).read_bytes()

    def verify_onnx(self, version: Version, holdout) -> dict[str, str]:
        """Score ``holdout`` with the version's ONNX export and its scikit-learn model; tag ``onnx`` verified when
        every prediction agrees within ``onnx_export.PARITY_TOLERANCE`` (else ``failed: why``), and ``onnx_parity``
        with the largest difference. Never raises: a version without a servable export is served by scikit-learn."""
        status = version.tags.get(ONNX_TAG, "")
        if not status.startswith("exported"):
            tags = {ONNX_TAG: status or "failed: no ONNX export was logged with this version"}
        else:
            try:
                inputs = list(self.input_kinds(version.version) or {})
                exported = onnx_export.OnnxPipeline(self.onnx_model(version))
                reference = mlflow.sklearn.load_model(self.uri(version.version))
                scores = task_spec(self.settings.task).scores
                result = onnx_export.parity(scores, reference, exported, holdout[inputs])
                verdict = ONNX_VERIFIED if result.holds else f"failed: {result.describe()}"
                tags = {ONNX_TAG: verdict, ONNX_PARITY_TAG: f"{result.max_abs_diff:.3g}"}
            except Exception as err:  # e.g. the holdout lacks an input, onnxruntime refuses the graph
                tags = {ONNX_TAG: _failed(err)}
        self.tag(version.version, tags)
        return tags

    def load_alias(self, alias: str, *, prefer_onnx: bool = False) -> LoadedModel | None:
        """Load the version behind ``alias``; None when the alias is not set."""
        version = self.version_by_alias(alias)
        return None if version is None else self.load(version, alias, prefer_onnx=prefer_onnx)

    def log_trained_model(
        self,
        model: Any,
        example,
        output,
        *,
        predict_fn: str,
        tags: Mapping[str, str],
        params: Mapping[str, object],
        metrics: Mapping[str, float],
        artifacts: tuple[Path, ...] = (),
    ) -> Version:
        """Log a fitted scikit-learn model in a new run of the experiment, register it, tag the version."""
        from importlib.metadata import version as installed

        requirements = [f"{name}=={installed(name)}" for name in MODEL_REQUIREMENTS]
        with mlflow.start_run(run_name=f"train-{self.settings.env}") as run:
            mlflow.set_tags(dict(tags))
            mlflow.log_params(dict(params))
            mlflow.log_metrics(dict(metrics))
            for path in artifacts:
                mlflow.log_artifact(str(path))
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(example, output),
                input_example=example,
                registered_model_name=self.name,
                pip_requirements=requirements,
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
                pyfunc_predict_fn=predict_fn,
            )
            onnx_status = _log_onnx(model)
        version = str(info.registered_model_version)
        self.tag(version, {**tags, "run_id": run.info.run_id, ONNX_TAG: onnx_status})
        return self.version(version)

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        records: Mapping[str, list] | None = None,
        artifacts: tuple[Path, ...] = (),
        artifact_dir: str | None = None,
    ) -> None:
        """Add metrics, JSON records and files to an existing run."""
        with mlflow.start_run(run_id=run_id):
            if metrics:
                mlflow.log_metrics(dict(metrics))
            for name, rows in (records or {}).items():
                mlflow.log_dict(rows, name)
            for path in artifacts:
                mlflow.log_artifact(str(path), artifact_dir)

    # --- the production cycle's runs ------------------------------------------------------------------------------

    def experiment_name(self, purpose: str) -> str:
        """``<experiment>-<purpose>``: scoring, monitoring, replay."""
        return f"{self.settings.tracking.experiment}-{purpose}"

    def log_published(
        self,
        name: str,
        *,
        experiment: str,
        tags: Mapping[str, str],
        metrics: Mapping[str, float] | None = None,
        artifacts: tuple[Path, ...] = (),
    ) -> str:
        """Record one run of ``<experiment>-<purpose>`` with its tags, metrics and files; return the run id."""
        experiment_id = _experiment(self.client, self.store, self.experiment_name(experiment))
        with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
            mlflow.set_tags(dict(tags))
            if metrics:
                mlflow.log_metrics(dict(metrics))
            for path in artifacts:
                mlflow.log_artifact(str(path), experiment)
        return run.info.run_id

    def log_monitoring_window(
        self, name: str, *, tags: Mapping[str, str], metrics: Mapping[str, float], artifacts: tuple[Path, ...] = ()
    ) -> str:
        """Record one monitoring window as a run of ``<experiment>-monitoring``; return the run id."""
        return self.log_published(name, experiment="monitoring", tags=tags, metrics=metrics, artifacts=artifacts)

    def monitoring_breaches(self, champion_version: str, limit: int) -> list[bool]:
        """Breach flags of the newest ``limit`` windows judged with ``champion_version`` in service, newest first."""
        experiment = self.client.get_experiment_by_name(self.experiment_name("monitoring"))
        if experiment is None or limit <= 0:
            return []
        runs = self.client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.model_version = '{champion_version}'",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )
        return [run.data.metrics.get("breach", 0.0) > 0 for run in runs]

    # --- governance: a run's records read back, a version's description -----------------------------------------

    def run_params(self, run_id: str) -> dict[str, str]:
        return dict(self.client.get_run(run_id).data.params)

    def read_record(self, run_id: str, path: str) -> Any | None:
        """A JSON record logged on a run (``log_to_run(records=...)``); None when the run has none at ``path``."""
        found = self.read_artifact(run_id, path)
        try:
            return None if found is None else json.loads(found)
        except ValueError:
            return None

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        """The bytes of a file logged on a run; None when there is none at ``path``."""
        with tempfile.TemporaryDirectory() as folder:
            saved = os.environ.get(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name)
            os.environ[MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name] = "false"  # no progress bar for one small file
            try:
                local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=folder)
            except (MlflowException, OSError):
                return None
            finally:
                if saved is None:
                    os.environ.pop(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, None)
                else:
                    os.environ[MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name] = saved
            return Path(local).read_bytes() if Path(local).is_file() else None

    def artifact_uri(self, run_id: str, path: str) -> str:
        """Where a file logged on a run is (``file://`` next to a SQLite store, ``mlflow-artifacts:`` on a server)."""
        return f"{self.client.get_run(run_id).info.artifact_uri}/{path}"

    def describe(self, version: str, text: str) -> None:
        """Set the version's description (Markdown in the MLflow UI)."""
        self.client.update_model_version(self.name, str(version), description=text)


@contextmanager
def _refused(action: str, store: str) -> Iterator[None]:
    """Turn the auth app's 403 on ``action`` into a PermissionDeniedError naming who was refused what."""
    try:
        yield
    except MlflowException as err:
        if err.error_code != "PERMISSION_DENIED":
            raise
        who = os.environ.get("MLFLOW_TRACKING_USERNAME") or "this identity"
        raise PermissionDeniedError(f"{store} refused: {who} may not {action} (HTTP 403, permission denied)") from err


def _failed(err: Exception) -> str:
    """An ``onnx`` tag for a failure: the reason, short enough for a tag."""
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    return f"failed: {reason[:300]}"


def _log_onnx(model: Any) -> str:
    """Export ``model`` to ONNX into the active run (``ONNX_ARTIFACT``); the ``onnx`` tag's first value."""
    try:
        exported = onnx_export.export(model)
    except onnx_export.ExportError as err:
        log.warning("no ONNX flavour: %s", err)
        return _failed(err)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(ONNX_ARTIFACT).name
        path.write_bytes(exported)
        mlflow.log_artifact(str(path), str(Path(ONNX_ARTIFACT).parent))
    return "exported: parity not checked yet"


def _with_driver(uri: str) -> str:
    """A bare postgresql:// URI with the driver the lock carries: SQLAlchemy 2.1 reads it as psycopg 3, the project
    installs psycopg2 (psycopg2-binary)."""
    return f"postgresql+psycopg2://{uri.removeprefix('postgresql://')}" if uri.startswith("postgresql://") else uri


def connect(settings: Settings) -> Registry:
    """Point MLflow at the environment's store and experiment; return its registry."""
    uri = _with_driver(settings.tracking_uri)
    _point_mlflow_at(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mlflow.set_experiment(experiment_id=_experiment(client, uri, settings.tracking.experiment))
    return Registry(settings, client)
