"""Customer limits: the same behaviour in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.limits import SqlLimitUnitOfWork, SqlLimitUnitOfWorkFactory
from tenure.adapters.sql.protection_tables import PROTECTION_TABLES
from tenure.core.clock import FixedClock
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork
from tenure.protection.limits.model import Actor, Limit
from tenure.protection.limits.service import change_limit, get_limit, list_limits

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

Limits = InMemoryLimitUnitOfWork | SqlLimitUnitOfWork


@pytest.fixture(params=BACKENDS)
def uow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Limits]:
    """One unit of work over a fresh store (a migrated database emptied afterwards for SQL)."""
    if request.param == "memory":
        yield InMemoryLimitUnitOfWork()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'protection.sqlite3'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade_to_head(url)
    engine: Engine = create_store_engine(url)
    yield SqlLimitUnitOfWorkFactory(engine)()
    with engine.begin() as connection:
        for table in PROTECTION_TABLES:
            connection.execute(table.delete())
    engine.dispose()


def make_limit(product: str = "transfer_daily", amount_minor: int = 3_000_000) -> Limit:
    return Limit(
        customer_id="c1",
        product=product,
        amount_minor=amount_minor,
        currency="CNY",
        updated_at=AT,
        updated_by="c1",
    )


def test_a_stored_limit_is_found_by_customer_and_product(uow: Limits) -> None:
    with uow:
        uow.limits.put(make_limit())
        uow.commit()
    with uow:
        assert uow.limits.get("c1", "transfer_daily") == make_limit()
        assert uow.limits.get("c1", "single_transfer") is None
        assert uow.limits.get("c2", "transfer_daily") is None


def test_putting_a_limit_again_replaces_it(uow: Limits) -> None:
    raised = replace(make_limit(amount_minor=90_000_000_000), updated_by="staff:ana")
    with uow:
        uow.limits.put(make_limit())
        uow.limits.put(raised)
        uow.commit()
    with uow:
        assert uow.limits.get("c1", "transfer_daily") == raised
        assert len(uow.limits.list_for_customer("c1")) == 1


def test_lists_a_customers_limits_by_product(uow: Limits) -> None:
    with uow:
        for product in ("transfer_daily", "card_payment_daily", "single_transfer"):
            uow.limits.put(make_limit(product))
        uow.limits.put(replace(make_limit(), customer_id="c2"))
        uow.commit()
    with uow:
        listed = uow.limits.list_for_customer("c1")
    assert [limit.product for limit in listed] == [
        "card_payment_daily",
        "single_transfer",
        "transfer_daily",
    ]


def test_an_uncommitted_limit_is_forgotten(uow: Limits) -> None:
    with uow:
        uow.limits.put(make_limit())
    with uow:
        assert uow.limits.get("c1", "transfer_daily") is None


def test_a_customer_raise_after_step_up_is_kept(uow: Limits) -> None:
    clock = FixedClock(AT)
    change = change_limit(
        uow=uow,
        customer_id="c1",
        product="transfer_daily",
        new_amount_minor=8_000_000,
        actor=Actor("c1", "customer"),
        clock=clock,
        step_up_verified_at=AT - timedelta(minutes=1),
    )
    assert (change.old_amount_minor, change.new_amount_minor) == (5_000_000, 8_000_000)
    stored = get_limit(uow=uow, customer_id="c1", product="transfer_daily")
    assert (stored.amount_minor, stored.updated_at, stored.updated_by) == (8_000_000, AT, "c1")
    assert [limit.is_default for limit in list_limits(uow=uow, customer_id="c1")].count(False) == 1
