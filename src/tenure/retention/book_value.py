"""Point-in-time bank margin value: :func:`~tenure.retention.margin.margin_value` as of a date.

Only what was known before ``as_of`` is read: accounts opened before it and not closed before it
(never the extract-time ``status``), each account's balance after its last posting before
``as_of`` (``transactions.balance_after_minor``; an account without a posting before it counts a
balance of 0, never the extract-time ``balance_minor``), and the posted fees of the
``fee_window_months`` before ``as_of``. Interest rates are the account's own attribute.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from tenure.retention.features import FeatureWarehouse
from tenure.retention.margin import MarginAssumptions, margin_value

__all__ = ["value_as_of"]

_ACCOUNTS = """
WITH open_accounts AS (
    SELECT account_id, customer_id, product, interest_rate FROM accounts
    WHERE opened_at < $1 AND (closed_at IS NULL OR closed_at >= $1)
), last_balance AS (
    SELECT t.account_id,
           ARG_MAX(t.balance_after_minor, (t.occurred_at, t.transaction_id)) AS balance_minor
    FROM transactions AS t SEMI JOIN open_accounts AS a ON a.account_id = t.account_id
    WHERE t.status = 'posted' AND t.balance_after_minor IS NOT NULL AND t.occurred_at < $1
    GROUP BY t.account_id
)
SELECT a.customer_id, a.product, COALESCE(b.balance_minor, 0) AS balance_minor, a.interest_rate
FROM open_accounts AS a LEFT JOIN last_balance AS b ON a.account_id = b.account_id
"""
_FEES = """
SELECT customer_id, SUM(amount_minor) AS amount_minor FROM transactions
WHERE kind = 'fee' AND status = 'posted' AND occurred_at >= $2 AND occurred_at < $1
GROUP BY customer_id
"""


def _months_before(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 - months
    day = min(moment.day, 28)
    return moment.replace(year=total // 12, month=total % 12 + 1, day=day)


def value_as_of(
    *,
    warehouse: FeatureWarehouse,
    as_of: datetime,
    assumptions: MarginAssumptions | None = None,
) -> pd.Series:
    """12-month margin value (``total_value_minor``, int64) per customer id, as of ``as_of``."""
    assume = assumptions or MarginAssumptions()
    moment = as_of.astimezone(UTC)
    start = _months_before(moment, assume.fee_window_months)
    accounts = pd.DataFrame.from_records(
        warehouse.fetch_all(_ACCOUNTS, (moment,)),
        columns=["customer_id", "product", "balance_minor", "interest_rate"],
    )
    fees = pd.DataFrame.from_records(
        warehouse.fetch_all(_FEES, (moment, start)), columns=["customer_id", "amount_minor"]
    )
    accounts["interest_rate"] = pd.to_numeric(accounts["interest_rate"]).astype(np.float64)
    fees["amount_minor"] = pd.to_numeric(fees["amount_minor"]).astype(np.float64)
    value = margin_value(accounts=accounts, fees=fees, assumptions=assume)
    return value["total_value_minor"].rename("value_12m_minor")
