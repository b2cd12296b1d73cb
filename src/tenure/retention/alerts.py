"""Deviation alerts: a regular salary that has not arrived, and a month's money below its forecast.

``salary_alerts`` looks at posted ``salary`` credits. A customer has a *regular salary* when one
arrived in at least ``min_paid_months`` of the last ``months`` complete months (UTC calendar months
before the month of ``as_of``) on similar days of the month (the latest and earliest day differ by
at most ``max_day_spread``). The next salary is expected in the month after the last one received,
on the median day of the recent ones (clipped to the length of that month), at 00:00 UTC. When
``as_of`` is more than ``grace_days`` after that with no salary since, the customer gets a row.

``flow_alerts`` fits a :class:`FlowForecaster` on the complete months before the last one, and
flags customers whose inflow or spend in the last complete month fell below the lower bound.

Money in messages is rounded to whole units of the currency with thousands separators
(1 CNY = 100 minor units); every money column is integer minor units.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError
from tenure.core.money import format_minor_units as format_money
from tenure.retention.forecast import (
    MONTH_SQL,
    FlowForecaster,
    Queryable,
    month_index,
    month_start,
    monthly_flows,
    sql_currency,
    sql_timestamp,
    utc_instant,
)
from tenure.retention.margin import to_minor_units

__all__ = [
    "FLOW_ALERT_COLUMNS",
    "SALARY_ALERT_COLUMNS",
    "flow_alerts",
    "format_money",
    "ordinal",
    "salary_alerts",
    "salary_months_sql",
]

SALARY_ALERT_COLUMNS = (
    "customer_id",
    "expected_at",
    "days_late",
    "last_salary_at",
    "usual_amount_minor",
    "usual_day",
    "message",
)
FLOW_ALERT_COLUMNS = (
    "customer_id",
    "flow",
    "month",
    "actual_minor",
    "expected_minor",
    "lower_minor",
    "drop_pct",
    "message",
)


def ordinal(day: int) -> str:
    """English ordinal of a day of the month: 1st, 2nd, 3rd, 4th, 11th, 22nd."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def salary_months_sql(as_of: datetime, *, months: int = 4, currency: str = "CNY") -> str:
    """Portable SQL of salary per customer and month, ``months`` months back until ``as_of``."""
    at = utc_instant(as_of)
    start = month_start(month_index(at) - months)
    return f"""
SELECT customer_id, month_index, MIN(day_of_month) AS salary_day,
  SUM(amount_minor) AS amount_minor, MAX(occurred_at) AS last_at
FROM (
  SELECT customer_id, {MONTH_SQL} AS month_index,
    CAST(EXTRACT(DAY FROM occurred_at) AS BIGINT) AS day_of_month, amount_minor, occurred_at
  FROM transactions
  WHERE kind = 'salary' AND direction = 'credit' AND status = 'posted'
    AND currency = {sql_currency(currency)}
    AND occurred_at >= {sql_timestamp(start)} AND occurred_at < {sql_timestamp(at)}
) AS salaries
GROUP BY customer_id, month_index
"""


def _regular_payers(
    salaries: pd.DataFrame, current: int, min_paid_months: int, max_day_spread: int
) -> pd.DataFrame:
    """Customers with a regular salary: usual day and amount, last month and time paid."""
    complete = salaries[salaries["month_index"] < current]
    stats = complete.groupby("customer_id").agg(
        paid=("month_index", "size"),
        earliest=("salary_day", "min"),
        latest=("salary_day", "max"),
        day=("salary_day", "median"),
        amount=("amount_minor", "median"),
    )
    latest = salaries.groupby("customer_id").agg(
        last_month=("month_index", "max"), last_salary_at=("last_at", "max")
    )
    regular = (stats["paid"] >= min_paid_months) & (
        stats["latest"] - stats["earliest"] <= max_day_spread
    )
    return stats[regular].join(latest)


def _expected_dates(payers: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The usual day (rounded median) and the expected time of the next salary per payer."""
    usual_day = np.floor(payers["day"].to_numpy(dtype=float) + 0.5).astype(np.int64)
    due = payers["last_month"].to_numpy(dtype=np.int64) + 1
    starts = pd.to_datetime(
        {"year": due // 12, "month": due % 12 + 1, "day": np.ones(len(due), dtype=np.int64)}
    ).dt.tz_localize("UTC")
    starts.index = payers.index
    day = np.minimum(usual_day, starts.dt.days_in_month.to_numpy())
    expected = starts + pd.to_timedelta(day - 1, unit="D")
    return pd.Series(usual_day, index=payers.index), expected


def _salary_message(days_late: int, usual_minor: int, usual_day: int, currency: str) -> str:
    when = "today" if days_late == 0 else f"{days_late} day{'s' if days_late != 1 else ''} ago"
    return (
        f"salary expected {when} has not arrived "
        f"(usually about {format_money(usual_minor, currency)} on the {ordinal(usual_day)})"
    )


def _check_salary_options(grace_days: int, months: int, min_paid_months: int) -> None:
    if grace_days < 0:
        raise ValidationError("grace_days must not be negative", field="grace_days")
    if not 1 <= min_paid_months <= months:
        raise ValidationError("min_paid_months must be between 1 and months", field="months")


def salary_alerts(
    *,
    warehouse: Queryable,
    as_of: datetime,
    grace_days: int = 3,
    months: int = 4,
    min_paid_months: int = 3,
    max_day_spread: int = 5,
    currency: str = "CNY",
) -> pd.DataFrame:
    """Customers whose regular salary is more than ``grace_days`` late at ``as_of``."""
    _check_salary_options(grace_days, months, min_paid_months)
    at = utc_instant(as_of)
    rows = warehouse.fetch_all(salary_months_sql(at, months=months, currency=currency))
    salaries = pd.DataFrame(
        rows, columns=["customer_id", "month_index", "salary_day", "amount_minor", "last_at"]
    )
    payers = _regular_payers(salaries, month_index(at), min_paid_months, max_day_spread)
    usual_day, expected = _expected_dates(payers)
    late = pd.Timestamp(at) - expected
    flagged = late > timedelta(days=grace_days)
    if not flagged.any():
        return pd.DataFrame({column: [] for column in SALARY_ALERT_COLUMNS})
    chosen = payers[flagged]
    days_late = (late[flagged] // timedelta(days=1)).astype(np.int64)
    amount = to_minor_units(chosen["amount"].astype(float))
    frame = pd.DataFrame(
        {
            "customer_id": chosen.index.astype(object),
            "expected_at": expected[flagged].reset_index(drop=True),
            "days_late": days_late.to_numpy(),
            "last_salary_at": pd.to_datetime(chosen["last_salary_at"], utc=True).reset_index(
                drop=True
            ),
            "usual_amount_minor": amount.to_numpy(),
            "usual_day": usual_day[flagged].to_numpy(),
        }
    )
    frame["message"] = [
        _salary_message(int(d), int(a), int(u), currency)
        for d, a, u in zip(
            frame["days_late"], frame["usual_amount_minor"], frame["usual_day"], strict=True
        )
    ]
    return frame.sort_values(["days_late", "customer_id"], ascending=[False, True], kind="stable")


def _flow_rows(merged: pd.DataFrame, flow: str, currency: str) -> pd.DataFrame:
    """Alert rows for one flow: the actual fell below the forecast's lower bound."""
    lower = merged[f"{flow}_lower_minor"]
    below = merged[lower.notna() & (merged[f"{flow}_minor"] < lower.fillna(0))]
    expected = below[f"{flow}_expected_minor"].astype(np.int64)
    actual = below[f"{flow}_minor"].astype(np.int64)
    drop = np.floor(100 * (expected - actual) / expected + 0.5).astype(np.int64)
    frame = pd.DataFrame(
        {
            "customer_id": below["customer_id"],
            "flow": flow,
            "month": below["month"],
            "actual_minor": actual,
            "expected_minor": expected,
            "lower_minor": below[f"{flow}_lower_minor"].astype(np.int64),
            "drop_pct": drop,
        }
    )
    frame["message"] = [
        f"{flow} down {d} % against the expected {format_money(int(e), currency)}"
        for d, e in zip(frame["drop_pct"], frame["expected_minor"], strict=True)
    ]
    return frame


def flow_alerts(
    *,
    warehouse: Queryable,
    as_of: datetime,
    forecaster: FlowForecaster | None = None,
    months: int = 12,
    currency: str = "CNY",
) -> pd.DataFrame:
    """Customers whose last complete month's inflow or spend fell below the forecast's lower bound.

    ``forecaster`` (default ``FlowForecaster()``) is fitted here on the months before that one.
    """
    at = utc_instant(as_of)
    flows = monthly_flows(warehouse=warehouse, as_of=at, months=months, currency=currency)
    last = pd.Timestamp(month_start(month_index(at) - 1))
    history = flows[flows["month"] < last]
    if history.empty:
        return pd.DataFrame({column: [] for column in FLOW_ALERT_COLUMNS})
    model = (forecaster or FlowForecaster()).fit(history)
    predicted = model.predict(history)
    actual = flows.loc[flows["month"] == last, ["customer_id", "inflow_minor", "spend_minor"]]
    merged = predicted.merge(actual, on="customer_id", how="inner")
    frame = pd.concat([_flow_rows(merged, flow, currency) for flow in ("inflow", "spend")])
    return frame.sort_values(["drop_pct", "customer_id"], ascending=[False, True], kind="stable")
