"""Per-customer churn reasons: the features pushing risk up the most, said in plain English.

The model's own contributions (LightGBM ``pred_contrib``, in log-odds) pick the reasons: only
features with a positive contribution, largest first. Each is turned into a sentence from the
customer's value by a template keyed by feature name, else a generic "<description>: <value>".
Money is shown in whole major units from integer arithmetic, never as a float.

>>> describe("balance_ratio_90d", 0.37, {})
'balance down 63 % in 90 days'
>>> describe("complaints_unresolved_over_14d", 2, {})
'2 complaints unresolved for over 14 days'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure.core.money import format_minor_units
from tenure.retention.classifier import BIAS_COLUMN
from tenure.retention.features import feature

__all__ = [
    "ROW_INPUTS",
    "TEMPLATES",
    "Reason",
    "describe",
    "money",
    "reasons_frame",
    "top_reasons",
]

Row = Mapping[str, float]
Template = Callable[[float, Row], str]
CURRENCY = "CNY"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: the feature, its contribution (log-odds), the value and the sentence."""

    feature: str
    contribution: float
    value: float
    sentence: str


def money(minor: float, currency: str = CURRENCY) -> str:
    """Whole major units with thousands separators: 320000 -> '3,200 CNY'."""
    return format_minor_units(round(minor), currency)


def _n(value: float) -> int:
    return round(value)


def _pct(value: float) -> int:
    return round(abs(value) * 100)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _change(subject: str, days: int) -> Template:
    def render(value: float, row: Row) -> str:
        if value < 1:
            return f"{subject} down {_pct(1 - value)} % in {days} days"
        if value > 1:
            return f"{subject} up {_pct(value - 1)} % in {days} days"
        return f"{subject} unchanged in {days} days"

    return render


def _vs_average(subject: str) -> Template:
    def render(value: float, row: Row) -> str:
        return f"{subject} in the last 30 days at {_pct(value)} % of the 90-day monthly average"

    return render


def _vs_previous(subject: str) -> Template:
    def render(value: float, row: Row) -> str:
        direction = "down" if value < 1 else "up"
        return f"{subject} {direction} {_pct(1 - value)} % on the previous 90 days"

    return render


def _count(one: str, tail: str, many: str | None = None) -> Template:
    return lambda value, row: f"{_plural(_n(value), one, many)} {tail}".strip()


def _only(one: str, tail: str, many: str | None = None) -> Template:
    return lambda value, row: f"only {_plural(_n(value), one, many)} {tail}".strip()


def _days(text: str) -> Template:
    return lambda value, row: text.format(days=_n(value))


def _inflow(days: int) -> Template:
    def render(value: float, row: Row) -> str:
        base = row.get("inflow_sum_90d", math.nan)
        text = f"inflow of {money(value)} in {days} days"
        if days == 30 and not math.isnan(base) and base / 3 > value:
            text += f", down from {money(base / 3)} a month over 90 days"
        return text

    return render


def _tenure(value: float, row: Row) -> str:
    months = _n(value / 30.4)
    if months < 24:
        return f"customer for only {_plural(months, 'month')}"
    return f"customer for {_plural(months // 12, 'year')}"


def _absent(product: str) -> Template:
    return lambda value, row: f"no {product}" if value < 0.5 else f"holds a {product}"


_FRICTION = "declines, failed logins, step-ups"
_KYC = ("low", "medium", "high")
_NAMED: dict[str, Template] = {
    "balance_ratio_30d": _change("balance", 30),
    "balance_ratio_90d": _change("balance", 90),
    "balance_ratio_180d": _change("balance", 180),
    "inflow_ratio_90_prev_90": _vs_previous("inflow in the last 90 days"),
    "logins_ratio_90_prev_90": _vs_previous("logins in the last 90 days"),
    "tx_count_trend_30_90": _vs_average("transactions"),
    "inflow_trend_30_90": _vs_average("inflow"),
    "logins_trend_30_90": _vs_average("logins"),
    "outflow_inflow_ratio_90d": lambda v, r: f"spent {v:.1f} times what came in over 90 days",
    "outflow_other_banks_share_90d":
        lambda v, r: f"{_pct(v)} % of the money sent out in 90 days went to other banks",
    "failed_login_share_30d": lambda v, r: f"{_pct(v)} % of login attempts failed in 30 days",
    "complaints_unresolved_over_14d": _count("complaint", "unresolved for over 14 days"),
    "complaints_open": _count("complaint", "still open"),
    "complaints_90d": _count("complaint", "in 90 days"),
    "complaints_365d": _count("complaint", "in the last year"),
    "fee_complaints_365d": _count("complaint", "about fees in the last year"),
    "fraud_complaints_365d": _count("complaint", "about fraud in the last year"),
    "products_closed_90d": _count("account", "closed in 90 days"),
    "products_closed_365d": _count("account", "closed in the last year"),
    "declined_tx_30d": _count("declined transaction", "in 30 days"),
    "declined_tx_90d": _count("declined transaction", "in 90 days"),
    "failed_logins_30d": _count("failed login", "in 30 days"),
    "failed_logins_90d": _count("failed login", "in 90 days"),
    "friction_events_30d": _count("friction event", f"({_FRICTION}) in 30 days"),
    "friction_events_90d": _count("friction event", f"({_FRICTION}) in 90 days"),
    "recurring_income_stopped": _count("regular income source", "stopped paying in"),
    "own_accounts_other_banks": _count("own account", "at other banks registered as payee"),
    "other_bank_payees_added_90d": _count("payee", "at other banks added in 90 days"),
    "own_accounts_other_banks_added_90d": _count("own account", "at another bank added in 90 days"),
    "logins_30d": _only("login", "in 30 days"),
    "logins_90d": _only("login", "in 90 days"),
    "tx_count_30d": _only("transaction", "in 30 days"),
    "tx_count_90d": _only("transaction", "in 90 days"),
    "products_held": _only("product", "held"),
    "product_families_held": _only("product family", "held", "product families"),
    "login_weeks_last_12": lambda v, r: f"logged in during only {_n(v)} of the last 12 weeks",
    "salary_months_last_6": lambda v, r: f"salary in only {_n(v)} of the last 6 months",
    "days_since_last_login": _days("no login for {days} days"),
    "days_since_last_tx": _days("no transaction for {days} days"),
    "days_since_last_inflow": _days("no money received for {days} days"),
    "salary_missing_since_days": _days("no salary for {days} days"),
    "complaint_open_days_max": _days("a complaint open for {days} days"),
    "days_since_last_complaint": _days("complained {days} days ago"),
    "complaint_resolution_days_avg_365d":
        _days("complaints took {days} days to resolve on average"),
    "days_since_last_product_opened": _days("no new account for {days} days"),
    "tenure_days": _tenure,
    "age_years": lambda v, r: f"aged {_n(v)}",
    "balance_30d_ago": lambda v, r: f"deposit balance was {money(v)} 30 days ago",
    "balance_60d_ago": lambda v, r: f"deposit balance was {money(v)} 60 days ago",
    "balance_90d_ago": lambda v, r: f"deposit balance was {money(v)} 90 days ago",
    "balance_180d_ago": lambda v, r: f"deposit balance was {money(v)} 180 days ago",
    "inflow_sum_180d": _inflow(180),
    "inflow_sum_365d": _inflow(365),
    "outflow_sum_180d": lambda v, r: f"{money(v)} spent or sent in 180 days",
    "outflow_sum_365d": lambda v, r: f"{money(v)} spent or sent in the last year",
    "logins_180d": _only("login", "in 180 days"),
    "products_opened_90d": _count("account", "opened in 90 days"),
    "products_net_change_90d": lambda v, r: f"net change of {_n(v):+d} accounts in 90 days",
    "days_since_last_survey": _days("last survey answer {days} days ago"),
    "csat_trend":
        lambda v, r: f"CSAT {'down' if v < 0 else 'up'} {abs(v):.1f} points on earlier answers",
    "praise_365d": _count("compliment", "in the last year"),
    "income_band_rank": lambda v, r: f"income band {_n(v)} of 5",
    "kyc_risk_rank": lambda v, r: f"KYC risk {_KYC[min(max(_n(v), 1), 3) - 1]}",
    "is_corporate": lambda v, r: "corporate client" if v else "retail customer",
    "prefers_digital": lambda v, r: "prefers mobile or web" if v else "prefers branch or phone",
    "card_spend_90d": lambda v, r: f"card spending of {money(v)} in 90 days",
    "outflow_sum_30d": lambda v, r: f"{money(v)} spent or sent in 30 days",
    "outflow_sum_90d": lambda v, r: f"{money(v)} spent or sent in 90 days",
    "feature_uses_30d": _only("app feature use", "in 30 days"),
    "feature_uses_90d": _only("app feature use", "in 90 days"),
    "tx_count_180d": _only("transaction", "in 180 days"),
    "tx_count_365d": _only("transaction", "in the last year"),
    "inquiries_90d": _count("inquiry", "in 90 days", "inquiries"),
    "payees_added_90d": _count("payee", "added in 90 days"),
    "profile_changes_90d": _count("profile change", "in 90 days"),
    "contact_changes_90d": _count("contact detail change", "in 90 days"),
    "credential_resets_90d": _count("password reset or device re-binding", "in 90 days",
                                    "password resets or device re-bindings"),
    "surveys_answered_365d": _count("survey answer", "in the last year"),
    "csat_avg_365d": lambda v, r: f"average CSAT {v:.1f} of 5 over the last year",
    "nps_avg_365d": lambda v, r: f"average NPS {v:.1f} of 10 over the last year",
    "inflow_sum_30d": _inflow(30),
    "inflow_sum_90d": _inflow(90),
    "outflow_other_banks_30d": lambda v, r: f"{money(v)} sent to other banks in 30 days",
    "outflow_other_banks_90d": lambda v, r: f"{money(v)} sent to other banks in 90 days",
    "salary_sum_90d": lambda v, r: f"salary of {money(v)} in 90 days",
    "balance_last": lambda v, r: f"deposit balance of {money(v)}",
    "balance_slope_90d": lambda v, r: (
        f"balance {'falling' if v < 0 else 'rising'} by {money(abs(v))} a day over 90 days"
    ),
    "salary_stopped":
        lambda v, r: "salary stopped (none in the last 45 days)" if v else "no salary stop",
    "nps_detractor_last": lambda v, r: (
        f"last NPS answer a detractor ({_n(r.get('nps_last', math.nan))} of 10)"
        if v and not math.isnan(r.get("nps_last", math.nan)) else "not an NPS detractor"
    ),
    "csat_unhappy_last": lambda v, r: "last CSAT answer unhappy" if v else "CSAT not unhappy",
    "nps_last": lambda v, r: f"last NPS score {_n(v)} of 10",
    "csat_last": lambda v, r: f"last CSAT score {_n(v)} of 5",
    "nps_trend":
        lambda v, r: f"NPS {'down' if v < 0 else 'up'} {abs(v):.1f} points on earlier answers",
    "latency_ms_avg_30d": lambda v, r: f"app responses averaged {_n(v):,} ms in 30 days",
    "has_savings": _absent("savings account"),
    "has_card": _absent("card"),
    "has_term_deposit": _absent("term deposit"),
    "has_wealth": _absent("wealth product"),
    "has_loan": _absent("loan"),
    "has_current": _absent("current account"),
    "has_relationship_manager": _absent("relationship manager"),
    "term_deposits_maturing_30d": _count("term deposit", "maturing in the next 30 days"),
    "step_ups_90d": _count("security step-up", "in 90 days"),
    "holds_90d": _count("payment", "held by security checks in 90 days"),
}  # fmt: skip
TEMPLATES: Mapping[str, Template] = _NAMED


def _generic(name: str, value: float) -> str:
    definition = feature(name)
    text = definition.description.split(";")[0].rstrip(".")
    if definition.unit in ("minor units", "minor units per day"):
        shown = money(value)
    elif definition.unit in ("count", "flag", "rank", "days", "years", "ms"):
        shown = f"{_n(value):,}"
    else:
        shown = f"{value:.2f}"
    return f"{text}: {shown}"


def describe(name: str, value: float, row: Row) -> str:
    """One plain sentence for feature ``name`` at ``value`` (``row`` holds the other features)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        description = feature(name).description.split(";")[0].rstrip(".")
        return f"{description}: none on record"
    template = TEMPLATES.get(name)
    return template(float(value), row) if template else _generic(name, float(value))


MIN_CONTRIBUTION = 0.1
"""Smallest push (log-odds, about +10 % on the odds) worth telling an RM about.

Without it the majority value of a common flag ("no loan") shows up as a reason for most customers
on a sliver of contribution, which drowns the reasons that matter.
"""


def top_reasons(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    *,
    k: int = 3,
    min_contribution: float = MIN_CONTRIBUTION,
) -> list[list[Reason]]:
    """Per row, up to ``k`` features pushing risk up materially, largest contribution first."""
    names = [c for c in contributions.columns if c != BIAS_COLUMN]
    values = contributions[names].to_numpy(dtype=np.float64)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    records = features[names].to_dict(orient="records")
    out: list[list[Reason]] = []
    for i, picks in enumerate(order):
        row = records[i]
        reasons = [
            Reason(names[j], float(values[i, j]), float(row[names[j]]),
                   describe(names[j], float(row[names[j]]), row))
            for j in picks
            if values[i, j] > min_contribution
        ]  # fmt: skip
        out.append(reasons)
    return out


ROW_INPUTS: Mapping[str, tuple[str, ...]] = {
    "inflow_sum_30d": ("inflow_sum_90d",),
    "nps_detractor_last": ("nps_last",),
}
"""The other features a template reads from ``row``; every other sentence depends on its value."""


def _sentences(name: str, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """``describe`` of feature ``name`` for ``rows``, computed once per distinct input."""
    inputs = [name, *ROW_INPUTS.get(name, ())]
    present = [c for c in inputs if c in features.columns]
    picked = features[present].iloc[rows].astype(np.float64).reset_index(drop=True)
    groups = picked.groupby(present, dropna=False, sort=False).ngroup().to_numpy()
    firsts = pd.Series(np.arange(len(groups))).groupby(groups, sort=True).first().to_numpy()
    distinct = picked.iloc[firsts].to_dict(orient="records")
    said = np.array([describe(name, row[name], row) for row in distinct], dtype=object)
    return np.asarray(said[groups], dtype=object)


def reasons_frame(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    *,
    k: int = 3,
    min_contribution: float = MIN_CONTRIBUTION,
) -> pd.DataFrame:
    """Columns reason_1..k (sentences), reason_1_feature.., reason_1_contribution.., by row.

    The same reasons as :func:`top_reasons`, built per feature column rather than per row: each
    feature's sentences are rendered once per distinct value among the customers it explains.
    """
    names = [c for c in contributions.columns if c != BIAS_COLUMN]
    values = contributions[names].to_numpy(dtype=np.float64)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(values, order, axis=1)
    stated = picked > min_contribution
    sentences = np.full(order.shape, None, dtype=object)
    for j in np.unique(order[stated]):
        where = stated & (order == j)
        rows, slots = np.nonzero(where)
        sentences[rows, slots] = _sentences(names[j], features, rows)
    labels = np.asarray(names, dtype=object)[order]
    labels[~stated] = None
    amounts = np.where(stated, picked, np.nan)
    data: dict[str, np.ndarray] = {}
    for slot in range(k):
        inside = slot < order.shape[1]
        data[f"reason_{slot + 1}"] = sentences[:, slot] if inside else np.full(len(order), None)
        data[f"reason_{slot + 1}_feature"] = (
            labels[:, slot] if inside else np.full(len(order), None)
        )
        data[f"reason_{slot + 1}_contribution"] = (
            amounts[:, slot] if inside else np.full(len(order), np.nan)
        )
    return pd.DataFrame(data, index=features.index)
