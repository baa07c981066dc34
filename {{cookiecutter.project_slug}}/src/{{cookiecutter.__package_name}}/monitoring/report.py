"""The monitoring report: one self-contained HTML page with the drift table and plots."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

STYLE = (
    "body { font-family: sans-serif; margin: 2em } table { border-collapse: collapse }"
    " td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left }"
)


def png(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def distributions(reference: pd.DataFrame, current: pd.DataFrame, drift: pd.DataFrame, limit: int = 6) -> str:
    """Reference against current for the most drifted features."""
    top = drift.sort_values("psi", ascending=False).head(limit)
    if top.empty:
        return ""
    fig, axes = plt.subplots(1, len(top), figsize=(3.2 * len(top), 2.8), squeeze=False)
    for ax, row in zip(axes[0], top.itertuples(), strict=False):
        if row.kind == "numeric":
            ax.hist(reference[row.feature].dropna(), bins=30, density=True, alpha=0.5, label="reference")
            ax.hist(current[row.feature].dropna(), bins=30, density=True, alpha=0.5, label="current")
        else:
            shares = (
                pd.DataFrame(
                    {
                        "reference": reference[row.feature].value_counts(normalize=True),
                        "current": current[row.feature].value_counts(normalize=True),
                    }
                )
                .fillna(0)
                .head(12)
            )
            shares.plot.bar(ax=ax, legend=False)
        ax.set_title(f"{row.feature} (PSI {row.psi:.2f})", fontsize=9)
    axes[0][0].legend(fontsize=8)
    return png(fig)


def scores(drift: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(drift) + 1))
    ordered = drift.sort_values("psi")
    ax.barh(ordered["feature"], ordered["psi"], color=["tab:red" if d else "tab:gray" for d in ordered["drifted"]])
    ax.set(title="Population stability index per feature (red: drifted)", xlabel="PSI")
    return png(fig)


HISTORY_PANELS = (
    ("feature_drift", "share of features drifted", "threshold"),
    ("prediction_drift", "prediction drift (KS)", "threshold"),
    ("performance", "champion's metric on labelled data", "reference"),
)


def history_plot(history: pd.DataFrame) -> str:
    """Each check over the periods (or windows) monitored: its value, its limit dashed, breaches in red."""
    if history.empty:
        return "<p>No history yet.</p>"
    fig, axes = plt.subplots(1, len(HISTORY_PANELS), figsize=(13, 3))
    for ax, (check, title, limit) in zip(axes, HISTORY_PANELS, strict=True):
        rows = history[history["check"] == check].sort_values("period")
        ax.set_title(title if not rows.empty else f"{title}: none yet", fontsize=9)
        if rows.empty:
            continue
        ax.plot(rows["period"], rows["value"], marker="o", color="tab:blue")
        if rows[limit].notna().any():
            ax.plot(rows["period"], rows[limit], linestyle="--", color="grey", label=limit)
            ax.legend(fontsize=7)
        breached = rows[rows["breach"].astype(bool)]
        ax.scatter(breached["period"], breached["value"], color="tab:red", zorder=3)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    return png(fig)


def render(
    title: str,
    summary: dict,
    drift: pd.DataFrame,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    history: pd.DataFrame,
) -> str:
    facts = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
    )
    head = f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
    body = [
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><table>{facts}</table>",
        f"<h2>Drift scores</h2>{scores(drift)}",
        f"<h2>Distributions of the most drifted features</h2>{distributions(reference, current, drift)}",
        f"<h2>History</h2>{history_plot(history)}",
        f"<h2>Per feature</h2>{drift.to_html(index=False, float_format=lambda v: f'{v:.4g}')}",
        "</body></html>",
    ]
    return head + "\n".join(body)
