"""Corporate operators, mandates and payments: the same behaviour in memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWork, SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.protection_tables import PROTECTION_TABLES
from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound
from tenure.protection.corporate import (
    Actor,
    Approval,
    ApprovalTier,
    BusinessHours,
    CorporatePayment,
    InMemoryAuditSink,
    InMemoryCorporateUnitOfWork,
    Mandate,
    Operator,
    OperatorRole,
    PaymentStatus,
    add_operator,
    approve_payment,
    publish_mandate,
    submit_payment,
)

AT = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

Corporate = InMemoryCorporateUnitOfWork | SqlCorporateUnitOfWork


@pytest.fixture(params=BACKENDS)
def uow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Corporate]:
    """One unit of work over a fresh store (a migrated database emptied afterwards for SQL)."""
    if request.param == "memory":
        yield InMemoryCorporateUnitOfWork()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'protection.sqlite3'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade_to_head(url)
    engine: Engine = create_store_engine(url)
    yield SqlCorporateUnitOfWorkFactory(engine)()
    with engine.begin() as connection:
        for table in PROTECTION_TABLES:
            connection.execute(table.delete())
    engine.dispose()


def make_operator(operator_id: str = "op1", *, customer_id: str = "corp-1") -> Operator:
    return Operator(
        id=operator_id,
        customer_id=customer_id,
        name_ref=f"ref-{operator_id}",
        roles=frozenset({OperatorRole.INITIATOR, OperatorRole.APPROVER}),
        single_limit_minor=5_000_000_00,
        daily_limit_minor=8_000_000_00,
    )


def make_mandate(version: int = 1) -> Mandate:
    return Mandate(
        customer_id="corp-1",
        version=version,
        currency="CNY",
        tiers=(ApprovalTier(100_000_00, 1), ApprovalTier(1_000_000_00, 2)),
        created_at=AT,
        created_by="staff:ana",
        allow_listed_payees_above_minor=500_000_00,
        allowed_payee_ids=frozenset({"payee-a", "payee-b"}),
        business_hours=BusinessHours("Asia/Shanghai", time(8, 30), time(18), frozenset({0, 2, 4})),
        after_hours="hold",
        after_hours_above_minor=10_000_00,
        approval_window=timedelta(hours=36, microseconds=5),
    )


def make_payment(
    payment_id: str = "pay-1",
    *,
    amount_minor: int = 2_000_000_00,
    minutes: int = 0,
    status: PaymentStatus = PaymentStatus.PENDING_APPROVAL,
    initiator_id: str = "op1",
    customer_id: str = "corp-1",
) -> CorporatePayment:
    created = AT + timedelta(minutes=minutes)
    return CorporatePayment(
        id=payment_id,
        customer_id=customer_id,
        account_id="acct-1",
        payee_id="payee-a",
        amount_minor=amount_minor,
        currency="CNY",
        initiator_id=initiator_id,
        created_at=created,
        status=status,
        approvals=(),
        required_approvers=2,
        reasons=("payments over 1,000,000 CNY need 2 approvers",),
        decision_id="dec-1",
        mandate_version=1,
        expires_at=created + timedelta(hours=24),
    )


def test_operators_are_stored_once_and_listed_by_id(uow: Corporate) -> None:
    with uow:
        for operator_id in ("op2", "op1"):
            uow.operators.add(make_operator(operator_id))
        uow.operators.add(make_operator("op3", customer_id="corp-2"))
        with pytest.raises(Conflict):
            uow.operators.add(make_operator("op1"))
        uow.commit()
    with uow:
        assert uow.operators.get("op1") == make_operator("op1")
        assert uow.operators.get("nope") is None
        listed = uow.operators.list_for_customer("corp-1")
    assert [operator.id for operator in listed] == ["op1", "op2"]


def test_operator_update_is_a_compare_and_set(uow: Corporate) -> None:
    first = make_operator()
    narrowed = replace(first, roles=frozenset({OperatorRole.APPROVER}), daily_limit_minor=1)
    with uow:
        uow.operators.add(first)
        uow.operators.update(narrowed, expected=first)
        with pytest.raises(Conflict):
            uow.operators.update(replace(first, active=False), expected=first)
        with pytest.raises(NotFound):
            uow.operators.update(make_operator("op9"), expected=make_operator("op9"))
        uow.commit()
    with uow:
        assert uow.operators.get("op1") == narrowed


def test_mandate_versions_keep_every_term(uow: Corporate) -> None:
    with uow:
        uow.mandates.add(make_mandate(1))
        uow.mandates.add(make_mandate(2))
        with pytest.raises(Conflict):
            uow.mandates.add(make_mandate(2))
        uow.commit()
    with uow:
        assert uow.mandates.get("corp-1", 1) == make_mandate(1)
        assert uow.mandates.current("corp-1") == make_mandate(2)
        assert uow.mandates.current("corp-2") is None
        assert uow.mandates.get("corp-1", 3) is None


def test_lists_every_customers_current_mandate_by_customer(uow: Corporate) -> None:
    with uow:
        assert uow.mandates.list_current() == []
        uow.mandates.add(replace(make_mandate(1), customer_id="corp-2"))
        for version in (2, 1, 3):
            uow.mandates.add(make_mandate(version))
        uow.mandates.add(replace(make_mandate(1), customer_id="corp-0", tiers=()))
        uow.commit()
    with uow:
        current = uow.mandates.list_current()
    assert [(m.customer_id, m.version) for m in current] == [
        ("corp-0", 1),
        ("corp-1", 3),
        ("corp-2", 1),
    ]
    assert current[1] == make_mandate(3)  # every term comes back


def test_payments_keep_their_approvals_and_reasons(uow: Corporate) -> None:
    approved = replace(make_payment(), approvals=(Approval("op2", AT + timedelta(minutes=3)),))
    with uow:
        uow.payments.add(make_payment())
        with pytest.raises(Conflict):
            uow.payments.add(make_payment())
        uow.payments.update(approved, expected=make_payment())
        uow.commit()
    with uow:
        assert uow.payments.get("pay-1") == approved
        assert uow.payments.get("nope") is None


def test_payment_update_is_a_compare_and_set(uow: Corporate) -> None:
    first = make_payment()
    one = replace(first, approvals=(Approval("op2", AT),))
    with uow:
        uow.payments.add(first)
        uow.payments.update(one, expected=first)
        with pytest.raises(Conflict):
            uow.payments.update(replace(first, status=PaymentStatus.REJECTED), expected=first)
        with pytest.raises(NotFound):
            uow.payments.update(make_payment("pay-9"), expected=make_payment("pay-9"))
        assert uow.payments.get("pay-1") == one


def test_pending_payments_are_listed_oldest_first(uow: Corporate) -> None:
    with uow:
        uow.payments.add(make_payment("pay-1", minutes=0))
        uow.payments.add(make_payment("pay-2", minutes=5))
        uow.payments.add(make_payment("pay-3", minutes=1, status=PaymentStatus.RELEASED))
        uow.payments.add(make_payment("pay-4", minutes=2, customer_id="corp-2"))
        uow.commit()
    with uow:
        everyone = uow.payments.list_pending()
        one = uow.payments.list_pending(customer_id="corp-1")
    assert [p.id for p in everyone] == ["pay-1", "pay-4", "pay-2"]
    assert [p.id for p in one] == ["pay-1", "pay-2"]


def test_initiated_total_counts_pending_and_released_in_the_window(uow: Corporate) -> None:
    rows = [
        ("before", -1, PaymentStatus.RELEASED, "op1"),
        ("start", 0, PaymentStatus.PENDING_APPROVAL, "op1"),
        ("released", 30, PaymentStatus.RELEASED, "op1"),
        ("rejected", 31, PaymentStatus.REJECTED, "op1"),
        ("other", 32, PaymentStatus.RELEASED, "op2"),
        ("end", 60, PaymentStatus.PENDING_APPROVAL, "op1"),
    ]
    with uow:
        for index, (name, minutes, status, initiator) in enumerate(rows):
            amount = 10**index * 1_000_000_000
            payment = make_payment(name, amount_minor=amount, minutes=minutes, status=status)
            uow.payments.add(replace(payment, initiator_id=initiator))
        uow.commit()
    with uow:
        total = uow.payments.initiated_total_minor(
            "op1", since=AT, until=AT + timedelta(minutes=60)
        )
        nothing = uow.payments.initiated_total_minor("op9", since=AT, until=AT)
    assert total == 10 * 1_000_000_000 + 100 * 1_000_000_000
    assert nothing == 0


def test_a_payment_is_submitted_then_released_by_two_approvers(uow: Corporate) -> None:
    audit, clock, staff = InMemoryAuditSink(), FixedClock(AT), Actor.staff("ana")
    publish_mandate(
        uow=uow, audit=audit, actor=staff, customer_id="corp-1", tiers=make_mandate().tiers
    )
    for operator_id, roles in (
        ("maker", ("initiator",)),
        ("c1", ("approver",)),
        ("c2", ("approver",)),
    ):
        add_operator(
            uow=uow,
            audit=audit,
            actor=staff,
            customer_id="corp-1",
            name_ref=f"ref-{operator_id}",
            roles=roles,
            single_limit_minor=5_000_000_00,
            daily_limit_minor=8_000_000_00,
            operator_id=operator_id,
        )
    payment = submit_payment(
        uow=uow,
        audit=audit,
        clock=clock,
        customer_id="corp-1",
        account_id="acct-1",
        payee_id="payee-a",
        amount_minor=2_000_000_00,
        currency="CNY",
        initiator_id="maker",
    )
    for approver in ("c1", "c2"):
        payment = approve_payment(
            uow=uow, audit=audit, clock=clock, payment_id=payment.id, operator_id=approver
        )
    assert payment.status is PaymentStatus.RELEASED
    with uow:
        assert uow.payments.get(payment.id) == payment
        assert (
            uow.payments.initiated_total_minor("maker", since=AT, until=AT + timedelta(days=1))
            == 2_000_000_00
        )
