"""No leakage: rows dated at or after the snapshot never move a feature; the same rows before do."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.features import compute_features

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
PLANTED = 5


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pit")
    synthesize(SimulationConfig(customers=300, months=6, seed=11), root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    return path


@pytest.fixture
def warehouse(ingested: Path, tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, copy)
    with DuckDBWarehouse.open(copy) as opened:
        yield opened


def _planted_customers(warehouse: DuckDBWarehouse) -> list[str]:
    rows = warehouse.fetch_all(
        "SELECT customer_id FROM customers WHERE opened_at < ? AND closed_at IS NULL "
        "ORDER BY customer_id LIMIT ?",
        (AS_OF - timedelta(days=200), PLANTED),
    )
    return [row[0] for row in rows]


_PLANT = (
    "INSERT INTO transactions (transaction_id, account_id, customer_id, occurred_at, amount_minor,"
    " currency, direction, channel, kind, counterparty_bank, status, balance_after_minor) "
    "SELECT 'PT-' || a.account_id, a.account_id, a.customer_id, $at, 900000000, 'CNY', 'debit',"
    " 'mobile', 'transfer_out', 'ICBC', 'posted', 1 FROM accounts AS a "
    "WHERE a.customer_id = $c AND a.product = 'current'",
    "INSERT INTO transactions (transaction_id, account_id, customer_id, occurred_at, amount_minor,"
    " currency, direction, channel, kind, status) SELECT 'PD-' || a.account_id, a.account_id,"
    " a.customer_id, $at, 5000, 'CNY', 'debit', 'pos', 'card_purchase', 'declined' "
    "FROM accounts AS a WHERE a.customer_id = $c AND a.product = 'current'",
    "INSERT INTO interactions (interaction_id, customer_id, occurred_at, channel, kind, topic,"
    " language, text, status) VALUES ('PI-' || $c, $c, $at, 'phone', 'complaint', 'fees', 'en',"
    " 'fees again', 'open')",
    "INSERT INTO digital_events (event_id, customer_id, occurred_at, event_type, channel, success,"
    " auth_method) VALUES ('PE-' || $c, $c, $at, 'login', 'mobile', true, 'password')",
    "INSERT INTO surveys (survey_id, customer_id, answered_at, kind, score) "
    "VALUES ('PS-' || $c, $c, $at, 'nps', 0)",
    "INSERT INTO accounts (account_id, customer_id, product, currency, status, opened_at,"
    " balance_minor) VALUES ('PA-' || $c, $c, 'wealth', 'CNY', 'active', $at, 0)",
    "INSERT INTO profile_changes (change_id, customer_id, changed_at, field, channel,"
    " initiated_by) VALUES ('PC-' || $c, $c, $at, 'phone', 'web', 'customer')",
    "INSERT INTO payees (payee_id, customer_id, payee_name, account_number, bank_code,"
    " payee_type, added_at, channel) VALUES ('PP-' || $c, $c, 'me', '1', 'CMB', 'own_account',"
    " $at, 'mobile')",
    "INSERT INTO protection_decisions VALUES ($c, $at, 'step_up')",
)


_TOKEN = re.compile(r"\$(at|c)\b")


def _plant(warehouse: DuckDBWarehouse, customers: list[str], at: datetime) -> None:
    """Give each customer a huge transfer out, a declined payment, a complaint, a login, an NPS
    of 0, a new account, a phone change, a payee elsewhere and a protection step-up at ``at``."""
    warehouse.execute(
        "CREATE TABLE IF NOT EXISTS protection_decisions "
        "(customer_id VARCHAR, decided_at TIMESTAMPTZ, action VARCHAR)"
    )
    for customer in customers:
        for statement in _PLANT:
            params = [at if t == "at" else customer for t in _TOKEN.findall(statement)]
            warehouse.execute(_TOKEN.sub("?", statement), params)
    warehouse.execute(
        "INSERT INTO customers (customer_id, customer_type, full_name, region, kyc_risk, "
        "channel_preference, opened_at) VALUES ('C-PLANTED', 'retail', 'x', 'Beijing', 'low', "
        "'web', ?)",
        (at,),
    )


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=1), timedelta(days=20)])
def test_rows_at_or_after_the_snapshot_do_not_move_any_feature(
    warehouse: DuckDBWarehouse, offset: timedelta
) -> None:
    before = compute_features(warehouse=warehouse, as_of=AS_OF)
    _plant(warehouse, _planted_customers(warehouse), AS_OF + offset)
    after = compute_features(warehouse=warehouse, as_of=AS_OF)
    pd.testing.assert_frame_equal(before, after)


def test_the_same_rows_before_the_snapshot_do_move_features(warehouse: DuckDBWarehouse) -> None:
    customers = _planted_customers(warehouse)
    before = compute_features(warehouse=warehouse, as_of=AS_OF).set_index("customer_id")
    _plant(warehouse, customers, AS_OF - timedelta(days=1))
    after = compute_features(warehouse=warehouse, as_of=AS_OF).set_index("customer_id")
    assert "C-PLANTED" in after.index
    moved = after.loc[customers].drop(columns="snapshot_at") - before.loc[customers].drop(
        columns="snapshot_at"
    )
    for name in ("tx_count_30d", "outflow_other_banks_30d", "declined_tx_30d", "complaints_open",
                 "logins_30d", "products_held", "contact_changes_90d", "own_accounts_other_banks",
                 "step_ups_90d", "friction_events_30d", "friction_events_90d"):  # fmt: skip
        assert (moved[name] > 0).all(), name
    assert (after.loc[customers, "nps_last"] == 0).all()
    assert (after.loc[customers, "balance_last"] < before.loc[customers, "balance_last"]).all()
    others = before.index.difference(customers)
    pd.testing.assert_frame_equal(before.loc[others], after.loc[others])
