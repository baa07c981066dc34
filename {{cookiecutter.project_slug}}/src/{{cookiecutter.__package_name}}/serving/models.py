"""Which model answers: the loaded aliases, sticky canary routing, and hot reload when an alias moves."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.canary import canary_state
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.tracking import LoadedModel

log = logging.getLogger(__name__)


def bucket(request_id: str) -> float:
    """A stable number in [0, 1) per request id: the same id always takes the same route."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") / 2**64


class Router:
    """Holds @champion and @challenger; swaps in a new version atomically when an alias moves, and follows the
    canary's fraction and mode as ``canary ramp``/``abort`` set them in the registry."""

    def __init__(
        self,
        settings: Settings,
        registry: tracking.Registry | None = None,
        on_load: Callable[[str, str | None, str | None, float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry or tracking.connect(settings)
        self.fraction, self.shadow = canary_state(settings.serve.challenger_fraction, settings.serve.shadow, {})
        self.champion: LoadedModel | None = None
        self.challenger: LoadedModel | None = None
        self.on_load = on_load
        self._stop = threading.Event()

    def refresh(self) -> bool:
        """Reload any alias whose version changed; True when something was swapped. In-flight requests keep theirs."""
        self.fraction, self.shadow = canary_state(
            self.settings.serve.challenger_fraction, self.settings.serve.shadow, self.registry.model_tags()
        )
        changed = False
        for alias in (tracking.CHAMPION, tracking.CHALLENGER):
            if alias == tracking.CHALLENGER and self.fraction == 0 and not self.shadow:
                continue
            current: LoadedModel | None = getattr(self, alias)
            wanted = self.registry.version_by_alias(alias)
            wanted_version = None if wanted is None else str(wanted.version)
            old_version = None if current is None else current.version
            if old_version == wanted_version:
                continue
            started = time.perf_counter()
            loaded = self.registry.load(wanted, alias, prefer_onnx=True) if wanted is not None else None
            setattr(self, alias, loaded)
            if self.on_load is not None:
                self.on_load(alias, old_version, wanted_version, time.perf_counter() - started)
            changed = True
        return changed

    def pick(self, request_id: str) -> LoadedModel | None:
        """The model that answers ``request_id``: @challenger for its share of ids (sticky), else @champion."""
        champion, challenger, fraction = self.champion, self.challenger, self.fraction
        if challenger is not None and fraction > 0 and bucket(request_id) < fraction:
            return challenger
        return champion

    def shadow_model(self) -> LoadedModel | None:
        """The challenger when it scores in shadow (every request, answering none)."""
        return self.challenger if self.shadow else None

    def watch(self) -> None:
        """Poll the registry until stopped (run in a daemon thread)."""
        while not self._stop.wait(self.settings.serve.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # a registry hiccup must not stop serving the models already loaded
                log.exception("alias refresh failed; keeping the loaded versions")

    def stop(self) -> None:
        self._stop.set()
