"""Feature values on a warehouse built by hand, checked against numbers worked out on paper.

Boundary convention: a snapshot at ``as_of`` sees rows strictly before ``as_of``; an ``Nd``
window is ``[as_of - N days, as_of)``, so a row exactly N days before is inside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.retention.features import FEATURES, compute_features, write_features

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _insert(warehouse: DuckDBWarehouse, table: str, **row: object) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    warehouse.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))


def _customer(warehouse: DuckDBWarehouse, cid: str, opened: datetime, **extra: object) -> None:
    _insert(
        warehouse,
        "customers",
        customer_id=cid,
        customer_type="retail",
        full_name="x",
        region="Beijing",
        kyc_risk="low",
        channel_preference="mobile",
        opened_at=opened,
        **extra,
    )


def _account(
    warehouse: DuckDBWarehouse, aid: str, product: str, opened: datetime, **extra: object
) -> None:
    _insert(
        warehouse,
        "accounts",
        account_id=aid,
        customer_id="C1",
        product=product,
        currency="CNY",
        status="active",
        opened_at=opened,
        balance_minor=0,
        **extra,
    )


def _tx(
    warehouse: DuckDBWarehouse,
    tid: str,
    at: datetime,
    amount: int,
    direction: str,
    kind: str,
    balance: int | None,
    status: str = "posted",
    bank: str | None = None,
) -> None:
    _insert(
        warehouse,
        "transactions",
        transaction_id=tid,
        account_id="A1",
        customer_id="C1",
        occurred_at=at,
        amount_minor=amount,
        currency="CNY",
        direction=direction,
        channel="mobile",
        kind=kind,
        status=status,
        balance_after_minor=balance,
        counterparty_bank=bank,
    )


def _login(warehouse: DuckDBWarehouse, eid: str, at: datetime, success: bool) -> None:
    _insert(
        warehouse,
        "digital_events",
        event_id=eid,
        customer_id="C1",
        occurred_at=at,
        event_type="login",
        channel="mobile",
        success=success,
        auth_method="password",
    )


def _complaint(
    warehouse: DuckDBWarehouse, iid: str, at: datetime, resolved: datetime | None
) -> None:
    _insert(
        warehouse,
        "interactions",
        interaction_id=iid,
        customer_id="C1",
        occurred_at=at,
        channel="phone",
        kind="complaint",
        topic="fees",
        language="en",
        text="too dear",
        status="open" if resolved is None else "resolved",
        resolved_at=resolved,
    )


def _nps(warehouse: DuckDBWarehouse, sid: str, at: datetime, score: int) -> None:
    _insert(
        warehouse,
        "surveys",
        survey_id=sid,
        customer_id="C1",
        answered_at=at,
        kind="nps",
        score=score,
    )


def _build(warehouse: DuckDBWarehouse) -> None:
    _customer(warehouse, "C1", datetime(2020, 6, 1, tzinfo=UTC), birth_year=1985)
    _customer(warehouse, "C2", datetime(2024, 1, 1, tzinfo=UTC))  # no activity at all
    _customer(warehouse, "C3", AS_OF)  # opened exactly at the snapshot: not yet a customer
    _customer(warehouse, "C4", datetime(2021, 1, 1, tzinfo=UTC), closed_at=AS_OF - DAY)
    _customer(warehouse, "C5", datetime(2021, 1, 1, tzinfo=UTC), closed_at=AS_OF + DAY)
    _account(warehouse, "A1", "current", datetime(2020, 6, 1, tzinfo=UTC))
    _account(warehouse, "A2", "savings", AS_OF - 10 * DAY)
    _account(warehouse, "A3", "card", datetime(2021, 1, 1, tzinfo=UTC), closed_at=AS_OF - 20 * DAY)
    _account(
        warehouse,
        "A4",
        "term_deposit",
        datetime(2024, 1, 1, tzinfo=UTC),
        maturity_date=(AS_OF + 10 * DAY).date(),
    )
    _tx(
        warehouse,
        "T1",
        AS_OF - 30 * DAY - timedelta(seconds=1),
        300,
        "debit",
        "transfer_out",
        9_700,
        bank="ICBC",
    )
    _tx(warehouse, "T2", AS_OF - 30 * DAY, 200, "debit", "card_purchase", 9_500)
    _tx(warehouse, "T3", AS_OF - 10 * DAY, 5_000, "credit", "salary", 14_500)
    _tx(warehouse, "T4", AS_OF - 5 * DAY, 100, "debit", "transfer_out", None, "declined", "CCB")
    _tx(warehouse, "T5", AS_OF - 3 * DAY, 7, "credit", "interest", 14_507)
    _tx(warehouse, "T6", AS_OF, 1_000, "credit", "salary", 15_507)  # at the snapshot: unseen
    _login(warehouse, "E1", AS_OF - DAY, True)
    _login(warehouse, "E2", AS_OF - 2 * DAY, False)
    _login(warehouse, "E3", AS_OF, True)
    _complaint(warehouse, "I1", AS_OF - 20 * DAY, None)
    _complaint(warehouse, "I2", AS_OF - 5 * DAY, AS_OF + DAY)  # resolved only after the snapshot
    _complaint(warehouse, "I3", AS_OF - 40 * DAY, AS_OF - 38 * DAY)
    _nps(warehouse, "S1", AS_OF - 60 * DAY, 9)
    _nps(warehouse, "S2", AS_OF - 10 * DAY, 3)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(tmp_path / "hand.duckdb") as built:
        _build(built)
        yield built


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    with DuckDBWarehouse.open(tmp_path_factory.mktemp("hand") / "hand.duckdb") as built:
        _build(built)
        return compute_features(warehouse=built, as_of=AS_OF).set_index("customer_id")


def test_spine_keeps_customers_open_at_the_snapshot(frame: pd.DataFrame) -> None:
    assert list(frame.index) == ["C1", "C2", "C5"]
    assert list(frame.columns) == ["snapshot_at", *(f.name for f in FEATURES)]
    assert (frame["snapshot_at"] == pd.Timestamp(AS_OF)).all()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tx_count_30d", 2),  # T2 exactly 30 days before is in; T1 a second earlier is out
        ("tx_count_90d", 3),  # interest, the declined payment and T6 at as_of do not count
        ("inflow_sum_30d", 5_000),
        ("outflow_sum_30d", 200),
        ("outflow_sum_90d", 500),
        ("outflow_other_banks_30d", 0),
        ("outflow_other_banks_90d", 300),
        ("outflow_other_banks_share_90d", 0.6),
        ("declined_tx_30d", 1),
        ("days_since_last_tx", 10.0),
        ("salary_missing_since_days", 10.0),
        ("salary_months_last_6", 1),
        ("balance_last", 14_507),
        ("balance_30d_ago", 9_700),  # last posting strictly before the cut
        ("balance_90d_ago", 10_000),  # no earlier posting: the balance before the first one
        ("balance_ratio_90d", 1.4507),
        ("logins_30d", 1),
        ("failed_logins_30d", 1),
        ("failed_login_share_30d", 0.5),
        ("logins_trend_30_90", 3.0),
        ("friction_events_30d", 2),  # the declined payment and the failed login
        ("complaints_90d", 3),
        ("complaints_open", 2),  # I2 was resolved only after the snapshot
        ("complaints_unresolved_over_14d", 1),
        ("complaint_resolution_days_avg_365d", 2.0),
        ("nps_last", 3.0),
        ("nps_trend", -6.0),
        ("nps_detractor_last", 1),
        ("products_held", 3),  # current, savings, term deposit; the card was closed
        ("products_opened_90d", 1),
        ("products_closed_90d", 1),
        ("term_deposits_maturing_30d", 1),
        ("has_card", 0),
        ("tenure_days", 1826.0),
        ("age_years", 40.0),
    ],
)
def test_computes_hand_checked_value(frame: pd.DataFrame, name: str, expected: float) -> None:
    assert frame.loc["C1", name] == pytest.approx(expected)


def test_customer_without_activity_gets_zero_counts_and_empty_last_values(
    frame: pd.DataFrame,
) -> None:
    quiet = frame.loc["C2"]
    for feature in FEATURES:
        if feature.fill is not None and feature.kind != "attribute":
            assert quiet[feature.name] == feature.fill, feature.name
    for name in (
        "nps_last",
        "days_since_last_tx",
        "balance_last",
        "balance_ratio_90d",
        "outflow_other_banks_share_90d",
        "logins_trend_30_90",
        "age_years",
    ):
        assert math.isnan(quiet[name]), name


def test_counts_are_integers_and_optional_values_floats(frame: pd.DataFrame) -> None:
    assert frame["tx_count_30d"].dtype == "int64"
    assert frame["nps_last"].dtype == "float64"


def test_writing_a_snapshot_twice_replaces_it(warehouse: DuckDBWarehouse) -> None:
    assert write_features(warehouse=warehouse, as_of=AS_OF) == 3
    assert write_features(warehouse=warehouse, as_of=AS_OF) == 3
    write_features(warehouse=warehouse, as_of=AS_OF - 30 * DAY)
    rows = warehouse.fetch_all(
        "SELECT customer_id, tx_count_30d FROM customer_features WHERE snapshot_at = ? "
        "ORDER BY customer_id",
        (AS_OF,),
    )
    assert rows == [("C1", 2), ("C2", 0), ("C5", 0)]


def test_rejects_a_naive_snapshot_time(warehouse: DuckDBWarehouse) -> None:
    with pytest.raises(ValueError, match="timezone"):
        compute_features(warehouse=warehouse, as_of=datetime(2025, 6, 1))


def test_restricts_to_the_customers_asked_for(warehouse: DuckDBWarehouse) -> None:
    frame = compute_features(warehouse=warehouse, as_of=AS_OF, customers=["C2", "C4", "nobody"])
    assert list(frame["customer_id"]) == ["C2"]
