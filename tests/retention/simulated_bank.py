"""Builder for the churn tests: a small simulated bank, synthesized and ingested (with truth/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize

__all__ = [
    "CUSTOMERS",
    "MONTHS",
    "PLANTED",
    "SEED",
    "build_bank",
    "plant_leaving_events",
    "planted_customers",
]

CUSTOMERS = 1_500
MONTHS = 9
SEED = 3
PLANTED = 40


def build_bank(
    root: Path,
    *,
    definition: str = "closure",
    customers: int = CUSTOMERS,
    months: int = MONTHS,
    seed: int = SEED,
) -> Path:
    """Synthesize a bank under ``root`` and ingest it (with truth/) into a fresh warehouse file."""
    config = SimulationConfig(
        customers=customers,
        months=months,
        seed=seed,
        churn_definition=definition,  # type: ignore[arg-type]
    )
    synthesize(config, root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    return path


def planted_customers(warehouse: DuckDBWarehouse, as_of: datetime) -> list[str]:
    """The customers :func:`plant_leaving_events` touches: long-standing, open, first by id."""
    rows = warehouse.fetch_all(
        "SELECT customer_id FROM customers WHERE opened_at < ? AND closed_at IS NULL "
        "ORDER BY customer_id LIMIT ?",
        (as_of - timedelta(days=200), PLANTED),
    )
    return [row[0] for row in rows]


def _plant_money(warehouse: DuckDBWarehouse, customer: str, n: int, at: datetime) -> None:
    warehouse.execute(
        "INSERT INTO transactions (transaction_id, account_id, customer_id, occurred_at, "
        "amount_minor, currency, direction, channel, kind, counterparty_bank, status, "
        "balance_after_minor) SELECT 'LEAK-T-' || a.account_id, a.account_id, a.customer_id, "
        "$2, 90000000, 'CNY', 'debit', 'mobile', 'transfer_out', 'ICBC', 'posted', 0 "
        "FROM accounts AS a WHERE a.customer_id = $1 AND a.product IN ('current', 'savings')",
        (customer, at),
    )
    warehouse.execute(
        "INSERT INTO transactions (transaction_id, account_id, customer_id, occurred_at, "
        "amount_minor, currency, direction, channel, kind, status, balance_after_minor) "
        "SELECT 'LEAK-F-' || a.account_id, a.account_id, a.customer_id, $2, 500000, 'CNY', "
        "'debit', 'batch', 'fee', 'posted', 0 FROM accounts AS a "
        "WHERE a.customer_id = $1 AND a.product = 'current'",
        (customer, at),
    )
    warehouse.execute(
        "INSERT INTO accounts (account_id, customer_id, product, currency, status, opened_at, "
        "balance_minor, interest_rate) VALUES ($3, $1, 'loan', 'CNY', 'active', $2, 50000000, "
        "0.09)",
        (customer, at, f"LEAK-A-{n}"),
    )


def plant_leaving_events(
    warehouse: DuckDBWarehouse, as_of: datetime, at: datetime, *, close: bool
) -> None:
    """Events that scream 'leaving' at ``at``: money out to another bank, a big fee, a new loan,
    complaints, failed logins and account closures (and the customer's closure if ``close``)."""
    for n, customer in enumerate(planted_customers(warehouse, as_of)):
        _plant_money(warehouse, customer, n, at)
        for k in range(3):
            warehouse.execute(
                "INSERT INTO interactions (interaction_id, customer_id, occurred_at, channel, kind,"
                " topic, language, text, status) VALUES ($3, $1, $2, 'phone', 'complaint',"
                " 'fees', 'en', 'too dear', 'open')",
                (customer, at - timedelta(days=15 + k), f"LEAK-I-{n}-{k}"),
            )
            warehouse.execute(
                "INSERT INTO digital_events (event_id, customer_id, occurred_at, event_type, "
                "channel, success, auth_method) VALUES ($3, $1, $2, 'login', 'mobile', false, "
                "'password')",
                (customer, at + timedelta(hours=k), f"LEAK-D-{n}-{k}"),
            )
        warehouse.execute(
            "UPDATE accounts SET closed_at = $2 WHERE customer_id = $1 AND product <> 'current' "
            "AND closed_at IS NULL AND account_id NOT LIKE 'LEAK-%'",
            (customer, at),
        )
        if close:
            warehouse.execute(
                "UPDATE customers SET closed_at = $2 WHERE customer_id = $1",
                (customer, at + timedelta(days=1)),
            )
