"""The replay's timeline: the champion's metric per month on labelled data (and the first champion's, had it never
been replaced), drift per month, every alert, every retraining with its trigger, who was champion when."""

from __future__ import annotations

import html
from collections.abc import Sequence
from statistics import mean

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from {{ cookiecutter.__package_name }}.config import Settings
from {{ cookiecutter.__package_name }}.core.task import task_spec
from {{ cookiecutter.__package_name }}.io import tracking
from {{ cookiecutter.__package_name }}.monitoring.report import STYLE, png

TRIGGER_COLOURS = {"schedule": "tab:green", "performance": "tab:red", "drift": "tab:orange", "bootstrap": "grey"}


def summary(settings: Settings, months: Sequence) -> dict:
    """The year in figures: how the champions in service did against the first one, retrainings, alerts."""
    spec = task_spec(settings.task)
    metric = spec.primary_metric
    judged = [m for m in months if m.served is not None and m.first is not None]
    gains = [(m.served - m.first) * (1 if spec.higher_is_better else -1) for m in judged]
    summer = [g for m, g in zip(judged, gains, strict=True) if m.labelled[5:7] in {"06", "07", "08"}]
    retrainings = [m for m in months if m.retraining]
    champions = sorted({m.champion for m in months} | {m.challenger for m in months if m.promoted}, key=int)
    lines = [
        f"{len(months)} periods replayed, {len(judged)} of them with labelled data judged",
        f"{len(retrainings)} retrainings ({', '.join(f'{m.period} {m.retraining}' for m in retrainings) or 'none'}), "
        f"{sum(m.promoted for m in months)} promoted, {sum(m.rolled_back for m in months)} rolled back",
        f"champions over the year: v{', v'.join(champions)}",
        f"{sum(len(m.alerts) for m in months)} alerts",
    ]
    metrics = {"periods": len(months), "retrainings": len(retrainings), "champions": len(champions),
               "alerts": sum(len(m.alerts) for m in months)}  # fmt: skip
    if gains:
        lines.append(f"{metric} of the champions in service minus the first champion's, on the same labelled rows: "
                     f"{mean(gains):+.4f} on average, {max(gains):+.4f} at best"
                     + (f"; summer (June to August) {mean(summer):+.4f}" if summer else ""))  # fmt: skip
        metrics |= {"mean_gain": mean(gains)} | ({"summer_gain": mean(summer)} if summer else {})
    return {"lines": lines, "metrics": metrics}


def plots(settings: Settings, months: Sequence) -> str:
    spec = task_spec(settings.task)
    periods = [m.period for m in months]
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=False)
    judged = [m for m in months if m.served is not None]
    ax = axes[0]
    ax.plot([m.labelled for m in judged], [m.served for m in judged], marker="o", label="champion in service")
    ax.plot([m.labelled for m in judged], [m.first for m in judged], marker="s", linestyle="--", color="grey",
            label="first champion, never replaced")  # fmt: skip
    ax.set(title=f"{spec.primary_metric} on each labelled month", ylabel=spec.primary_metric)
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.bar(periods, [m.drift_share for m in months], color=["tab:red" if m.breach else "tab:blue" for m in months])
    ax.axhline(settings.monitor.drift_share, linestyle="--", color="grey")
    ax.set(title="share of features drifted per month (red: breach)", ylim=(0, 1))
    ax = axes[2]
    ax.step(periods, [int(m.champion) for m in months], where="post", color="black")
    for m in months:
        if m.retraining:
            ax.scatter([m.period], [int(m.champion)], s=120, color=TRIGGER_COLOURS.get(m.retraining, "tab:purple"),
                       zorder=3)  # fmt: skip
            ax.annotate(f"{m.retraining} -> v{m.challenger}{'' if m.promoted else ' (kept champion)'}",
                        (m.period, int(m.champion)), textcoords="offset points", xytext=(4, 8), fontsize=7)  # fmt: skip
    ax.set(title="champion version in service (dots: retrainings, by trigger)", ylabel="version")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    return png(fig)


def cells(m) -> tuple:
    """One month's row of the table."""
    retraining = "-" if not m.retraining else f"{m.retraining}: v{m.challenger} {'' if m.promoted else 'not '}promoted"
    return (
        m.period, f"v{m.champion}", f"{m.drift_share:.0%}", f"{m.prediction_ks:.3f}", m.labelled,
        "-" if m.served is None else f"{m.served:.4f}", "-" if m.first is None else f"{m.first:.4f}",
        "; ".join(m.alerts) or "-", retraining,
    )  # fmt: skip


def render(settings: Settings, registry: tracking.Registry, months: Sequence) -> str:
    """One self-contained HTML page."""
    metric = task_spec(settings.task).primary_metric
    facts = summary(settings, months)["lines"]
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells(m)) + "</tr>" for m in months)
    header = (
        "<tr><th>period</th><th>champion</th><th>drifted</th><th>prediction KS</th><th>labelled</th>"
        f"<th>{metric} served</th><th>{metric} first champion</th><th>alerts</th><th>retraining</th></tr>"
    )
    versions = "".join(
        f"<tr><td>v{v.version}</td><td>{html.escape(v.tags.get('retraining_trigger', '-'))}</td>"
        f"<td>{html.escape(v.tags.get('retraining_period', '-'))}</td>"
        f"<td>{html.escape(v.tags.get('data_from', '?'))} .. {html.escape(v.tags.get('data_through', '?'))}</td>"
        f"<td>{html.escape(v.tags.get(tracking.STATUS_TAG, '-'))}</td>"
        f"<td>{html.escape(v.tags.get('promotion_decision', '-'))}</td>"
        f"<td>{html.escape(v.tags.get('post_promotion_check', '-'))}</td></tr>"
        for v in registry.versions()
    )
    title = (
        f"Replay: {settings.tracking.registered_model}, {months[0].period} .. {months[-1].period}"
        if months
        else "Replay"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
        f"</head><body><h1>{html.escape(title)}</h1><ul>{''.join(f'<li>{html.escape(f)}</li>' for f in facts)}</ul>"
        f"{plots(settings, months)}<h2>Month by month</h2><table>{header}{rows}</table>"
        "<h2>Versions</h2><table><tr><th>version</th><th>trigger</th><th>period</th><th>learned from</th>"
        f"<th>gate</th><th>promotion</th><th>after promotion</th></tr>{versions}</table></body></html>"
    )
