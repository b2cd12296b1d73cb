"""Batch retention scoring: one pass over every open customer, one row each in the warehouse.

:func:`score_customers` takes the features of every customer open at ``as_of`` (only data before
it) and, with the churn model and the segments and survival models trained with it
(:mod:`tenure.retention.training`), computes p(churn), three reasons from the model's own
contributions for the ``reasons_limit`` riskiest customers (exact contributions are the
costly step: see :data:`~tenure.retention.churn_scoring.REASONS_LIMIT`), PSI drift against
training, the point-in-time 12-month margin value (:mod:`tenure.retention.book_value`) and the
value at risk, value / activity / risk tiers and the lifecycle stage, the segment, P(churn within
30 / 90 / 180 days) and the expected months to churn, and next month's inflow and spend
forecast (a :class:`~tenure.retention.forecast.FlowForecaster` fitted on the complete months
before ``as_of``). It writes, in one transaction, ``churn_scores`` and a ``scoring_runs`` row
(as churn scoring always has) and ``customer_retention``, replacing that ``as_of``'s rows.
Every column uses data before ``as_of`` only.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from tenure.core.clock import Clock, SystemClock
from tenure.retention.book_value import value_as_of
from tenure.retention.churn import DEFAULT_MODEL, RISK_BANDS, Progress
from tenure.retention.churn_scoring import (
    REASONS_LIMIT,
    ChurnScores,
    check_catalogue,
    run_row,
    score_churn,
)
from tenure.retention.features import FrameWarehouse, compute_features
from tenure.retention.forecast import FlowForecaster, monthly_flows
from tenure.retention.margin import MarginAssumptions, to_minor_units
from tenure.retention.registry import ModelRegistry
from tenure.retention.score_store import (
    ensure_tables,
    write_retention,
    write_runs_row,
    write_scores,
)
from tenure.retention.tiers import TIER_COLUMNS, TierRules, assign_tiers
from tenure.retention.training import Companions, load_companions

__all__ = ["FORECAST_SAMPLE", "ScoringRun", "score_customers"]

FORECAST_SAMPLE = 20_000
"""Customers the flow forecaster's parameters are picked on (a seeded sample); all are forecast."""
_SURVIVAL_DAYS = (30, 90, 180)


@dataclass(frozen=True, slots=True)
class ScoringRun:
    """What one scoring run did: rows written, bands, reasons, drift, segments, seconds per step."""

    as_of: datetime
    model_name: str
    model_version: str
    customers: int
    bands: dict[str, int]
    top_reasons: list[tuple[str, int]]
    drift: pd.DataFrame
    table: str = "churn_scores"
    retention_table: str = "customer_retention"
    segments: dict[str, int] = field(default_factory=dict)
    value_at_risk_minor: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    excluded: int = 0  # customers left out: profiling refused or identity erased

    @property
    def drifting(self) -> list[str]:
        """Features whose PSI is at the drift level."""
        return [str(f) for f in self.drift.loc[self.drift["status"] == "drift", "feature"]]


class _Steps:
    """Times each step and reports it to the progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        if self._progress:
            self._progress(step, 0, 1)
        started = time.perf_counter()
        yield
        self.seconds[step] = time.perf_counter() - started
        if self._progress:
            self._progress(step, 1, 1)


def _aligned(series: pd.Series, ids: pd.Series) -> np.ndarray:
    return np.asarray(series.reindex(ids.to_numpy()).to_numpy())


def _survival(companions: Companions, features: pd.DataFrame) -> pd.DataFrame:
    if not len(features):
        columns = [*(f"p_churn_{d}d" for d in _SURVIVAL_DAYS), "expected_months_to_churn"]
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
    model = companions.survival
    frame = model.predict_survival(features, days=_SURVIVAL_DAYS)
    frame["expected_months_to_churn"] = model.expected_months_to_churn(features)
    return frame


def _forecasts(warehouse: FrameWarehouse, as_of: datetime, ids: pd.Series) -> pd.DataFrame:
    """Next month's expected inflow and spend per customer (NULL without two months of history)."""
    empty = pd.array([pd.NA] * len(ids), dtype="Int64")
    flows = monthly_flows(warehouse=warehouse, as_of=as_of)
    if flows.empty:
        return pd.DataFrame({"inflow_forecast_minor": empty, "spend_forecast_minor": empty})
    customers = np.sort(flows["customer_id"].unique())
    rng = np.random.default_rng(0)
    chosen = rng.choice(customers, min(len(customers), FORECAST_SAMPLE), replace=False)
    forecaster = FlowForecaster().fit(flows[flows["customer_id"].isin(chosen)])
    predicted = forecaster.predict(flows).set_index("customer_id")
    return pd.DataFrame(
        {
            f"{target}_forecast_minor": pd.array(
                _aligned(predicted[f"{target}_expected_minor"], ids), dtype="Int64"
            )
            for target in ("inflow", "spend")
        }
    )


def _rm_ids(warehouse: FrameWarehouse, ids: pd.Series) -> np.ndarray:
    rows = warehouse.fetch_all("SELECT customer_id, rm_id FROM customers")
    lookup = pd.Series({str(c): r for c, r in rows}, dtype=object)
    found = lookup.reindex(ids.to_numpy())
    return np.asarray(found.astype(object).where(found.notna(), None).to_numpy(), dtype=object)


def _value(
    warehouse: FrameWarehouse, as_of: datetime, ids: pd.Series, assume: MarginAssumptions | None
) -> pd.Series:
    value = value_as_of(warehouse=warehouse, as_of=as_of, assumptions=assume)
    return value.reindex(ids.to_numpy()).fillna(0).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Parts:
    churn: ChurnScores
    value: pd.Series
    tiers: pd.DataFrame
    segments: np.ndarray
    survival: pd.DataFrame
    forecasts: pd.DataFrame
    rm_ids: np.ndarray


def _retention_frame(
    features: pd.DataFrame, parts: _Parts, companions: Companions, scored_at: datetime
) -> pd.DataFrame:
    churn = parts.churn.frame
    value = parts.value.to_numpy()
    at_risk = to_minor_units(pd.Series(churn["p_churn"].to_numpy() * value)).to_numpy()
    segments = pd.Series(parts.segments, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "as_of": churn["as_of"].to_numpy(),
            "customer_id": features["customer_id"].to_numpy(),
            "rm_id": parts.rm_ids,
            "model_version": churn["model_version"].to_numpy(),
            "p_churn": churn["p_churn"].to_numpy(),
            "risk_band": churn["risk_band"].to_numpy(),
            **{column: parts.tiers[column].to_numpy() for column in TIER_COLUMNS},
            "segment": segments.astype(np.int32).to_numpy(),
            "segment_name": segments.map(companions.segment_names).to_numpy(dtype=object),
            "value_12m_minor": value,
            "value_at_risk_minor": at_risk,
            "expected_months_to_churn": parts.survival["expected_months_to_churn"].to_numpy(),
            **{f"p_churn_{d}d": parts.survival[f"p_churn_{d}d"].to_numpy() for d in _SURVIVAL_DAYS},
            "inflow_forecast_minor": parts.forecasts["inflow_forecast_minor"].array,
            "spend_forecast_minor": parts.forecasts["spend_forecast_minor"].array,
            **{f"reason_{s}": churn[f"reason_{s}"].to_numpy() for s in (1, 2, 3)},
        }
    )
    frame["scored_at"] = pd.Timestamp(scored_at).tz_convert(UTC)
    return frame


def score_customers(
    *,
    warehouse: FrameWarehouse,
    registry: ModelRegistry,
    as_of: datetime,
    model: str = DEFAULT_MODEL,
    version: str = "latest",
    clock: Clock | None = None,
    progress: Progress | None = None,
    rules: TierRules | None = None,
    assumptions: MarginAssumptions | None = None,
    reasons_limit: int | None = REASONS_LIMIT,
    exclude: Collection[str] = frozenset(),
) -> ScoringRun:
    """Score every customer open at ``as_of`` and write churn_scores and customer_retention.

    Reasons are computed for the ``reasons_limit`` riskiest customers (None: all of them).
    Customers in ``exclude`` (who refused profiling, or were erased) are neither scored nor
    written; the run counts them in ``excluded``.
    """
    step = _Steps(progress)
    loaded = registry.load(model, version)
    manifest = loaded.manifest
    check_catalogue(manifest)
    companions = load_companions(registry, manifest)
    with step("features"):
        features = compute_features(warehouse=warehouse, as_of=as_of)
        refused = features["customer_id"].isin(exclude)
        features = features.loc[~refused].reset_index(drop=True)
    ids = features["customer_id"]
    with step("churn"):
        churn = score_churn(loaded.model, manifest, features, as_of, reasons_limit=reasons_limit)
    with step("value"):
        value = _value(warehouse, as_of, ids, assumptions)
    with step("tiers"):
        probability = pd.Series(churn.frame["p_churn"].to_numpy(), index=ids.to_numpy())
        tiers = assign_tiers(
            features,
            value=pd.Series(value.to_numpy(), index=ids.to_numpy()),
            churn_probability=probability,
            rules=rules,
        )
    with step("segments"):
        segments = companions.segmenter.predict(features) if len(features) else np.zeros(0, int)
    with step("survival"):
        survival = _survival(companions, features)
    with step("forecasts"):
        forecasts = _forecasts(warehouse, as_of, ids)
    parts = _Parts(churn, value, tiers, segments, survival, forecasts, _rm_ids(warehouse, ids))
    scored_at = (clock or SystemClock()).now()
    scores = churn.frame.assign(scored_at=scored_at)
    retention = _retention_frame(features, parts, companions, scored_at)
    with step("write"):
        ensure_tables(warehouse)
        with warehouse.transaction():
            write_scores(warehouse=warehouse, frame=scores)
            write_runs_row(
                warehouse=warehouse, row=run_row(scores, churn.drift, manifest, as_of, scored_at)
            )
            write_retention(warehouse=warehouse, as_of=as_of, frame=retention)
    return ScoringRun(
        as_of=as_of,
        model_name=manifest.name,
        model_version=manifest.version,
        customers=len(scores),
        bands={label: int((scores["risk_band"] == label).sum()) for _, label in RISK_BANDS},
        top_reasons=churn.top_reasons,
        drift=churn.drift,
        segments=retention["segment_name"].value_counts().astype(int).to_dict(),
        value_at_risk_minor=int(retention["value_at_risk_minor"].sum()),
        seconds=step.seconds,
        excluded=int(refused.sum()),
    )
