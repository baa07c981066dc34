"""Per-prediction explanations for the server, on request (``?explain=true``): each record's largest SHAP contributions.

They come from the version's scikit-learn trees (``core.explain``), whichever flavour answers: the ONNX flavour has
no trees to read, so the first explained request of such a version loads its scikit-learn model once. The cost is
bounded by ``governance.explain_max_rows`` records per request; without ``explain=true`` nothing is computed.
"""

from __future__ import annotations

import threading

from {{ cookiecutter.__package_name }}.config import GovernanceConfig
from {{ cookiecutter.__package_name }}.core.explain import Explainer, ExplanationError
from {{ cookiecutter.__package_name }}.io.tracking import LoadedModel, Registry
from {{ cookiecutter.__package_name }}.serving.payload import ClientError, to_frame

KEPT = 4  # explainers kept: champion and challenger, and the versions they replaced while requests finish


def wanted(value: str | None) -> bool:
    """The ``explain`` query parameter: absent or false means no explanations; anything but true/false is a 400."""
    if value is None or value.lower() in {"false", "0"}:
        return False
    if value.lower() in {"true", "1"}:
        return True
    raise ClientError(400, f"query parameter explain must be true or false (got {value[:40]!r})")


class Explanations:
    """One ``core.explain.Explainer`` per served version, built on its first explained request."""

    def __init__(self, registry: Registry, governance: GovernanceConfig) -> None:
        self.registry = registry
        self.top_k = governance.explain_top_k
        self.max_rows = governance.explain_max_rows
        self._explainers: dict[tuple[str, str], Explainer] = {}
        self._lock = threading.Lock()

    def check(self, rows: int) -> None:
        """Refuse a request whose explanations would cost more than the cap, before anything is scored."""
        if rows > self.max_rows:
            raise ClientError(
                400,
                f"{rows} records asked for explanations; at most {self.max_rows} are explained per request "
                "(governance.explain_max_rows): send fewer, or ask without explain=true",
            )

    def explainer(self, model: LoadedModel) -> Explainer:
        """The explainer of ``model``'s version (its scikit-learn trees, loaded once for the ONNX flavour)."""
        key = (model.name, model.version)
        with self._lock:
            found = self._explainers.get(key)
            if found is None:
                try:
                    found = Explainer(self.registry.sklearn_model(model))
                except ExplanationError as err:
                    raise ClientError(400, f"v{model.version} cannot be explained: {err}") from None
                self._explainers[key] = found
                while len(self._explainers) > KEPT:
                    self._explainers.pop(next(iter(self._explainers)))
            return found

    def explain(self, model: LoadedModel, rows: list[dict]) -> list[list[dict[str, object]]]:
        """For each checked record (model inputs), its ``explain_top_k`` largest contributions, largest first."""
        self.check(len(rows))
        return self.explainer(model).records(to_frame(rows, model), self.top_k)
