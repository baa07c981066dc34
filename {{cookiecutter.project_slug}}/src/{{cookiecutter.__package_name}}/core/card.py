"""The model card of a registered version, as data, Markdown and one self-contained HTML page (pure: no I/O).

Every figure comes from what the registry recorded (``io/card.py`` gathers it): the card only arranges it.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from {{ cookiecutter.__package_name }}.core.audit import Entry
from {{ cookiecutter.__package_name }}.core.fairness import FairnessReport
from {{ cookiecutter.__package_name }}.core.gate import Verdict

LINEAGE_TAGS = (
    "git_commit",
    "git_branch",
    "git_dirty",
    "params_hash",
    "lockfile_hash",
    "python_version",
    "environment",
    "ci_run_url",
    "retraining_trigger",
    "retraining_period",
)
APPROVAL_TAGS = {
    "approved_by": "approved by",
    "approval_at": "recorded at (UTC)",
    "approval_environment": "environment",
    "approval_source": "source",
    "approval_run_url": "workflow run",
    "approval_comment": "comment",
}
RATE_LABELS = {
    "rows": "rows",
    "actual": "actual rate",
    "selection_rate": "selection rate",
    "true_positive_rate": "true positive rate",
    "false_positive_rate": "false positive rate",
    "roc_auc": "roc_auc",
    "mean_prediction": "mean prediction",
    "mae": "mae",
}


@dataclass(frozen=True)
class Facts:
    """What the registry holds about one version."""

    name: str
    version: str
    environment: str
    task: str
    label: str  # what the label means (the task spec)
    primary_metric: str
    run_id: str
    created: str
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    params: Mapping[str, str]
    metrics: Mapping[str, float]  # holdout figures, without the prefix
    thresholds: Mapping[str, float]
    slices: Sequence[Mapping[str, Any]]
    evaluation: Mapping[str, Any] | None  # evaluate's governance record: window, fairness, explanations
    verdict: Verdict | None
    audit: Sequence[Entry]
    intended_use: str
    limitations: str
    generated: str
    shap_plot: bytes | None = None  # the SHAP summary plot (PNG), embedded in the HTML page


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    title: str
    text: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    bars: tuple[tuple[str, float], ...] = ()  # (label, value) drawn as horizontal bars in HTML
    image: str = ""  # key of an embedded image
    notes: tuple[str, ...] = field(default=())


def _f(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if value != value else f"{value:.{digits}f}"
    return str(value)


def _count(value: Any) -> str:
    """A number of rows with thousands separators ('-' when unknown)."""
    try:
        return f"{int(float(value)):,}"
    except (TypeError, ValueError):
        return "-"


def _model(facts: Facts) -> Section:
    params = {k.removeprefix("model."): v for k, v in facts.params.items() if k.startswith("model.")}
    inputs = facts.params.get("inputs", "")
    rows = [
        ("registered model", f"{facts.name} version {facts.version}"),
        ("aliases", ", ".join(f"@{a}" for a in facts.aliases) or "none"),
        ("environment", facts.environment),
        ("task", f"{facts.task}: {facts.label}"),
        ("estimator", "scikit-learn HistGradientBoosting (ordinal-encoded categoricals, native categorical splits)"),
        ("hyper-parameters", ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"),
        ("inputs", f"{len(inputs.split(',')) if inputs else 0}: {inputs.replace(',', ', ')}"),
        ("training rows", _count(facts.params.get("train_rows"))),
        ("registered", facts.created),
        ("MLflow run", facts.run_id),
    ]
    return Section("Model", tables=(Table(("", ""), tuple(rows)),))


def _intended_use(facts: Facts) -> Section:
    return Section("Intended use", text=(facts.intended_use, f"Limitations: {facts.limitations}"))


def _data(facts: Facts) -> Section:
    try:
        md5 = json.loads(facts.tags.get("data_md5", "{}"))
    except ValueError:
        md5 = {}
    versions = Table(("input", "DVC md5"), tuple((path, digest) for path, digest in sorted(md5.items())))
    window = (facts.evaluation or {}).get("window") or {}
    text = [f"Split: {facts.tags.get('split', '-')}."]
    if facts.tags.get("data_from"):
        text.append(
            f"Periods of the training table (tags data_from, data_through): {facts.tags['data_from']} to "
            f"{facts.tags['data_through']}; the holdout is its latest part, as below."
        )
    rows = []
    for part in ("train", "holdout"):
        if part in window:
            w = window[part]
            rows.append((part, f"{w['rows']:,}", w.get("from") or "-", w.get("through") or "-"))
    tables = (versions, Table(("part", "rows", "from", "through"), tuple(rows))) if rows else (versions,)
    return Section("Data and its versions", text=tuple(text), tables=tables)


def _metrics(facts: Facts) -> Section:
    metric = facts.primary_metric
    rows = []
    for name, value in sorted(facts.metrics.items()):
        if name.startswith("fairness_") or name == "holdout_rows":  # in the text above, and in Fairness below
            continue
        need = facts.thresholds.get(name)
        rows.append((name, _f(value), "-" if need is None else _f(need, 2)))
    ordered = sorted(facts.slices, key=lambda s: s.get(metric, 0.0))
    slices = Table(
        ("column", "value", "rows", metric),
        tuple((s["column"], s["value"], f"{s['rows']:,}", _f(s.get(metric))) for s in ordered),
    )
    text = (f"On the holdout ({_count(facts.metrics.get('holdout_rows'))} rows). Slices worst first.",)
    metrics = Table(("metric", "holdout", "threshold"), tuple(rows))
    return Section("Metrics and slices", text=text, tables=(metrics, slices))


def _fairness(facts: Facts) -> Section:
    record = (facts.evaluation or {}).get("fairness")
    if not record:
        return Section("Fairness", text=("Not evaluated for this version.",))
    report = FairnessReport.from_dict(record)
    metric = report.metric
    text = [
        f"Compared: {RATE_LABELS.get(metric, metric)} between the groups of each column, with fairlearn's MetricFrame "
        f"on the holdout; a row is selected when its score reaches {report.threshold}. The gate fails when two "
        f"groups of a column differ by more than {report.limit}; groups under {report.min_group_rows} rows are shown, "
        "not judged (marked *)."
    ]
    if report.missing:
        text.append(f"Not in the data: {', '.join(report.missing)}.")
    tables = []
    for column in report.columns:
        if column.difference is None:
            text.append(f"{column.column}: fewer than two groups to compare.")
        else:
            text.append(
                f"{column.column}: {metric} differs by {column.difference:.4f}; worst group {column.worst}, "
                f"best {column.best}."
            )
        keys = [k for k in column.groups[0] if k != "group"] if column.groups else []
        rows = tuple(
            (
                f"{g['group']}{'' if g['group'] in column.judged else ' *'}",
                *(_count(g[k]) if k == "rows" else _f(g[k], 3) for k in keys),
            )
            for g in column.groups
        )
        tables.append(Table((column.column, *(RATE_LABELS.get(k, k) for k in keys)), rows))
    largest = report.largest
    if largest is not None:
        verdict = "within" if largest.difference <= report.limit else "beyond"
        text.insert(1, f"Largest disparity: {largest.difference:.4f} across {largest.column}, {verdict} the limit.")
    return Section("Fairness across groups", text=tuple(text), tables=tuple(tables))


def _explanations(facts: Facts) -> Section:
    record = (facts.evaluation or {}).get("explanations")
    if not record:
        return Section("Explanations", text=("No SHAP summary for this version (governance.shap_rows: 0).",))
    top = record["importance"][:12]
    text = (
        f"SHAP values (exact TreeSHAP of the tree ensemble, in {record['output']}) of {record['rows']:,} holdout rows; "
        f"expected value {record['expected_value']:.4f}. Mean |SHAP value| per input, largest first; the plot shows "
        "each row's value per input, coloured by the input's value (grey: categorical).",
    )
    bars = tuple((item["feature"], float(item["mean_abs_shap"])) for item in top)
    return Section("Explanations", text=text, bars=bars, image="shap_summary" if facts.shap_plot else "")


def _lineage(facts: Facts) -> Section:
    rows = tuple((tag, facts.tags[tag]) for tag in LINEAGE_TAGS if facts.tags.get(tag))
    return Section("Lineage", tables=(Table(("tag", "value"), rows),))


def _gate(facts: Facts) -> Section:
    status = facts.tags.get("model_validation_status", "not validated")
    if facts.verdict is None:
        return Section("Validation gate", text=(f"Status: {status}.",))
    rows = tuple((c.name, "ok" if c.passed else "FAIL", c.detail) for c in facts.verdict.checks)
    promotion = facts.tags.get("promotion_decision")
    text = [f"Status: {status}."]
    if promotion:
        reference = facts.tags.get("promotion_reference", "")
        text.append(f"Promotion: {promotion} against {reference} ({facts.tags.get('promotion_at', '')}).")
    checks = Table(("check", "result", "detail"), rows)
    return Section("Validation gate and promotion", text=tuple(text), tables=(checks,))


def _approval(facts: Facts) -> Section:
    approved = tuple((label, facts.tags[tag]) for tag, label in APPROVAL_TAGS.items() if facts.tags.get(tag))
    text = () if approved else ("No approval recorded: no release run's production approval names this version.",)
    trail = Table(
        ("when (UTC)", "action", "by", "reason", "detail"),
        tuple((e.at[:19].replace("T", " "), e.action, e.user, e.reason or "-", e.detail) for e in facts.audit),
    )
    tables = ((Table(("", ""), approved),) if approved else ()) + ((trail,) if facts.audit else ())
    return Section("Approval and audit trail", text=text, tables=tables)


def build(facts: Facts) -> tuple[str, list[Section]]:
    """The card's title and sections, in reading order."""
    title = f"Model card: {facts.name} v{facts.version}"
    sections = [
        _model(facts),
        _intended_use(facts),
        _data(facts),
        _metrics(facts),
        _fairness(facts),
        _explanations(facts),
        _lineage(facts),
        _gate(facts),
        _approval(facts),
    ]
    return title, sections


def summary(facts: Facts) -> str:
    """One paragraph for the version's description: the gate, the fairness verdict, the approval."""
    metric = facts.primary_metric
    value = facts.metrics.get(metric)
    parts = [f"Holdout {metric} {value:.4f}." if value is not None else "Not evaluated."]
    parts.append(f"Gate: {facts.tags.get('model_validation_status', 'not validated')}.")
    record = (facts.evaluation or {}).get("fairness")
    if record:
        largest = FairnessReport.from_dict(record).largest
        if largest is not None:
            parts.append(
                f"Largest disparity: {record['metric']} {largest.difference:.4f} across {largest.column} "
                f"(limit {record['limit']}; worst group {largest.worst})."
            )
    approver = facts.tags.get("approved_by")
    parts.append(f"Approved by {approver} at {facts.tags.get('approval_at')}." if approver else "No approval recorded.")
    return " ".join(parts)


def _md_cell(value: str) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(title: str, sections: Sequence[Section], generated: str, summary_text: str = "") -> str:
    lines = [f"# {title}", "", f"_Generated {generated} from the MLflow registry: every figure is a recorded one._", ""]
    lines += [summary_text, ""] if summary_text else []
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [*(f"{paragraph}\n" for paragraph in section.text)]
        if section.bars:
            lines += ["| input | mean abs SHAP |", "| --- | ---: |"]
            lines += [f"| {_md_cell(name)} | {value:.4f} |" for name, value in section.bars]
            lines.append("")
        if section.image:
            lines += [f"![{section.image}](../evaluation/{section.image}.png)", ""]
        for table in section.tables:
            if not table.rows:
                continue
            lines.append("| " + " | ".join(_md_cell(h) or " " for h in table.header) + " |")
            lines.append("| " + " | ".join("---" for _ in table.header) + " |")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0;
       background: #f6f8fa; font-size: 15px; line-height: 1.45 }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff }
h1 { font-size: 26px; margin: 0 0 4px } h2 { font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid #d0d7de }
.generated { color: #57606a; font-size: 13px; margin: 0 0 8px }
.badges span { display: inline-block; margin: 4px 6px 4px 0; padding: 2px 10px; border-radius: 12px;
               font-size: 13px; background: #ddf4ff; color: #0a3069 }
.badges .pass { background: #dafbe1; color: #116329 } .badges .fail { background: #ffebe9; color: #82071e }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 14px }
th, td { padding: 4px 10px; border: 1px solid #d0d7de; text-align: left; vertical-align: top }
th { background: #f6f8fa } td.num { text-align: right; font-variant-numeric: tabular-nums }
td.ok { color: #116329; font-weight: 600 } td.bad { color: #82071e; font-weight: 600 }
.kv td:first-child { color: #57606a; white-space: nowrap } code, .mono { font-family: ui-monospace, monospace;
       font-size: 13px; word-break: break-all }
.bars { display: grid; grid-template-columns: 170px 560px 70px; gap: 3px 10px; align-items: center; margin: 8px 0 }
.bar { height: 14px; background: #0969da; border-radius: 2px } .bars .v { text-align: right; font-size: 13px }
img { max-width: 100%; border: 1px solid #d0d7de; margin: 8px 0 }
.columns { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start }
"""


def _is_number(text: str) -> bool:
    try:
        float(str(text).replace(",", ""))
    except ValueError:
        return False
    return True


def _cell(value: str) -> str:
    text = html.escape(str(value))
    if value in ("ok", "FAIL"):
        return f'<td class="{"ok" if value == "ok" else "bad"}">{text}</td>'
    if _is_number(value):
        return f'<td class="num">{text}</td>'
    if len(str(value)) >= 32 and " " not in str(value):  # hashes, run ids, URLs
        return f'<td class="mono">{text}</td>'
    return f"<td>{text}</td>"


def _html_table(table: Table) -> str:
    pairs = table.header == ("", "")  # a two-column list of facts: no header, text left-aligned
    kind = ' class="kv"' if pairs else ""
    head = "" if pairs else "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>"
    cell = (lambda value: f"<td>{html.escape(str(value))}</td>") if pairs else _cell
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in table.rows)
    return f"<table{kind}>{head}{body}</table>"


def to_html(title: str, sections: Sequence[Section], generated: str, facts: Facts) -> str:
    """One self-contained page (the SHAP plot embedded), readable without the MLflow UI."""
    status = facts.tags.get("model_validation_status", "not validated")
    badges = [f'<span class="{"pass" if status == "PASSED" else "fail"}">gate {html.escape(status)}</span>']
    badges += [f"<span>@{html.escape(alias)}</span>" for alias in facts.aliases]
    if facts.tags.get("approved_by"):
        stand_in = facts.tags.get("approval_source") == "act"
        label = "approval: act's stand-in" if stand_in else f"approved by {facts.tags['approved_by']}"
        badges.append(f'<span class="pass">{html.escape(label)}</span>')
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="generated">Generated {html.escape(generated)} from the MLflow registry: every figure is a recorded '
        "one.</p>",
        f'<div class="badges">{"".join(badges)}</div>',
        f"<p>{html.escape(summary(facts))}</p>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(paragraph)}</p>" for paragraph in section.text]
        if section.bars:
            top = max(value for _, value in section.bars) or 1.0
            rows = "".join(
                f'<div>{html.escape(name)}</div><div><div class="bar" style="width:{100 * value / top:.1f}%"></div>'
                f'</div><div class="v">{value:.4f}</div>'
                for name, value in section.bars
            )
            parts.append(f'<div class="bars">{rows}</div>')
        if section.image and facts.shap_plot:
            encoded = base64.b64encode(facts.shap_plot).decode()
            parts.append(f'<img alt="SHAP summary plot" src="data:image/png;base64,{encoded}">')
        tables = [_html_table(t) for t in section.tables if t.rows]
        wrap = section.title.startswith("Fairness") and len(tables) > 1
        parts.append(f'<div class="columns">{"".join(tables)}</div>' if wrap else "".join(tables))
    parts.append("</main></body></html>")
    return "\n".join(parts)
