"""A version's model card: its facts gathered from the registry, published on its run and linked from its
description, or written to a folder."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core import audit, card
from {{ cookiecutter.__package_name }}.core.gate import Verdict
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.io.files import write_atomic

GOVERNANCE_RECORD = "evaluation/governance.json"
SLICES_RECORD = "evaluation/slices.json"
SHAP_PLOT = "evaluation/shap_summary.png"
CARD_DIR = "model_card"


def facts(settings: Settings, registry: tracking.Registry, version: str) -> card.Facts:
    """Everything the registry holds about ``version``, as the card's input."""
    found = registry.version(version)
    spec = task_spec(settings.task)
    evaluation = registry.read_record(found.run_id, GOVERNANCE_RECORD)
    report = found.tags.get("validation_report")
    aliases = tuple(alias for alias, number in registry.aliases().items() if number == found.version)
    created = datetime.fromtimestamp(found.created_ms / 1000, UTC).isoformat(timespec="seconds")
    return card.Facts(
        name=registry.name,
        version=found.version,
        environment=found.tags.get("environment", settings.env),
        task=settings.task,
        label=spec.label,
        primary_metric=spec.primary_metric,
        run_id=found.run_id,
        created=created,
        aliases=aliases,
        tags=found.tags,
        params=registry.run_params(found.run_id),
        metrics=registry.holdout_metrics(found),
        thresholds=settings.validate_.thresholds,
        slices=registry.read_record(found.run_id, SLICES_RECORD) or [],
        evaluation=evaluation,
        verdict=Verdict.from_json(report) if report else None,
        audit=audit.entries(found.version, found.tags),
        intended_use=settings.governance.intended_use,
        limitations=settings.governance.limitations,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        shap_plot=registry.read_artifact(found.run_id, SHAP_PLOT) if (evaluation or {}).get("explanations") else None,
    )


def render(found: card.Facts) -> tuple[str, str]:
    """(Markdown, HTML) of the card."""
    title, sections = card.build(found)
    markdown = card.to_markdown(title, sections, found.generated, card.summary(found))
    return markdown, card.to_html(title, sections, found.generated, found)


def publish(settings: Settings, registry: tracking.Registry, version: str) -> str:
    """Log the card of ``version`` on its run (``model_card/model_card.md`` and ``.html``, replacing earlier ones) and
    link it from the version's description; returns the HTML card's URI."""
    found = facts(settings, registry, version)
    markdown, page = render(found)
    with tempfile.TemporaryDirectory() as folder:
        paths = (Path(folder) / "model_card.md", Path(folder) / "model_card.html")
        paths[0].write_text(markdown, encoding="utf-8")
        paths[1].write_text(page, encoding="utf-8")
        registry.log_to_run(found.run_id, artifacts=paths, artifact_dir=CARD_DIR)
    uri = registry.artifact_uri(found.run_id, f"{CARD_DIR}/model_card.html")
    registry.describe(
        found.version,
        f"Model card: [model_card.html]({uri}) and model_card.md, artifacts `{CARD_DIR}/` of run `{found.run_id}`. "
        f"{card.summary(found)}",
    )
    return uri


def write(settings: Settings, registry: tracking.Registry, version: str, folder: Path) -> tuple[Path, Path]:
    """Write the card of ``version`` as ``<folder>/<name>-v<version>.md`` and ``.html`` (atomically)."""
    found = facts(settings, registry, version)
    markdown, page = render(found)
    stem = f"{found.name}-v{found.version}"
    md = write_atomic(settings, folder / f"{stem}.md", lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    page_path = write_atomic(settings, folder / f"{stem}.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return md, page_path
