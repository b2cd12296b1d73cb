"""Customer tiers (value, activity, risk) and lifecycle stages, by the rules in ``tier_rules``.

:func:`assign_tiers` labels every customer with numpy masks, one per rule; the thresholds come from
``tiers.yaml`` (packaged defaults) or a bank's own copy, read by :func:`load_tier_rules`.
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.tier_rules import (
    LIFECYCLE_STAGES,
    TEMPLATE_SPEC,
    TIER_COLUMNS,
    ActivityTier,
    Condition,
    RiskTier,
    Stage,
    TierRules,
    ValueRules,
    ValueTier,
    load_tier_rules,
    parse_tier_rules,
)

__all__ = [
    "LIFECYCLE_STAGES",
    "TIER_COLUMNS",
    "ActivityTier",
    "Condition",
    "RiskTier",
    "Stage",
    "TierRules",
    "ValueRules",
    "ValueTier",
    "assign_tiers",
    "load_tier_rules",
    "parse_tier_rules",
]


def _aligned(series: pd.Series | None, ids: pd.Series, name: str) -> np.ndarray:
    """Values of a customer-indexed series in the order of ``ids`` (NaN where absent)."""
    if series is None:
        return np.full(len(ids), np.nan)
    if not series.index.is_unique:
        raise ValidationError(f"{name} has more than one value for a customer", field=name)
    numbers = pd.to_numeric(series, errors="coerce").astype(float)
    return np.asarray(numbers.reindex(ids.to_numpy()), dtype=float)


def _banded(values: np.ndarray, names: list[str], bounds: list[float]) -> np.ndarray:
    """First tier whose lower bound the value reaches; the last tier below; None for NaN."""
    choices = np.select([values >= b for b in bounds], names[:-1], default=names[-1])
    result = choices.astype(object)
    result[np.isnan(values)] = None
    return result


def _value_tiers(values: np.ndarray, rules: ValueRules) -> np.ndarray:
    names = [t.name for t in rules.tiers]
    if rules.mode == "absolute":
        return _banded(values, names, [float(t.min_minor or 0) for t in rules.tiers[:-1]])
    known = ~np.isnan(values)
    # percentile = share of scored customers whose value is strictly lower
    ranks = pd.Series(values[known]).rank(method="min").to_numpy()
    percentile = np.full(len(values), np.nan)
    percentile[known] = (ranks - 1) * 100.0 / max(int(known.sum()), 1)
    return _banded(percentile, names, [float(t.min_percentile or 0) for t in rules.tiers[:-1]])


def _column(features: pd.DataFrame, name: str) -> np.ndarray:
    if name not in features.columns:
        raise ValidationError(f"features have no {name} column", field=name)
    return np.asarray(pd.to_numeric(features[name], errors="coerce"), dtype=float)


def _activity_tiers(features: pd.DataFrame, tiers: tuple[ActivityTier, ...]) -> np.ndarray:
    masks = []
    for tier in tiers[:-1]:
        met = [_column(features, f) >= floor for f, floor in tier.minimums]
        masks.append(
            np.logical_or.reduce(met) if tier.match == "any" else np.logical_and.reduce(met)
        )
    return np.select(masks, [t.name for t in tiers[:-1]], default=tiers[-1].name).astype(object)


def _holds(values: np.ndarray, condition: Condition) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        compared = {
            "below": values < condition.threshold,
            "at_most": values <= condition.threshold,
            "at_least": values >= condition.threshold,
            "above": values > condition.threshold,
        }[condition.operator]
    return np.asarray(compared | (np.isnan(values) & condition.when_missing), dtype=bool)


def _render(template: str, values: np.ndarray) -> np.ndarray:
    """The phrase for each value, formatted with numpy (no Python loop over rows)."""
    parts = np.full(len(values), "", dtype=object)
    for literal, name, spec, _ in string.Formatter().parse(template):
        parts = parts + literal
        if name is None:
            continue
        found = TEMPLATE_SPEC.match(spec or "")
        digits, kind = (found.group(1), found.group(2)) if found and found.group(1) else ("0", "f")
        scaled = values * 100.0 if kind == "%" else values
        text = np.char.mod(f"%.{digits}f" + ("%%" if kind == "%" else ""), scaled)
        parts = parts + text.astype(object)
    return parts


def _stage_reasons(features: pd.DataFrame, stage: Stage, take: np.ndarray) -> np.ndarray:
    """The reason phrase of each customer taking ``stage`` (rows where ``take``)."""
    phrases = np.full(int(take.sum()), None, dtype=object)
    unset = np.ones(len(phrases), dtype=bool)
    for condition in stage.conditions:
        values = _column(features, condition.feature)[take]
        holds = _holds(values, condition)
        missing = holds & np.isnan(values)
        text = _render(condition.reason, values)
        text[missing] = condition.reason_when_missing
        if stage.match == "any":
            fresh = holds & unset
        else:
            fresh = unset.copy()
            phrases[~unset] = phrases[~unset] + " and " + text[~unset]
        phrases[fresh] = text[fresh]
        unset &= ~fresh
    return phrases


def _lifecycle(features: pd.DataFrame, stages: tuple[Stage, ...]) -> tuple[np.ndarray, ...]:
    n = len(features)
    stage_of = np.full(n, None, dtype=object)
    reason_of = np.full(n, None, dtype=object)
    left = np.ones(n, dtype=bool)
    for stage in stages:
        if stage.conditions:
            held = [_holds(_column(features, c.feature), c) for c in stage.conditions]
            combine = np.logical_or if stage.match == "any" else np.logical_and
            take = left & combine.reduce(held)
            reason_of[take] = _stage_reasons(features, stage, take)
        else:
            take = left.copy()
            reason_of[take] = stage.reason
        stage_of[take] = stage.name
        left &= ~take
    return stage_of, reason_of


def assign_tiers(
    features: pd.DataFrame,
    *,
    value: pd.Series | None = None,
    churn_probability: pd.Series | None = None,
    rules: TierRules | None = None,
) -> pd.DataFrame:
    """Value, activity and risk tier and lifecycle stage (with its reason) of every row.

    ``value`` (12-month value in minor units) and ``churn_probability`` are indexed by
    ``customer_id``; a customer absent from either, or either left out, gets an empty (None)
    value or risk tier. The result keeps the index of ``features``.
    """
    rules = rules or load_tier_rules()
    if "customer_id" not in features.columns:
        raise ValidationError("features have no customer_id column", field="customer_id")
    ids = features["customer_id"]
    probability = _aligned(churn_probability, ids, "churn_probability")
    if ((probability < 0) | (probability > 1)).any():
        raise ValidationError("churn probabilities must lie in [0, 1]", field="churn_probability")
    risk_names = [t.name for t in rules.risk]
    risk_bounds = [float(t.min_probability or 0) for t in rules.risk[:-1]]
    stage, reason = _lifecycle(features, rules.lifecycle)
    columns = {
        "customer_id": ids.to_numpy(),
        "value_tier": _value_tiers(_aligned(value, ids, "value"), rules.value),
        "activity_tier": _activity_tiers(features, rules.activity),
        "risk_tier": _banded(probability, risk_names, risk_bounds),
        "lifecycle_stage": stage,
        "lifecycle_reason": reason,
    }
    return pd.DataFrame(columns, index=features.index)
