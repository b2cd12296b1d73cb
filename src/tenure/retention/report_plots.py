"""The retention report's charts: matplotlib figures drawn off-screen and returned as PNG data URIs.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly, never through
``pyplot``, so that no global figure state or GUI backend is involved and drawing is safe in a
server process. Labels stay in ASCII-safe English: DejaVu Sans (matplotlib's bundled font) has no
CJK glyphs, and a missing glyph is a warning, which tests treat as an error.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "calibration_png",
    "cohort_png",
    "histogram_png",
    "kaplan_meier_png",
    "lift_png",
    "reasons_png",
    "segments_png",
    "tier_cross_png",
]

_SIZE = (7.0, 3.8)
_DPI = 110
_BLUE, _RED, _GREY = "#2b6cb0", "#c53030", "#718096"


def _new(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram_png(p_churn: Sequence[float], bands: Sequence[tuple[float, str]]) -> str:
    """Histogram of churn probabilities with the risk-band floors marked."""
    figure, axes = _new("Churn-risk distribution", "predicted P(churn)", "customers")
    values = np.asarray(p_churn, dtype=float)
    top = max(float(values.max()) if len(values) else 0.0, 0.05)
    axes.hist(values, bins=np.linspace(0.0, min(1.0, top * 1.05), 40).tolist(), color=_BLUE)
    for floor, label in bands:
        if 0.0 < floor <= top:
            axes.axvline(floor, color=_RED, linestyle="--", linewidth=1)
            axes.annotate(
                f"{label} from {floor:.0%}", (floor, 0.95), xycoords=("data", "axes fraction")
            )
    axes.set_yscale("symlog", linthresh=10)
    return _data_uri(figure)


def calibration_png(deciles: pd.DataFrame) -> str:
    """Mean predicted vs observed churn rate per decile of predicted risk."""
    figure, axes = _new("Calibration", "mean predicted P(churn)", "observed churn rate")
    top = float(max(deciles["mean_p"].max(), deciles["rate"].max(), 0.01)) * 1.1
    axes.plot([0.0, top], [0.0, top], color=_GREY, linestyle="--", label="perfect calibration")
    axes.plot(deciles["mean_p"], deciles["rate"], marker="o", color=_BLUE, label="model")
    axes.set_xlim(0.0, top)
    axes.set_ylim(0.0, top)
    axes.legend(loc="upper left")
    return _data_uri(figure)


def lift_png(deciles: pd.DataFrame) -> str:
    """Lift (decile churn rate over the overall rate) by decile, riskiest first."""
    figure, axes = _new(
        "Lift by decile", "decile of predicted risk (1 = riskiest 10 %)", "lift over average"
    )
    axes.bar(deciles["decile"].astype(str), deciles["lift"], color=_BLUE)
    axes.axhline(1.0, color=_RED, linestyle="--", linewidth=1, label="no better than random")
    axes.legend(loc="upper right")
    return _data_uri(figure)


def reasons_png(reasons: pd.DataFrame) -> str:
    """Horizontal bars: customers given each reason among their top three."""
    shown = reasons.head(10).iloc[::-1]
    figure, axes = _new("Most frequent churn reasons", "customers (any of top 3)", "")
    axes.barh([_short(str(v)) for v in shown["label"]], shown["any_slot"], color=_BLUE)
    return _data_uri(figure)


def _short(text: str, width: int = 42) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def tier_cross_png(counts: pd.DataFrame, value_at_risk: pd.DataFrame) -> str:
    """Heat map of customers by value tier (rows) and risk tier (columns), value at risk shaded."""
    figure, axes = _new("Value tier x risk tier", "risk tier", "value tier")
    axes.grid(False)
    shade = value_at_risk.to_numpy(dtype=float)
    axes.imshow(shade, cmap="Oranges", aspect="auto")
    axes.set_xticks(range(len(counts.columns)), [str(c) for c in counts.columns])
    axes.set_yticks(range(len(counts.index)), [str(i) for i in counts.index])
    limit = float(np.nanmax(shade)) if shade.size else 0.0
    for (row, column), n in np.ndenumerate(counts.to_numpy()):
        dark = limit > 0 and shade[row, column] > limit * 0.6
        axes.text(column, row, f"{int(n):,}", ha="center", va="center",
                  color="white" if dark else "black")  # fmt: skip
    return _data_uri(figure)


def segments_png(segments: pd.DataFrame) -> str:
    """Bars of segment size with each segment's mean churn probability on a second axis."""
    figure, axes = _new("Segments: size and churn risk", "segment", "customers")
    labels = [f"{int(s)}" for s in segments["segment"]]
    axes.bar(labels, segments["size"], color=_BLUE, label="customers")
    risk = axes.twinx()
    risk.plot(labels, segments["mean_p"], color=_RED, marker="o", label="mean P(churn)")
    risk.set_ylabel("mean P(churn)")
    risk.set_ylim(0.0, max(float(segments["mean_p"].max()) * 1.3, 0.01))
    figure.legend(loc="outside lower center", ncols=2)
    return _data_uri(figure)


def cohort_png(curves: pd.DataFrame, max_months: int) -> str:
    """Share of each opening cohort still a customer, by months since opening."""
    figure, axes = _new(
        "Retention by opening cohort", "months since opening", "share still a customer"
    )
    for cohort, rows in curves.groupby("cohort", sort=True):
        rows = rows[rows["months"] <= max_months]
        axes.plot(rows["months"], rows["share"], marker=".", label=str(cohort))
    axes.set_ylim(_floor(curves["share"]), 1.005)
    axes.legend(title="cohort opened", fontsize="small", ncols=2, loc="lower left")
    return _data_uri(figure)


def _floor(shares: pd.Series) -> float:
    lowest = float(shares.min()) if len(shares) else 0.0
    return max(0.0, min(0.9, lowest - 0.02))


def kaplan_meier_png(curves: pd.DataFrame, *, title: str, legend: str) -> str:
    """Kaplan-Meier step curves, one per group, with their 95 % confidence bands."""
    figure, axes = _new(title, "days since the snapshot", "share not churned")
    for group, rows in curves.groupby("group", sort=True):
        line = axes.step(rows["timeline"], rows["survival"], where="post", label=str(group))
        axes.fill_between(rows["timeline"], rows["ci_lower"], rows["ci_upper"], step="post",
                          alpha=0.07, color=line[0].get_color())  # fmt: skip
    axes.set_ylim(_floor(curves["survival"]), 1.005)
    axes.legend(title=legend, fontsize="small", loc="lower left")
    return _data_uri(figure)
