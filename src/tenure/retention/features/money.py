"""Money features: activity (recency, frequency, monetary), salary, outflows, balance trends."""

from __future__ import annotations

from tenure.retention.features.definitions import (
    FeatureDefinition,
    Source,
    counted,
    derived,
    periods_with,
    summed,
    window,
)

__all__ = ["MONEY_FEATURES", "MONEY_SOURCES"]

# Row-level flags, computed once per transaction. Interest, fees and deposit maturities post on
# their own, so they would hide a dormant customer: they are not activity.
_FLAGS = (
    ("active", "status = 'posted' AND kind NOT IN ('interest', 'fee', 'deposit_maturity')"),
    ("inflow", "status = 'posted' AND direction = 'credit' "
               "AND kind IN ('salary', 'transfer_in', 'cash_deposit', 'refund')"),
    ("outflow", "status = 'posted' AND direction = 'debit' "
                "AND kind IN ('transfer_out', 'card_purchase', 'cash_withdrawal', 'bill_payment')"),
    ("salary", "status = 'posted' AND kind = 'salary'"),
    ("to_other_bank", "status = 'posted' AND kind = 'transfer_out' "
                      "AND counterparty_bank IS NOT NULL AND counterparty_bank <> 'TENURE'"),
    ("card_spend", "status = 'posted' AND kind = 'card_purchase'"),
    ("declined", "status = 'declined'"),
)  # fmt: skip
WINDOWS = (30, 90, 180, 365)

TRANSACTIONS = Source(
    "transactions",
    "The customer's transactions on every account.",
    ("transactions",),
    "occurred_at",
    columns=_FLAGS,
)


# Each deposit account's balance at several past instants: the balance after its last posting
# before the instant or, for an account whose first posting came later, the balance before that
# posting. The sort key orders postings of the same instant by a hash of their id, so that
# results are deterministic.
_DEPOSITS = (
    "(SELECT t.customer_id, t.account_id, t.occurred_at, t.balance_after_minor, "
    "t.balance_after_minor - CASE WHEN t.direction = 'credit' THEN t.amount_minor "
    "ELSE -t.amount_minor END AS balance_before_minor, "
    "SORT_KEY(t.occurred_at, t.transaction_id) AS sort_key "
    "FROM transactions AS t JOIN accounts AS a ON a.account_id = t.account_id "
    "WHERE a.product IN ('current', 'savings', 'term_deposit', 'wealth') "
    "AND t.status = 'posted' AND t.balance_after_minor IS NOT NULL)"
)


def _balance_at(days: int) -> str:
    if days == 0:
        return "ARG_MAX(balance_after_minor, sort_key)"
    cut = f"{{as_of_minus_{days}d}}"
    return (
        f"COALESCE(ARG_MAX(balance_after_minor, sort_key) FILTER (WHERE occurred_at < {cut}), "
        f"ARG_MIN(balance_before_minor, sort_key) FILTER (WHERE occurred_at >= {cut}))"
    )


BALANCES = Source(
    "balances",
    "Balances of each deposit account (current, savings, term deposit, wealth) over time.",
    ("transactions", "accounts"),
    "occurred_at",
    relation=_DEPOSITS,
    grain=("account_id",),
    pre_aggregates=tuple((f"balance_{d}", _balance_at(d)) for d in (0, 30, 60, 90, 180)),
)

RECURRING = Source(
    "recurring_credits",
    "Credits over the last 150 days per counterparty, for salary-like income without a code.",
    ("transactions",),
    "occurred_at",
    relation=(
        "(SELECT customer_id, counterparty, occurred_at, amount_minor FROM transactions "
        "WHERE status = 'posted' AND direction = 'credit' AND counterparty IS NOT NULL "
        "AND kind IN ('salary', 'transfer_in') AND occurred_at >= {as_of_minus_150d})"
    ),
    grain=("counterparty",),
    pre_aggregates=(
        ("recent_periods", periods_with("TRUE", "occurred_at", 4)),
        ("earlier_periods", periods_with("TRUE", "occurred_at", 4, start=1)),
        ("last_35d", f"COUNT(*) FILTER (WHERE {window('occurred_at', 35)})"),
        ("steady", "CASE WHEN MAX(amount_minor) <= 1.25 * MIN(amount_minor) THEN 1 ELSE 0 END"),
    ),
)


def _activity() -> list[FeatureDefinition]:
    features: list[FeatureDefinition] = []
    for d in WINDOWS:
        span = window("occurred_at", d)
        features += [
            counted(
                f"tx_count_{d}d",
                f"Posted transactions in the last {d} days, excluding interest, fees and "
                "maturities.",
                "transactions",
                f"active AND {span}",
            ),
            summed(
                f"inflow_sum_{d}d",
                f"Money received from outside (salary, transfers in, cash, refunds), last {d} "
                "days.",
                "transactions",
                "amount_minor",
                f"inflow AND {span}",
            ),
            summed(
                f"outflow_sum_{d}d",
                f"Money spent or sent (transfers out, card, cash, bills), last {d} days.",
                "transactions",
                "amount_minor",
                f"outflow AND {span}",
            ),
        ]
    return features


def _recency() -> list[FeatureDefinition]:
    def since(name: str, what: str, condition: str) -> FeatureDefinition:
        expression = f"DAYS_SINCE(MAX(occurred_at) FILTER (WHERE {condition}))"
        description = f"Days since the last {what}; empty if there never was one."
        return FeatureDefinition(name, description, "transactions", expression, unit="days")

    return [
        since("days_since_last_tx", "posted transaction (interest and fees aside)", "active"),
        since("days_since_last_inflow", "money received from outside", "inflow"),
        since("salary_missing_since_days", "salary credit (kind 'salary')", "salary"),
    ]


def _salary_and_outflows() -> list[FeatureDefinition]:
    return [
        FeatureDefinition(
            "salary_months_last_6",
            "Of the last six 30-day periods, how many received a salary credit (kind 'salary').",
            "transactions",
            periods_with("salary", "occurred_at", 6),
            fill=0,
        ),
        summed(
            "salary_sum_90d",
            "Salary received in the last 90 days.",
            "transactions",
            "amount_minor",
            f"salary AND {window('occurred_at', 90)}",
        ),
        summed(
            "outflow_other_banks_30d",
            "Money transferred to accounts at other banks, last 30 days.",
            "transactions",
            "amount_minor",
            f"to_other_bank AND {window('occurred_at', 30)}",
        ),
        summed(
            "outflow_other_banks_90d",
            "Money transferred to accounts at other banks, last 90 days.",
            "transactions",
            "amount_minor",
            f"to_other_bank AND {window('occurred_at', 90)}",
        ),
        summed(
            "card_spend_90d",
            "Card purchases, last 90 days.",
            "transactions",
            "amount_minor",
            f"card_spend AND {window('occurred_at', 90)}",
        ),
    ]


def _balances() -> list[FeatureDefinition]:
    def at(name: str, when: str, column: str) -> FeatureDefinition:
        description = (
            f"Total deposit balance {when}, from the balances the transactions carry; empty "
            "when no deposit account has a posted transaction with a balance."
        )
        return FeatureDefinition(
            name, description, "balances", f"SUM({column})", unit="minor units"
        )

    return [
        at("balance_last", "just before the snapshot", "balance_0"),
        at("balance_30d_ago", "30 days before the snapshot", "balance_30"),
        at("balance_60d_ago", "60 days before the snapshot", "balance_60"),
        at("balance_90d_ago", "90 days before the snapshot", "balance_90"),
        at("balance_180d_ago", "180 days before the snapshot", "balance_180"),
    ]


def _recurring() -> list[FeatureDefinition]:
    return [
        FeatureDefinition(
            "recurring_income_sources",
            "Counterparties paying a steady amount (within 25 %) in at least 3 of the last "
            "four 30-day periods: salary-like income even without a salary code.",
            "recurring_credits",
            "COUNT(*) FILTER (WHERE recent_periods >= 3 AND steady = 1)",
            fill=0,
        ),
        FeatureDefinition(
            "recurring_income_stopped",
            "Counterparties that paid a steady amount in at least 3 of the four 30-day periods "
            "before the last one, but nothing in the last 35 days.",
            "recurring_credits",
            "COUNT(*) FILTER (WHERE earlier_periods >= 3 AND last_35d = 0 AND steady = 1)",
            fill=0,
        ),
    ]


def _derived() -> list[FeatureDefinition]:
    return [
        derived(
            "tx_count_trend_30_90",
            "Transactions in the last 30 days over the monthly average of the last 90.",
            "tx_count_30d / NULLIF(tx_count_90d / 3.0, 0)",
            "ratio",
        ),
        derived(
            "inflow_trend_30_90",
            "Inflow in the last 30 days over the monthly average of the last 90.",
            "inflow_sum_30d / NULLIF(inflow_sum_90d / 3.0, 0)",
            "ratio",
        ),
        derived(
            "inflow_ratio_90_prev_90",
            "Inflow in the last 90 days over inflow in the 90 days before.",
            "inflow_sum_90d / NULLIF(inflow_sum_180d - inflow_sum_90d, 0)",
            "ratio",
        ),
        derived(
            "outflow_inflow_ratio_90d",
            "Money out over money in, last 90 days.",
            "outflow_sum_90d / NULLIF(inflow_sum_90d, 0)",
            "ratio",
        ),
        derived(
            "outflow_other_banks_share_90d",
            "Share of the last 90 days' outflow that went to other banks.",
            "outflow_other_banks_90d / NULLIF(outflow_sum_90d, 0)",
            "ratio",
        ),
        derived(
            "salary_stopped",
            "1 when salary came in at least 3 of the last six 30-day periods but not in the "
            "last 45 days.",
            "CASE WHEN salary_months_last_6 >= 3 AND salary_missing_since_days > 45 "
            "THEN 1 ELSE 0 END",
            "flag",
            fill=0,
        ),
        *[
            derived(
                f"balance_ratio_{d}d",
                f"Deposit balance now over its value {d} days ago (0.37 = down 63 %).",
                f"balance_last / NULLIF(balance_{d}d_ago, 0)",
                "ratio",
            )
            for d in (30, 90, 180)
        ],
        derived(
            "balance_slope_90d",
            "Least-squares slope of the deposit balance over the points 90, 60, 30 and 0 days "
            "ago, in minor units per day.",
            "(45 * (balance_last - balance_90d_ago) + 15 * (balance_30d_ago - balance_60d_ago))"
            " / 4500.0",
            "minor units per day",
        ),
    ]


MONEY_SOURCES: tuple[Source, ...] = (TRANSACTIONS, BALANCES, RECURRING)
MONEY_FEATURES: tuple[FeatureDefinition, ...] = (
    *_activity(),
    *_recency(),
    *_salary_and_outflows(),
    *_balances(),
    *_recurring(),
    *_derived(),
)
