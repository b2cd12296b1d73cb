"""Customer limits: the same behaviour in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from protection_store import BACKENDS, open_store
from sqlalchemy.engine import Engine

from tenure.adapters.sql.limits import SqlLimitUnitOfWork, SqlLimitUnitOfWorkFactory
from tenure.core.clock import FixedClock
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork
from tenure.protection.limits.model import Actor, Limit
from tenure.protection.limits.service import change_limit, get_limit, list_limits

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

Limits = InMemoryLimitUnitOfWork | SqlLimitUnitOfWork


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def uow(store: Engine | None) -> Limits:
    """One unit of work over a fresh store (a migrated database emptied afterwards for SQL)."""
    if store is None:
        return InMemoryLimitUnitOfWork()
    return SqlLimitUnitOfWorkFactory(store)()


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


def test_lists_every_stored_limit_by_customer_then_product(uow: Limits) -> None:
    with uow:
        assert uow.limits.list_all() == []
        for customer_id, product in (
            ("c2", "transfer_daily"),
            ("c1", "transfer_daily"),
            ("c1", "card_payment_daily"),
        ):
            uow.limits.put(replace(make_limit(product), customer_id=customer_id))
        uow.limits.put(make_limit("transfer_daily", amount_minor=9_000_000))  # replaces c1's
        uow.commit()
    with uow:
        listed = uow.limits.list_all()
    assert [(limit.customer_id, limit.product, limit.amount_minor) for limit in listed] == [
        ("c1", "card_payment_daily", 3_000_000),
        ("c1", "transfer_daily", 9_000_000),
        ("c2", "transfer_daily", 3_000_000),
    ]
    assert listed[0] == make_limit("card_payment_daily")


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
        new_amount_minor=320_000_000,
        actor=Actor("c1", "customer"),
        clock=clock,
        step_up_verified_at=AT - timedelta(minutes=1),
    )
    assert (change.old_amount_minor, change.new_amount_minor) == (200_000_000, 320_000_000)
    stored = get_limit(uow=uow, customer_id="c1", product="transfer_daily")
    assert (stored.amount_minor, stored.updated_at, stored.updated_by) == (320_000_000, AT, "c1")
    assert [limit.is_default for limit in list_limits(uow=uow, customer_id="c1")].count(False) == 1
