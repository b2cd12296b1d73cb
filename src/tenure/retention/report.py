"""The retention report: one self-contained HTML page (inline CSS, PNG charts as data URIs).

``build_report`` reads the latest churn scores (or those of ``as_of``), the scoring run's drift,
the model's manifest, realised outcomes of an older scored date whose horizon has passed, the
``customer_retention`` table (or tiers and segments computed on the spot) and cohort retention,
and returns the page. Nothing in it points to the network, so it opens offline and prints.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from string import Template

import pandas as pd

from tenure.core.errors import ConfigurationError, NotFound, ValidationError
from tenure.retention import report_plots as plots
from tenure.retention.churn import RISK_BANDS
from tenure.retention.features import FeatureWarehouse
from tenure.retention.metrics import METRIC_LABELS
from tenure.retention.registry import ModelManifest, ModelRegistry
from tenure.retention.report_data import (
    Book,
    Outcomes,
    book_at,
    follow_up_curves,
    observed_outcomes,
    reason_table,
    scored_as_ofs,
    scores_at,
    scoring_run,
)
from tenure.retention.survival import retention_by_cohort
from tenure.retention.tiers import load_tier_rules

__all__ = ["SECTIONS", "build_report", "money"]

SECTIONS: tuple[str, ...] = (
    "Summary",
    "Churn-risk distribution",
    "Calibration and lift",
    "Most frequent reasons",
    "Segment profiles",
    "Value and risk tiers",
    "Retention by opening cohort",
    "Survival by segment and risk tier",
)
_COHORTS, _COHORT_MONTHS, _COHORT_MIN = 8, 24, 10

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a202c;
       max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #e2e8f0; padding-top: 1rem; }
.meta { color: #4a5568; } .caption { color: #4a5568; font-style: italic; margin-top: 0.2rem; }
.note { background: #fffbea; border-left: 4px solid #d69e2e; padding: 0.5rem 0.8rem; }
table { border-collapse: collapse; margin: 0.6rem 0; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 0.3rem 0.5rem; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.8rem 0; } img { max-width: 100%; height: auto; }
@media print { body { max-width: none; padding: 0; } section, figure { break-inside: avoid; } }
</style></head>
<body><h1>$title</h1><p class="meta">$subtitle</p>
$sections
</body></html>
""")


def money(minor: float | int) -> str:
    """An amount in minor units (fen) as CNY with two decimals ("CNY 1,234.56")."""
    amount = (Decimal(round(minor)) / 100).quantize(Decimal("0.01"))
    return f"CNY {amount:,}"


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(share: float) -> str:
    return "n/a" if math.isnan(share) else f"{share:.1%}"


def _table(head: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int]) -> str:
    def cell(tag: str, k: int, value: object) -> str:
        return (
            f'<{tag} class="n">{_e(value)}</{tag}>'
            if k in numeric
            else f"<{tag}>{_e(value)}</{tag}>"
        )

    header = "".join(cell("th", k, h) for k, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", k, v) for k, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _figure(uri: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{uri}" alt="{_e(alt)}">'
        f'<figcaption class="caption">{_e(caption)}</figcaption></figure>'
    )


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _drift_text(run: dict[str, object]) -> str:
    drifting, watch = int(str(run["features_drift"] or 0)), int(str(run["features_watch"] or 0))
    psi = run["max_psi"]
    worst = f"; highest PSI {float(str(psi)):.3f}" if psi is not None else ""
    if drifting:
        return f"DRIFT in {drifting} feature(s): {run['drift_features']}{worst}"
    if watch:
        return f"watch: {watch} feature(s) moving, none drifting{worst}"
    return f"stable: no feature moved from its training distribution{worst}"


def _summary(as_of: datetime, run: dict[str, object], scores: pd.DataFrame) -> str:
    bands = scores["risk_band"].value_counts()
    rows: list[tuple[str, str]] = [
        ("Scored as of", f"{as_of:%Y-%m-%d %H:%M} UTC"),
        ("Model", f"{run['model_name']} {run['model_version']}"),
        ("Customers scored", f"{len(scores):,}"),
        ("Mean P(churn)", f"{scores['p_churn'].mean():.2%}"),
    ]
    for floor, label in RISK_BANDS:
        n = int(bands.get(label, 0))
        rows.append(
            (f"Risk band {label} (P >= {floor:.0%})", f"{n:,} ({_pct(n / max(len(scores), 1))})")
        )
    rows.append(("Drift at scoring", _drift_text(run)))
    return _table(("Figure", "Value"), rows, {1})


def _distribution(scores: pd.DataFrame) -> str:
    uri = plots.histogram_png(scores["p_churn"].tolist(), RISK_BANDS)
    caption = (
        "Each bar counts customers whose predicted churn probability falls in that range "
        "(log scale above 10); dashed lines are the risk-band floors."
    )
    return _figure(uri, "histogram of churn probabilities", caption)


def _metrics_table(metrics: dict[str, float]) -> str:
    rows = [
        (METRIC_LABELS.get(k, k), "n/a" if math.isnan(v) else f"{v:.3f}")
        for k, v in metrics.items()
    ]
    return _table(("Metric", "Value"), rows, {1})


def _calibration(outcomes: Outcomes | None, manifest: ModelManifest | None, why: str) -> str:
    if outcomes is None:
        shown = _metrics_table(manifest.metrics) if manifest is not None else ""
        return f'<p class="note">{_e(why)}</p>{shown}'
    intro = (
        f"<p>Customers scored on {outcomes.as_of:%Y-%m-%d} (model {_e(outcomes.model_version)})"
        f" against what happened in the {outcomes.horizon_days} days after: churn by the "
        f"<b>{_e(outcomes.definition)}</b> definition, the model's own.</p>"
    )
    calibration = _figure(
        plots.calibration_png(outcomes.deciles),
        "calibration curve",
        "Each point is a tenth of customers by predicted risk: on the dashed "
        "diagonal, predicted and realised churn agree.",
    )
    lift = _figure(
        plots.lift_png(outcomes.deciles),
        "lift by decile",
        "Bar k: churn rate among the k-th riskiest tenth over the overall rate; "
        "above 1 the model finds churners better than chance.",
    )
    rows = [
        (
            int(r.decile),
            f"{int(r.customers):,}",
            f"{r.mean_p:.2%}",
            _pct(float(r.rate)),
            "n/a" if math.isnan(r.lift) else f"{r.lift:.2f}",
        )
        for r in outcomes.deciles.itertuples()
    ]
    deciles = _table(
        ("Decile", "Customers", "Mean predicted", "Realised", "Lift"), rows, {1, 2, 3, 4}
    )
    return intro + calibration + lift + deciles + _metrics_table(outcomes.metrics)


def _reasons(scores: pd.DataFrame) -> str:
    table = reason_table(scores)
    if table.empty:
        return "<p>No customer has a stated reason.</p>"
    total = max(len(scores), 1)
    rows = [
        (
            r.label,
            r.example,
            f"{r.first:,}",
            _pct(r.first / total),
            f"{r.any_slot:,}",
            _pct(r.any_slot / total),
        )
        for r in table.head(12).itertuples()
    ]
    head = ("Reason", "Most common wording", "First reason", "Share", "In top three", "Share")
    uri = plots.reasons_png(table)
    caption = "Bar length: customers for whom this is one of their three stated churn reasons."
    return _figure(uri, "most frequent reasons", caption) + _table(head, rows, {2, 3, 4, 5})


def _segments(book: Book) -> str:
    frame = book.frame
    grouped = frame.groupby("segment", sort=True)
    stats = pd.DataFrame(
        {
            "size": grouped.size(),
            "mean_p": grouped["p_churn"].mean(),
            "name": grouped["segment_name"].first(),
            "at_risk": grouped["value_at_risk_minor"].sum(),
            "value": grouped["value_12m_minor"].median(),
        }
    ).reset_index()
    rows = [
        (
            int(r.segment),
            r.name,
            f"{int(r.size):,}",
            _pct(r.size / len(frame)),
            f"{r.mean_p:.2%}",
            money(float(r.value)),
            money(float(r.at_risk)),
            book.traits.get(int(r.segment), ""),
        )
        for r in stats.itertuples()
    ]
    head = (
        "Segment",
        "Name",
        "Customers",
        "Share",
        "Mean P(churn)",
        "Median 12-month value",
        "Value at risk",
        "Traits (segment vs all customers)",
    )
    uri = plots.segments_png(stats)
    caption = "Bars: customers per segment; red line: the segment's mean churn probability."
    source = f"<p class='meta'>Tiers and segments: {_e(book.source)}.</p>"
    return source + _figure(uri, "segment sizes", caption) + _table(head, rows, {0, 2, 3, 4, 5, 6})


def _ordered(values: Iterable[object], order: Sequence[str]) -> list[str]:
    present = {str(v) for v in values}
    return [n for n in order if n in present] + sorted(present - set(order))


def _tiers(book: Book) -> str:
    rules = load_tier_rules()
    frame = book.frame.assign(
        value_tier=book.frame["value_tier"].fillna("unvalued"),
        risk_tier=book.frame["risk_tier"].fillna("unscored"),
    )
    rows_order = _ordered(frame["value_tier"], [t.name for t in rules.value.tiers])
    columns_order = _ordered(frame["risk_tier"], [t.name for t in rules.risk])
    counts = pd.crosstab(frame["value_tier"], frame["risk_tier"]).reindex(
        index=rows_order, columns=columns_order, fill_value=0
    )
    at_risk = frame.pivot_table(
        index="value_tier",
        columns="risk_tier",
        values="value_at_risk_minor",
        aggfunc="sum",
        fill_value=0,
    ).reindex(index=rows_order, columns=columns_order, fill_value=0)
    uri = plots.tier_cross_png(counts, at_risk)
    caption = (
        "Numbers: customers in each value tier (rows) and risk tier (columns); darker "
        "cells hold more 12-month value at risk (value x P(churn))."
    )
    rows = [
        (v, r, f"{int(counts.loc[v, r]):,}", money(float(at_risk.loc[v, r])))
        for v in rows_order
        for r in columns_order
        if counts.loc[v, r]
    ]
    head = ("Value tier", "Risk tier", "Customers", "Value at risk")
    total = money(float(frame["value_at_risk_minor"].sum()))
    line = f"<p>Total value at risk: {total} (12-month value x P(churn), all customers).</p>"
    return line + _figure(uri, "value tier by risk tier", caption) + _table(head, rows, {2, 3})


def _cohorts(warehouse: FeatureWarehouse, as_of: datetime) -> str:
    curves = retention_by_cohort(warehouse=warehouse, as_of=as_of, cohort="quarter")
    sizes = curves[curves["months"] == 0].set_index("cohort")["observed"]
    chosen = sorted(sizes[sizes >= _COHORT_MIN].index)[-_COHORTS:]
    shown = curves[curves["cohort"].isin(chosen)]
    if shown.empty:
        return "<p>No opening cohort is large enough to draw.</p>"
    caption = (
        f"Each line is a quarter's new customers (at least {_COHORT_MIN}): the share still "
        f"a customer k months after opening; month k counts only customers opened at least k "
        f"months before {as_of:%Y-%m-%d}, so late points of small cohorts jump."
    )
    return _figure(plots.cohort_png(shown, _COHORT_MONTHS), "cohort retention", caption)


_GROUP_LABELS = {
    "segment": "segment",
    "value_tier": "value tier",
    "activity_tier": "activity tier",
    "risk_tier": "risk tier",
    "lifecycle_stage": "lifecycle stage",
}


def _survival(warehouse: FeatureWarehouse, outcomes: Outcomes | None, book: Book) -> str:
    if outcomes is None:
        return (
            "<p class='note'>No scored date has any follow-up yet, so survival from a "
            "snapshot cannot be drawn; score an earlier date to see it.</p>"
        )
    curves = follow_up_curves(warehouse, outcomes.as_of, outcomes.definition, book)
    intro = (
        f"<p>Time is counted from the snapshot of {outcomes.as_of:%Y-%m-%d} (segments and "
        "tiers as assigned then) to churn, censored at the end of the data; counting "
        "from opening dates would only see customers who had already stayed until the "
        "snapshot.</p>"
    )
    caption = "Each step falls when customers of that group churn; shaded: 95 % confidence band."
    figures = [
        _figure(
            plots.kaplan_meier_png(frame, title=f"Kaplan-Meier by {label}", legend=label),
            f"survival by {label}",
            caption,
        )
        for key, frame in curves.items()
        for label in (_GROUP_LABELS[key],)
    ]
    return intro + "".join(figures)


def _manifest(registry: ModelRegistry, run: dict[str, object]) -> ModelManifest | None:
    try:
        return registry.manifest(str(run["model_name"]), str(run["model_version"]))
    except (NotFound, ConfigurationError):
        return None


def _choose_as_of(as_ofs: list[datetime], as_of: datetime | None) -> datetime:
    if not as_ofs:
        raise ValidationError(
            "no churn scores yet; run `tenure retention score` first", field="as_of"
        )
    if as_of is None:
        return as_ofs[-1]
    wanted = as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    if wanted not in as_ofs:
        known = ", ".join(f"{m:%Y-%m-%d}" for m in as_ofs)
        raise ValidationError(
            f"no churn scores at {wanted:%Y-%m-%d} (scored: {known})", field="as_of"
        )
    return wanted


def _outcomes(
    warehouse: FeatureWarehouse, manifest: ModelManifest | None, as_ofs: list[datetime]
) -> tuple[Outcomes | None, str]:
    if manifest is None:
        return (
            None,
            "The model's manifest is not in the registry, so its churn definition is unknown.",
        )
    outcomes = observed_outcomes(warehouse, manifest, as_ofs)
    why = (
        f"No scored date is {manifest.horizon_days} days before the end of the data yet, so "
        "realised outcomes are not known; shown instead: the model's validation metrics from "
        f"training ({manifest.name} {manifest.version})."
    )
    return outcomes, why


def build_report(
    *,
    warehouse: FeatureWarehouse,
    registry: ModelRegistry,
    as_of: datetime | None = None,
    title: str = "Tenure retention report",
) -> str:
    """The retention report of ``as_of`` (default: the latest scored date) as one HTML page."""
    as_ofs = scored_as_ofs(warehouse)
    chosen = _choose_as_of(as_ofs, as_of)
    run = scoring_run(warehouse, chosen)
    scores = scores_at(warehouse, chosen, str(run["model_version"]))
    manifest = _manifest(registry, run)
    outcomes, why = _outcomes(warehouse, manifest, [m for m in as_ofs if m <= chosen])
    book = book_at(warehouse, chosen, scores)
    bodies = (
        _summary(chosen, run, scores),
        _distribution(scores),
        _calibration(outcomes, manifest, why),
        _reasons(scores),
        _segments(book),
        _tiers(book),
        _cohorts(warehouse, chosen),
        _survival(warehouse, outcomes, book),
    )
    sections = "\n".join(_section(t, b) for t, b in zip(SECTIONS, bodies, strict=True))
    subtitle = f"Churn scores of {chosen:%Y-%m-%d}; amounts in CNY."
    return _PAGE.substitute(title=_e(title), subtitle=_e(subtitle), sections=sections)
