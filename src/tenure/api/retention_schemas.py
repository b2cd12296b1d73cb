"""Response bodies of the retention routes; built from warehouse rows, never holding PII."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from tenure.api.retention_queries import RetentionRow
from tenure.core.money import format_minor_units as format_money

__all__ = [
    "CURRENCY",
    "AtRiskItem",
    "AtRiskPageOut",
    "AtRiskQuery",
    "ChurnHorizons",
    "CustomerRetentionOut",
    "FlowForecast",
    "Lifecycle",
    "Money",
    "Segment",
    "Tiers",
    "format_money",
]

CURRENCY = "CNY"
# DuckDB binds a Python int past 64 bits as an error (read as 503); segment is an INTEGER column.
_INT32 = 2**31


class AtRiskQuery(BaseModel):
    """Filters and paging of ``GET /v1/retention/at-risk``; an unknown parameter is a 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date | None = Field(default=None, description="A scoring date; the latest if absent.")
    value_tier: str | None = Field(default=None, max_length=64)
    risk_tier: str | None = Field(default=None, max_length=64)
    segment: int | None = Field(default=None, ge=-_INT32, le=_INT32 - 1)
    lifecycle_stage: str | None = Field(default=None, max_length=64)
    rm_id: str | None = Field(default=None, max_length=64)
    min_p_churn: float | None = Field(default=None, ge=0, le=1)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=_INT32 - 1)


class Money(BaseModel):
    """An amount: exact integer minor units (1 CNY = 100) and a display string."""

    minor_units: int = Field(examples=[1141200])
    currency: str = CURRENCY
    formatted: str = Field(examples=["11,412 CNY"])

    @classmethod
    def of(cls, minor: int | None) -> Money | None:
        return None if minor is None else cls(minor_units=minor, formatted=format_money(minor))


class Tiers(BaseModel):
    value: str | None
    activity: str | None
    risk: str | None


class Segment(BaseModel):
    number: int | None
    name: str | None


class Lifecycle(BaseModel):
    stage: str | None
    reason: str | None


class ChurnHorizons(BaseModel):
    """P(churn) within 30, 90 and 180 days, and the expected months until churn."""

    p_churn_30d: float | None
    p_churn_90d: float | None
    p_churn_180d: float | None
    expected_months_to_churn: float | None


class FlowForecast(BaseModel):
    """The forecast money in and money spent."""

    inflow: Money | None
    spend: Money | None


class CustomerRetentionOut(BaseModel):
    """Everything scored about one customer on one scoring date."""

    customer_id: str
    as_of: datetime
    scored_at: datetime | None
    model_version: str | None
    rm_id: str | None
    p_churn: float
    risk_band: str | None
    horizons: ChurnHorizons
    tiers: Tiers
    lifecycle: Lifecycle
    segment: Segment
    value_12m: Money | None
    value_at_risk: Money | None = Field(description="P(churn) x 12-month value.")
    reasons: list[str] = Field(description="Plain sentences, strongest first.")
    forecast: FlowForecast

    @classmethod
    def of(cls, row: RetentionRow) -> CustomerRetentionOut:
        return cls(
            customer_id=row.customer_id,
            as_of=row.as_of,
            scored_at=row.scored_at,
            model_version=row.model_version,
            rm_id=row.rm_id,
            p_churn=row.p_churn,
            risk_band=row.risk_band,
            horizons=ChurnHorizons(
                p_churn_30d=row.p_churn_30d,
                p_churn_90d=row.p_churn_90d,
                p_churn_180d=row.p_churn_180d,
                expected_months_to_churn=row.expected_months_to_churn,
            ),
            tiers=_tiers(row),
            lifecycle=Lifecycle(stage=row.lifecycle_stage, reason=row.lifecycle_reason),
            segment=Segment(number=row.segment, name=row.segment_name),
            value_12m=Money.of(row.value_12m_minor),
            value_at_risk=Money.of(row.value_at_risk_minor),
            reasons=row.reasons,
            forecast=FlowForecast(
                inflow=Money.of(row.inflow_forecast_minor),
                spend=Money.of(row.spend_forecast_minor),
            ),
        )


class AtRiskItem(BaseModel):
    """One line of an at-risk worklist."""

    customer_id: str
    rm_id: str | None
    p_churn: float
    risk_band: str | None
    value_at_risk: Money | None
    value_12m: Money | None
    tiers: Tiers
    lifecycle_stage: str | None
    segment: Segment
    reasons: list[str]

    @classmethod
    def of(cls, row: RetentionRow) -> AtRiskItem:
        return cls(
            customer_id=row.customer_id,
            rm_id=row.rm_id,
            p_churn=row.p_churn,
            risk_band=row.risk_band,
            value_at_risk=Money.of(row.value_at_risk_minor),
            value_12m=Money.of(row.value_12m_minor),
            tiers=_tiers(row),
            lifecycle_stage=row.lifecycle_stage,
            segment=Segment(number=row.segment, name=row.segment_name),
            reasons=row.reasons,
        )


class AtRiskPageOut(BaseModel):
    """One page of at-risk customers, highest value at risk first (ties by customer id)."""

    as_of: datetime
    total: int = Field(description="Rows matching the filters, over all pages.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")
    items: list[AtRiskItem]


def _tiers(row: RetentionRow) -> Tiers:
    return Tiers(value=row.value_tier, activity=row.activity_tier, risk=row.risk_tier)
