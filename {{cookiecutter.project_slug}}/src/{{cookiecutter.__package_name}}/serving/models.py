"""Which model answers: the loaded aliases, sticky canary routing, and hot reload when an alias moves."""

from __future__ import annotations

import hashlib
import logging
import threading

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.tracking import LoadedModel

log = logging.getLogger(__name__)


def bucket(request_id: str) -> float:
    """A stable number in [0, 1) per request id: the same id always takes the same route."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") / 2**64


class Router:
    """Holds @champion and @challenger; swaps in a new version atomically when an alias moves."""

    def __init__(self, settings: Settings, registry: tracking.Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or tracking.connect(settings)
        self.fraction = settings.serve.challenger_fraction
        self.champion: LoadedModel | None = None
        self.challenger: LoadedModel | None = None
        self._stop = threading.Event()

    def refresh(self) -> bool:
        """Reload any alias whose version changed; True when something was swapped. In-flight requests keep theirs."""
        changed = False
        for alias in (tracking.CHAMPION, tracking.CHALLENGER):
            if alias == tracking.CHALLENGER and self.fraction == 0:
                continue
            current: LoadedModel | None = getattr(self, alias)
            wanted = self.registry.version_by_alias(alias)
            wanted_version = None if wanted is None else str(wanted.version)
            if (None if current is None else current.version) == wanted_version:
                continue
            setattr(self, alias, self.registry.load(wanted, alias, prefer_onnx=True) if wanted is not None else None)
            changed = True
        return changed

    def pick(self, request_id: str) -> LoadedModel | None:
        champion, challenger = self.champion, self.challenger
        if challenger is not None and bucket(request_id) < self.fraction:
            return challenger
        return champion

    def watch(self) -> None:
        """Poll the registry until stopped (run in a daemon thread)."""
        while not self._stop.wait(self.settings.serve.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # a registry hiccup must not stop serving the models already loaded
                log.exception("alias refresh failed; keeping the loaded versions")

    def stop(self) -> None:
        self._stop.set()
