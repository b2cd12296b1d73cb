"""Churn events from warehouse data under a configurable definition, and snapshot labels.

Definitions (the same three the simulator labels with, so that they can be checked against it):

- ``closure``: the relationship was closed (``customers.closed_at``).
- ``dormancy_90d``: the first moment a customer had gone 90 days without a customer-initiated
  transaction (a posted ``transfer_out``, ``card_purchase``, ``cash_withdrawal``, ``cash_deposit``,
  ``bill_payment`` or ``investment`` on any channel but ``batch``), counted from the later of the
  data window's start and the customer's opening; the event time is the last such transaction
  (or that start) plus 90 days.
- ``balance_flight_80``: at a month boundary the customer's total deposit balance (current,
  savings, term deposit, wealth) is at most 20 % of the average of the three previous boundaries
  (the window start counting as the first), with that average at least 1,000.00 (100,000 minor
  units); the event time is the last second of that month. Balances are rebuilt from
  ``transactions.balance_after_minor``: an account's balance at an instant is the balance after its
  last posting before it, or the balance before its first posting, or (never posted) its balance.

The data window is ``[day of the first transaction, day after the last transaction)``. Only the
first event per customer is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.features import FeatureWarehouse

__all__ = [
    "CHURN_DEFINITIONS",
    "ChurnDefinition",
    "DataWindow",
    "churn_events",
    "data_window",
    "label_snapshot",
    "month_bounds",
    "prior_churners",
]

ChurnDefinition = Literal["closure", "dormancy_90d", "balance_flight_80"]
CHURN_DEFINITIONS: tuple[str, ...] = get_args(ChurnDefinition)

INITIATED_KINDS = (
    "transfer_out",
    "card_purchase",
    "cash_withdrawal",
    "cash_deposit",
    "bill_payment",
    "investment",
)
DEPOSIT_PRODUCTS = ("current", "savings", "term_deposit", "wealth")
DORMANT_SECONDS = 90 * 86_400
FLIGHT_FLOOR_MINOR = 100_000


@dataclass(frozen=True, slots=True)
class DataWindow:
    """The span the warehouse's transactions cover: ``[start, end)``, whole UTC days."""

    start: datetime
    end: datetime


def data_window(warehouse: FeatureWarehouse) -> DataWindow:
    """The data window, from the first and last transaction in the warehouse."""
    rows = warehouse.fetch_all("SELECT MIN(occurred_at), MAX(occurred_at) FROM transactions")
    first, last = rows[0] if rows else (None, None)
    if first is None or last is None:
        raise ValidationError("the warehouse holds no transactions", field="transactions")
    start = _utc(first).replace(hour=0, minute=0, second=0, microsecond=0)
    end = _utc(last).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return DataWindow(start, end)


def month_bounds(window: DataWindow) -> list[datetime]:
    """The window start, then the same day (capped at the 28th) of each later month up to end."""
    day = min(window.start.day, 28)
    bounds = [window.start]
    offset = 1
    while True:
        total = window.start.month - 1 + offset
        moment = datetime(window.start.year + total // 12, total % 12 + 1, day, tzinfo=UTC)
        if moment > window.end:
            return bounds
        bounds.append(moment)
        offset += 1


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_CLOSURE = "SELECT customer_id, closed_at FROM customers WHERE closed_at IS NOT NULL"

_DORMANCY = f"""
WITH points AS (
    SELECT customer_id, EPOCH(occurred_at) AS moment FROM transactions
    WHERE status = 'posted' AND channel <> 'batch' AND kind IN ({_in_list(INITIATED_KINDS)})
      AND occurred_at >= $start AND occurred_at < $end
    UNION ALL
    SELECT customer_id, EPOCH(GREATEST(opened_at, $start)) FROM customers WHERE opened_at < $end
), gaps AS (
    SELECT customer_id, moment,
           COALESCE(LEAD(moment) OVER (PARTITION BY customer_id ORDER BY moment),
                    EPOCH($end)) AS nxt
    FROM points
)
SELECT customer_id, TO_TIMESTAMP(MIN(moment) + {DORMANT_SECONDS}) FROM gaps
WHERE nxt - moment >= {DORMANT_SECONDS} GROUP BY customer_id
"""

_FLIGHT = f"""
WITH bounds AS (SELECT UNNEST($bounds::TIMESTAMPTZ[]) AS b, GENERATE_SUBSCRIPTS($bounds, 1) AS k),
deposit AS (
    SELECT account_id, customer_id, balance_minor FROM accounts
    WHERE product IN ({_in_list(DEPOSIT_PRODUCTS)}) AND opened_at < $end
), posted AS (
    SELECT t.account_id, t.occurred_at, t.transaction_id, t.balance_after_minor,
           t.balance_after_minor - CASE WHEN t.direction = 'credit' THEN t.amount_minor
                                        ELSE -t.amount_minor END AS before_minor
    FROM transactions AS t JOIN deposit AS d ON t.account_id = d.account_id
    WHERE t.status = 'posted' AND t.balance_after_minor IS NOT NULL
), opening AS (
    SELECT account_id, ARG_MIN(before_minor, (occurred_at, transaction_id)) AS minor
    FROM posted GROUP BY account_id
), grid AS (
    SELECT d.account_id, d.customer_id, d.balance_minor, b.k, b.b
    FROM deposit AS d CROSS JOIN bounds AS b
), balances AS (
    SELECT g.customer_id, g.k, g.b,
           SUM(COALESCE(p.balance_after_minor, o.minor, g.balance_minor))::HUGEINT AS total
    FROM grid AS g
    ASOF LEFT JOIN posted AS p ON g.account_id = p.account_id AND g.b > p.occurred_at
    LEFT JOIN opening AS o ON g.account_id = o.account_id
    GROUP BY g.customer_id, g.k, g.b
), moving AS (
    SELECT customer_id, k, b, total,
           SUM(total) OVER (PARTITION BY customer_id ORDER BY k
                            ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS prev3,
           COUNT(*) OVER (PARTITION BY customer_id ORDER BY k
                          ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS n_prev
    FROM balances
)
SELECT customer_id, MIN(b) - INTERVAL 1 SECOND FROM moving
WHERE n_prev = 3 AND prev3 >= {3 * FLIGHT_FLOOR_MINOR} AND 15 * total <= prev3
GROUP BY customer_id
"""


def churn_events(
    *,
    warehouse: FeatureWarehouse,
    definition: str,
    window: DataWindow | None = None,
) -> pd.DataFrame:
    """The first churn event of each customer who churned: columns customer_id, churned_at."""
    if definition not in CHURN_DEFINITIONS:
        raise ValidationError(
            f"unknown churn definition {definition!r}; use one of {', '.join(CHURN_DEFINITIONS)}",
            field="definition",
        )
    if definition == "closure":
        rows = warehouse.fetch_all(_CLOSURE)
    else:
        span = window or data_window(warehouse)
        if definition == "dormancy_90d":
            sql = _DORMANCY.replace("$start", "$1").replace("$end", "$2")
            rows = warehouse.fetch_all(sql, (span.start, span.end))
        else:
            sql = _FLIGHT.replace("$bounds", "$1").replace("$end", "$2")
            rows = warehouse.fetch_all(sql, (month_bounds(span), span.end))
    return _events_frame(rows)


def _events_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=["customer_id", "churned_at"])
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["churned_at"] = pd.to_datetime(frame["churned_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame.sort_values("customer_id", ignore_index=True)


def _event_times(features: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    lookup = events.set_index("customer_id")["churned_at"]
    return features["customer_id"].map(lookup)


def label_snapshot(
    features: pd.DataFrame, events: pd.DataFrame, horizon_days: int = 90
) -> pd.Series:
    """1 where the row's customer churns in ``[snapshot_at, snapshot_at + horizon)``, else 0."""
    at = _event_times(features, events)
    start = features["snapshot_at"]
    inside = (at >= start) & (at < start + pd.Timedelta(days=horizon_days))
    return inside.fillna(False).astype("int64").rename("churned")


def prior_churners(features: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """True where the row's customer had already churned before the snapshot."""
    at = _event_times(features, events)
    return (at < features["snapshot_at"]).fillna(False).astype(bool).rename("churned_before")
