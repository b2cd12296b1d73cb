"""What the retention report shows, read from the warehouse: scores, outcomes, tiers, segments.

The book (one row per scored customer with tiers, segment and value at risk) comes from the
``customer_retention`` table when it holds rows for the report's ``as_of``; otherwise it is
computed here: features at ``as_of``, seeded k-means segments, 12-month margin value (from the
accounts' current balances and the trailing year of fees) and tiers from the packaged rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.features import FeatureWarehouse, compute_features, feature, warehouse_tables
from tenure.retention.labels import churn_events, data_window
from tenure.retention.margin import margin_value
from tenure.retention.metrics import validation_metrics
from tenure.retention.registry import ModelManifest
from tenure.retention.segments import CustomerSegmenter
from tenure.retention.survival import kaplan_meier_by_group, survival_frame
from tenure.retention.tiers import assign_tiers

__all__ = [
    "RETENTION_TABLE",
    "Book",
    "Outcomes",
    "book_at",
    "decile_table",
    "follow_up_curves",
    "observed_outcomes",
    "reason_table",
    "scored_as_ofs",
    "scores_at",
    "scoring_run",
]

RETENTION_TABLE = "customer_retention"
# tier columns that split the follow-up survival curves, in the order the report shows them
_TIER_GROUPS = ("value_tier", "activity_tier", "risk_tier", "lifecycle_stage")
_BOOK_COLUMNS = (
    "customer_id",
    "value_tier",
    "risk_tier",
    "activity_tier",
    "lifecycle_stage",
    "segment",
    "segment_name",
    "value_12m_minor",
    "value_at_risk_minor",
)
_SCORE_COLUMNS = (
    "customer_id",
    "model_name",
    "model_version",
    "p_churn",
    "risk_band",
    "reason_1",
    "reason_2",
    "reason_3",
    "reason_1_feature",
    "reason_2_feature",
    "reason_3_feature",
)


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Realised churn of the customers scored at an ``as_of`` whose horizon has passed."""

    as_of: datetime
    model_version: str
    horizon_days: int
    definition: str
    deciles: pd.DataFrame
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True)
class Book:
    """Scored customers with tiers and segments, and each segment's description."""

    frame: pd.DataFrame
    traits: dict[int, str]
    source: str
    segmenter: CustomerSegmenter | None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def scored_as_ofs(warehouse: FeatureWarehouse) -> list[datetime]:
    """Every ``as_of`` in ``churn_scores``, oldest first (empty without scores)."""
    if "churn_scores" not in warehouse_tables(warehouse):
        return []
    rows = warehouse.fetch_all("SELECT DISTINCT as_of FROM churn_scores ORDER BY as_of")
    return [_utc(row[0]) for row in rows]


def scoring_run(warehouse: FeatureWarehouse, as_of: datetime) -> dict[str, object]:
    """The latest scoring run at ``as_of`` (model, customers, drift), as a column -> value map."""
    names = (
        "model_name",
        "model_version",
        "customers",
        "mean_p_churn",
        "features_watch",
        "features_drift",
        "max_psi",
        "drift_features",
    )
    rows = warehouse.fetch_all(
        f"SELECT {', '.join(names)} FROM scoring_runs WHERE as_of = $1 "
        "ORDER BY scored_at DESC LIMIT 1",
        (as_of,),
    )
    if not rows:
        raise ValidationError(f"no scoring run at {as_of:%Y-%m-%d}", field="as_of")
    return dict(zip(names, rows[0], strict=True))


def scores_at(warehouse: FeatureWarehouse, as_of: datetime, version: str | None) -> pd.DataFrame:
    """The ``churn_scores`` rows of one as_of (of one model version when given)."""
    sql = f"SELECT {', '.join(_SCORE_COLUMNS)} FROM churn_scores WHERE as_of = $1"
    params: tuple[object, ...] = (as_of,)
    if version is not None:
        sql, params = sql + " AND model_version = $2", (as_of, version)
    rows = warehouse.fetch_all(sql + " ORDER BY customer_id", params)
    frame = pd.DataFrame.from_records(rows, columns=list(_SCORE_COLUMNS))
    frame["p_churn"] = frame["p_churn"].astype(float)
    return frame.drop_duplicates("customer_id", keep="last").reset_index(drop=True)


def decile_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Customers, mean prediction, churn rate and lift per decile; decile 1 is the riskiest."""
    order = np.argsort(-p, kind="stable")
    base = float(y.mean()) if len(y) else 0.0
    rows = []
    for number, chunk in enumerate(np.array_split(order, min(10, max(len(order), 1))), start=1):
        rate = float(y[chunk].mean()) if len(chunk) else float("nan")
        lift = rate / base if base > 0 else float("nan")
        rows.append((number, len(chunk), float(p[chunk].mean()), rate, lift))
    return pd.DataFrame(rows, columns=["decile", "customers", "mean_p", "rate", "lift"])


def observed_outcomes(
    warehouse: FeatureWarehouse, manifest: ModelManifest, as_ofs: list[datetime]
) -> Outcomes | None:
    """Outcomes at the latest scored as_of whose horizon ends within the data (None if none)."""
    end = data_window(warehouse).end
    horizon = timedelta(days=manifest.horizon_days)
    ready = [moment for moment in as_ofs if moment + horizon <= end]
    if not ready:
        return None
    as_of = ready[-1]
    scores = scores_at(warehouse, as_of, None)
    events = churn_events(warehouse=warehouse, definition=manifest.definition)
    at = scores["customer_id"].astype(str).map(events.set_index("customer_id")["churned_at"])
    start = pd.Timestamp(as_of)
    y = ((at >= start) & (at < start + pd.Timedelta(horizon))).fillna(False).to_numpy(dtype=int)
    p = scores["p_churn"].to_numpy(dtype=float)
    versions = ", ".join(sorted(scores["model_version"].astype(str).unique()))
    return Outcomes(
        as_of,
        versions,
        manifest.horizon_days,
        manifest.definition,
        decile_table(y, p),
        validation_metrics(y, p),
    )


def reason_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per reason feature: customers with it first, with it in the top three, an example."""
    slots = [
        scores[[f"reason_{k}_feature", f"reason_{k}"]].set_axis(["feature", "text"], axis=1)
        for k in (1, 2, 3)
    ]
    stacked = pd.concat(slots, ignore_index=True).dropna(subset=["feature"])
    first = scores["reason_1_feature"].value_counts()
    table = stacked.groupby("feature").agg(
        any_slot=("text", "size"), example=("text", lambda s: s.value_counts().index[0])
    )
    table["first"] = first.reindex(table.index).fillna(0).astype(int)
    table["label"] = [_feature_label(str(name)) for name in table.index]
    ordered = table.sort_values(["any_slot", "first"], ascending=False, kind="stable")
    return ordered.reset_index()


def _feature_label(name: str) -> str:
    try:
        return feature(name).description.split(";")[0].rstrip(".")
    except (KeyError, ValidationError):
        return name.replace("_", " ")


def _table_rows(warehouse: FeatureWarehouse, as_of: datetime) -> pd.DataFrame | None:
    if RETENTION_TABLE not in warehouse_tables(warehouse):
        return None
    rows = warehouse.fetch_all(
        f"SELECT {', '.join(_BOOK_COLUMNS)} FROM {RETENTION_TABLE} WHERE as_of = $1", (as_of,)
    )
    return pd.DataFrame.from_records(rows, columns=list(_BOOK_COLUMNS)) if rows else None


def _segmenter(features: pd.DataFrame) -> CustomerSegmenter:
    # a seeded, bounded search keeps the fallback deterministic and quick on a large book
    model = CustomerSegmenter(k_range=(3, 6), silhouette_size=4_000, random_state=0, threads=1)
    return model.fit(features)


def _value_12m(warehouse: FeatureWarehouse, as_of: datetime) -> pd.Series:
    accounts = warehouse.fetch_all(
        "SELECT customer_id, product, balance_minor, interest_rate, status FROM accounts "
        "WHERE opened_at < $1 AND balance_minor IS NOT NULL",
        (as_of,),
    )
    fees = warehouse.fetch_all(
        "SELECT customer_id, amount_minor FROM transactions WHERE kind = 'fee' AND "
        "status = 'posted' AND occurred_at >= $1 AND occurred_at < $2",
        (as_of - timedelta(days=365), as_of),
    )
    value = margin_value(
        accounts=pd.DataFrame.from_records(
            accounts, columns=["customer_id", "product", "balance_minor", "interest_rate", "status"]
        ),
        fees=pd.DataFrame.from_records(fees, columns=["customer_id", "amount_minor"]),
    )
    return value["total_value_minor"]


def _value_of(warehouse: FeatureWarehouse, as_of: datetime, features: pd.DataFrame) -> pd.Series:
    """12-month value of each featured customer (0 without accounts), indexed by customer_id."""
    value = _value_12m(warehouse, as_of).reindex(features["customer_id"]).fillna(0)
    value.index = features["customer_id"]
    return value


def _computed_book(
    warehouse: FeatureWarehouse, as_of: datetime, scores: pd.DataFrame
) -> tuple[pd.DataFrame, CustomerSegmenter, dict[int, str]]:
    features = compute_features(warehouse=warehouse, as_of=as_of)
    features = features[features["customer_id"].isin(scores["customer_id"])].reset_index(drop=True)
    segmenter = _segmenter(features)
    profiles = segmenter.profile(features)
    value = _value_of(warehouse, as_of, features)
    p = scores.set_index("customer_id")["p_churn"]
    frame = assign_tiers(features, value=value, churn_probability=p)
    frame["segment"] = segmenter.predict(features)
    names = {profile.segment: profile.name for profile in profiles}
    frame["segment_name"] = frame["segment"].map(names)
    frame["value_12m_minor"] = value.to_numpy(dtype=np.int64)
    at_risk = value.to_numpy(dtype=float) * p.reindex(features["customer_id"]).to_numpy(float)
    frame["value_at_risk_minor"] = np.rint(at_risk).astype(np.int64)
    return frame, segmenter, {profile.segment: profile.description for profile in profiles}


def _stored_traits(frame: pd.DataFrame) -> dict[int, str]:
    """Each segment's most common activity tier and lifecycle stage, with their shares."""
    traits: dict[int, str] = {}
    for segment, rows in frame.groupby("segment", sort=True):
        parts = []
        for column, label in (("activity_tier", "activity"), ("lifecycle_stage", "stage")):
            shares = rows[column].fillna("none").value_counts(normalize=True)
            if len(shares):
                parts.append(f"{label}: mostly {shares.index[0]} ({shares.iloc[0]:.0%})")
        traits[int(str(segment))] = "; ".join(parts)
    return traits


def book_at(warehouse: FeatureWarehouse, as_of: datetime, scores: pd.DataFrame) -> Book:
    """The scored customers with tiers and segments: from the table, else computed here."""
    stored = _table_rows(warehouse, as_of)
    if stored is not None:
        merged = scores.merge(stored, on="customer_id", how="inner")
        return Book(merged, _stored_traits(merged), f"the {RETENTION_TABLE} table", None)
    frame, segmenter, traits = _computed_book(warehouse, as_of, scores)
    merged = scores.merge(frame, on="customer_id", how="inner")
    source = "computed for this report (no customer_retention rows at this date)"
    return Book(merged, traits, source, segmenter)


def _groups_at(warehouse: FeatureWarehouse, as_of: datetime, book: Book) -> pd.DataFrame:
    """Segment and risk tier of each customer scored at ``as_of`` (table first, else computed)."""
    scores = scores_at(warehouse, as_of, None)
    stored = _table_rows(warehouse, as_of)
    if stored is not None:
        groups = stored[["customer_id", "segment", "segment_name", *_TIER_GROUPS]]
        return groups[groups["customer_id"].isin(scores["customer_id"])]
    features = compute_features(warehouse=warehouse, as_of=as_of)
    features = features[features["customer_id"].isin(scores["customer_id"])].reset_index(drop=True)
    # the book's segmenter and names, so that segment k means the same thing in both sections
    model = book.segmenter or _segmenter(features)
    names = (
        book.frame.groupby("segment")["segment_name"].first().to_dict()
        if book.segmenter is not None
        else {profile.segment: profile.name for profile in model.profile(features)}
    )
    p = scores.set_index("customer_id")["p_churn"]
    tiers = assign_tiers(features, value=_value_of(warehouse, as_of, features), churn_probability=p)
    groups = tiers[["customer_id", *_TIER_GROUPS]].copy()
    groups["segment"] = model.predict(features)
    groups["segment_name"] = groups["segment"].map(names)
    return groups


def follow_up_curves(
    warehouse: FeatureWarehouse,
    baseline: datetime,
    definition: str,
    book: Book,
) -> dict[str, pd.DataFrame]:
    """Kaplan-Meier curves from ``baseline`` to the end of data, by segment and by each tier.

    Keys: ``segment``, then the tier columns of ``_TIER_GROUPS`` (value, activity, risk tier and
    lifecycle stage) as assigned at ``baseline``; a customer without a tier is ``unscored``.
    """
    groups = _groups_at(warehouse, baseline, book)
    events = churn_events(warehouse=warehouse, definition=definition)
    end = data_window(warehouse).end
    frame = survival_frame(
        groups.reset_index(drop=True), events, as_of=baseline, observation_end=end
    )
    segment = [
        f"{int(s)}: {n}" for s, n in zip(frame["segment"], frame["segment_name"], strict=True)
    ]
    curves = {"segment": kaplan_meier_by_group(frame["duration_days"], frame["event"], segment)}
    for column in _TIER_GROUPS:
        labels = frame[column].fillna("unscored").astype(str)
        curves[column] = kaplan_meier_by_group(frame["duration_days"], frame["event"], labels)
    return curves
