"""The warehouse's history as the engine's events, in time order, with the fraud labels.

Training, ``tenure protection replay`` and the policy comparison all walk the same stream:
logins from ``digital_events``, transfers (``transfer_out``) and card payments
(``card_purchase``) from ``transactions``, new payees from ``payees`` and profile changes from
``profile_changes``. The stream is read one calendar month at a time (a columnar fetch per
month), so memory stays bounded on a bank of any size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from tenure.protection.events import Event, EventKind

__all__ = [
    "HistoryWarehouse",
    "LabelledEvent",
    "count_events",
    "history_events",
    "history_months",
]


class HistoryWarehouse(Protocol):
    """The warehouse calls the history needs (``DuckDBWarehouse`` has them)."""

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...


@dataclass(frozen=True, slots=True)
class LabelledEvent:
    """An event and what the bank later learnt about it."""

    event: Event
    is_fraud: bool
    fraud_type: str | None


_HISTORY = """
WITH events AS (
  SELECT 'login' AS kind, event_id, customer_id, occurred_at, channel, device_id, ip,
         geo_lat AS lat, geo_lon AS lon, NULL AS account_id, 0 AS amount_minor, NULL AS payee_id,
         NULL AS counterparty_bank, NULL AS merchant_category, success, auth_method,
         NULL AS changed_field, 'digital_event' AS entity_type
  FROM digital_events WHERE event_type = 'login' AND occurred_at >= $1 AND occurred_at < $2
  UNION ALL
  SELECT CASE kind WHEN 'transfer_out' THEN 'transfer' ELSE 'card_payment' END, transaction_id,
         customer_id, occurred_at, channel, device_id, ip, geo_lat, geo_lon, account_id,
         amount_minor, payee_id, counterparty_bank, merchant_category, NULL, NULL, NULL,
         'transaction'
  FROM transactions
  WHERE kind IN ('transfer_out', 'card_purchase') AND direction = 'debit'
    AND occurred_at >= $1 AND occurred_at < $2
  UNION ALL
  SELECT 'payee_add', payee_id, customer_id, added_at, channel, device_id, NULL, NULL, NULL,
         NULL, 0, payee_id, bank_code, NULL, NULL, NULL, NULL, 'payee'
  FROM payees WHERE added_at >= $1 AND added_at < $2
  UNION ALL
  SELECT 'profile_change', change_id, customer_id, changed_at, channel, device_id, ip, NULL, NULL,
         NULL, 0, payee_id, NULL, NULL, NULL, NULL, field, 'profile_change'
  FROM profile_changes WHERE changed_at >= $1 AND changed_at < $2
)
SELECT e.*, l.is_fraud, l.fraud_type
FROM events e
LEFT JOIN fraud_labels l ON l.entity_type = e.entity_type AND l.entity_id = e.event_id
{customers}
ORDER BY e.occurred_at, e.event_id
"""


_COUNT = """
WITH first AS (SELECT date_trunc('month', min(occurred_at)) AS start FROM transactions)
SELECT
  (SELECT count(*) FROM digital_events WHERE event_type = 'login' {where})
  + (SELECT count(*) FROM transactions
     WHERE kind IN ('transfer_out', 'card_purchase') AND direction = 'debit' {where})
  + (SELECT count(*) FROM payees WHERE added_at >= (SELECT start FROM first) {where})
  + (SELECT count(*) FROM profile_changes WHERE changed_at >= (SELECT start FROM first) {where})
"""


def _sample_filter(customer_sample: float | None) -> str:
    if customer_sample is None or customer_sample >= 1:
        return ""
    share = max(1, round(customer_sample * 10_000))
    return f"hash(customer_id) % 10000 < {share}"


def count_events(warehouse: HistoryWarehouse, *, customer_sample: float | None = None) -> int:
    """How many events :func:`history_events` will yield (for a progress bar).

    Like the history, it starts at the first month holding a transaction.
    """
    condition = _sample_filter(customer_sample)
    sql = _COUNT.format(where=f"AND {condition}" if condition else "")
    ((total,),) = warehouse.fetch_all(sql)
    return int(total or 0)


def history_months(warehouse: HistoryWarehouse) -> list[datetime]:
    """First instants (UTC) of every calendar month holding a transaction, oldest first."""
    rows = warehouse.fetch_all(
        "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') FROM transactions "
        "ORDER BY 1"
    )
    return [row[0].replace(tzinfo=UTC) for row in rows if row[0] is not None]


def _next_month(moment: datetime) -> datetime:
    return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)  # type: ignore[arg-type]


def _event(row: dict[str, Any]) -> Event:
    success = row["success"]
    return Event(
        kind=EventKind(row["kind"]),
        event_id=str(row["event_id"]),
        customer_id=str(row["customer_id"]),
        occurred_at=pd.Timestamp(row["occurred_at"]).tz_convert(UTC).to_pydatetime(),
        channel=_text(row["channel"]),
        device_id=_text(row["device_id"]),
        ip=_text(row["ip"]),
        lat=_number(row["lat"]),
        lon=_number(row["lon"]),
        account_id=_text(row["account_id"]),
        amount_minor=int(row["amount_minor"]),
        payee_id=_text(row["payee_id"]),
        counterparty_bank=_text(row["counterparty_bank"]),
        merchant_category=_text(row["merchant_category"]),
        success=None if success is None or pd.isna(success) else bool(success),
        auth_method=_text(row["auth_method"]),
        changed_field=_text(row["changed_field"]),
    )


def history_events(
    warehouse: HistoryWarehouse,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    customer_sample: float | None = None,
) -> Iterator[LabelledEvent]:
    """Every scoreable event in ``[start, end)`` (default: all), oldest first, with its label.

    ``customer_sample`` (0 < s <= 1) keeps a stable hash-chosen share of customers, for training
    on part of a large bank.
    """
    months = history_months(warehouse)
    if not months:
        return
    moment = months[0] if start is None else start.astimezone(UTC)
    stop = _next_month(months[-1]) if end is None else end.astimezone(UTC)
    condition = _sample_filter(customer_sample).replace("customer_id", "e.customer_id")
    sql = _HISTORY.format(customers=f"WHERE {condition}" if condition else "")
    while moment < stop:
        upper = min(_next_month(moment.replace(day=1, hour=0, minute=0, second=0)), stop)
        frame = warehouse.fetch_frame(sql, (moment, upper))
        for row in frame.to_dict("records"):
            fraud = row["is_fraud"]
            yield LabelledEvent(
                event=_event(row),
                is_fraud=bool(fraud) if fraud is not None and not pd.isna(fraud) else False,
                fraud_type=_text(row["fraud_type"]),
            )
        moment = upper
