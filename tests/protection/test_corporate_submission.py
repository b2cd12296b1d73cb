"""Corporate payment submission: initiator limits, refusals, the queue, mandate changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound, PermissionDenied, TenureError, ValidationError
from tenure.protection.corporate import (
    Actor,
    ApprovalTier,
    CorporatePayment,
    InMemoryAuditSink,
    InMemoryCorporateUnitOfWork,
    PaymentStatus,
    add_operator,
    approve_payment,
    pending_payments,
    publish_mandate,
    reject_payment,
    submit_payment,
)

WEDNESDAY_10_SHANGHAI = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
CUSTOMER = "corp-1"
STAFF = Actor.staff("staff-1")
CNY_100K = 100_000_00
CNY_1M = 1_000_000_00


@dataclass
class World:
    uow: InMemoryCorporateUnitOfWork
    audit: InMemoryAuditSink
    clock: FixedClock

    def submit(self, amount_minor: int, **overrides: Any) -> CorporatePayment:
        values: dict[str, Any] = {
            "customer_id": CUSTOMER,
            "account_id": "acct-1",
            "payee_id": "payee-ok",
            "amount_minor": amount_minor,
            "currency": "CNY",
            "initiator_id": "maker",
        }
        values.update(overrides)
        return submit_payment(uow=self.uow, audit=self.audit, clock=self.clock, **values)

    def approve(self, payment_id: str, operator_id: str) -> CorporatePayment:
        return approve_payment(
            uow=self.uow,
            audit=self.audit,
            clock=self.clock,
            payment_id=payment_id,
            operator_id=operator_id,
        )

    def reject(self, payment_id: str, operator_id: str, reason: str = "wrong invoice") -> Any:
        return reject_payment(
            uow=self.uow,
            audit=self.audit,
            clock=self.clock,
            payment_id=payment_id,
            operator_id=operator_id,
            reason=reason,
        )

    def refusal(self) -> dict[str, object]:
        last = self.audit.entries[-1]
        assert last.action.endswith("_refused")
        return {"action": last.action, "actor": last.actor, **last.details}


OPERATORS = [
    ("maker", CUSTOMER, ("initiator",), 5 * CNY_1M, 8 * CNY_1M),
    ("checker-1", CUSTOMER, ("approver",), 5 * CNY_1M, 10 * CNY_1M),
    ("checker-2", CUSTOMER, ("approver",), 5 * CNY_1M, 10 * CNY_1M),
    ("small-checker", CUSTOMER, ("approver",), 50_000_00, 50_000_00),
    ("maker-2", CUSTOMER, ("initiator", "approver"), 5 * CNY_1M, 10 * CNY_1M),
    ("boss", CUSTOMER, ("admin",), 1, 1),
    ("outsider", "corp-2", ("approver", "initiator"), 5 * CNY_1M, 10 * CNY_1M),
]


def make_world(**mandate_terms: Any) -> World:
    world = World(
        InMemoryCorporateUnitOfWork(), InMemoryAuditSink(), FixedClock(WEDNESDAY_10_SHANGHAI)
    )
    terms: dict[str, Any] = {
        "tiers": (ApprovalTier(CNY_100K, 1), ApprovalTier(CNY_1M, 2)),
        "allow_listed_payees_above_minor": 500_000_00,
        "allowed_payee_ids": {"payee-ok"},
    }
    terms.update(mandate_terms)
    for customer in (CUSTOMER, "corp-2"):
        publish_mandate(
            uow=world.uow,
            audit=world.audit,
            actor=STAFF,
            customer_id=customer,
            clock=world.clock,
            **terms,
        )
    for operator_id, customer, roles, single, daily in OPERATORS:
        add_operator(
            uow=world.uow,
            audit=world.audit,
            actor=STAFF,
            customer_id=customer,
            name_ref=f"ref-{operator_id}",
            roles=roles,
            single_limit_minor=single,
            daily_limit_minor=daily,
            operator_id=operator_id,
            clock=world.clock,
        )
    world.audit.entries.clear()
    return world


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"amount_minor": 0}, ValidationError, "amount_minor"),
        ({"amount_minor": -5}, ValidationError, "amount_minor"),
        ({"currency": "yuan"}, ValidationError, "currency"),
        ({"customer_id": "corp-none"}, NotFound, None),
        ({"initiator_id": "ghost"}, NotFound, None),
        ({"initiator_id": "checker-1"}, PermissionDenied, None),
        ({"initiator_id": "outsider"}, PermissionDenied, None),
        ({"amount_minor": 5 * CNY_1M + 1}, PermissionDenied, None),
    ],
)
def test_submission_refusals_are_raised_audited_and_store_nothing(
    world: World, overrides: dict[str, Any], error: type[TenureError], field: str | None
) -> None:
    values = {"amount_minor": 10_000_00, **overrides}

    with pytest.raises(error) as caught:
        world.submit(**values)

    assert caught.value.field == field
    assert world.refusal()["action"] == "corporate.payment_submit_refused"
    assert world.uow.payments.rows == {}


def test_initiator_single_limit_message_names_the_limit(world: World) -> None:
    with pytest.raises(PermissionDenied, match=r"single limit of 5,000,000 CNY"):
        world.submit(5 * CNY_1M + 1)


def test_daily_limit_counts_pending_and_released_but_not_declined_or_rejected(
    world: World,
) -> None:
    world.submit(4 * CNY_1M)
    released = world.submit(90_000_00)
    withdrawn = world.submit(3 * CNY_1M)
    world.reject(withdrawn.id, "maker")
    declined = world.submit(3 * CNY_1M, payee_id="stranger")
    assert released.status is PaymentStatus.RELEASED
    assert declined.status is PaymentStatus.DECLINED

    world.submit(4 * CNY_1M - 90_000_00)
    with pytest.raises(PermissionDenied, match=r"daily limit of 8,000,000 CNY"):
        world.submit(1)


def test_daily_limit_resets_at_midnight_in_shanghai(world: World) -> None:
    world.submit(5 * CNY_1M)
    world.submit(3 * CNY_1M)
    with pytest.raises(PermissionDenied, match="daily limit"):
        world.submit(1)

    world.clock.advance(timedelta(hours=13, minutes=59))  # 23:59 in Shanghai
    with pytest.raises(PermissionDenied, match="daily limit"):
        world.submit(1)
    world.clock.advance(timedelta(minutes=1))  # midnight in Shanghai

    assert world.submit(1).status is PaymentStatus.PENDING_APPROVAL  # after hours: 1 approver


def test_queue_lists_only_the_customers_pending_payments_oldest_first(world: World) -> None:
    first = world.submit(2 * CNY_1M)
    world.clock.advance(timedelta(minutes=1))
    world.submit(10_000_00)
    second = world.submit(300_000_00)
    world.clock.advance(timedelta(minutes=1))
    world.submit(300_000_00, customer_id="corp-2", initiator_id="outsider")
    third = world.submit(2 * CNY_1M, initiator_id="maker-2")
    world.approve(third.id, "checker-1")

    queue = pending_payments(uow=world.uow, customer_id=CUSTOMER)

    assert [payment.id for payment in queue] == [first.id, second.id, third.id]


def test_after_hours_payment_needs_one_more_approver(world: World) -> None:
    world.clock.advance(timedelta(hours=12))  # 22:00 in Shanghai

    payment = world.submit(200_000_00)
    world.approve(payment.id, "checker-1")
    released = world.approve(payment.id, "checker-2")

    assert payment.required_approvers == 2
    assert released.status is PaymentStatus.RELEASED


def test_a_new_mandate_does_not_change_a_payment_already_waiting(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    publish_mandate(
        uow=world.uow,
        audit=world.audit,
        actor=STAFF,
        customer_id=CUSTOMER,
        tiers=(ApprovalTier(0, 3),),
        clock=world.clock,
    )
    world.approve(payment.id, "checker-1")

    released = world.approve(payment.id, "maker-2")

    assert released.status is PaymentStatus.RELEASED
    assert released.mandate_version == 1
    assert world.submit(1).required_approvers == 3


def test_racing_approval_loses_to_the_stored_state(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    world.approve(payment.id, "checker-1")

    with pytest.raises(Conflict, match="changed meanwhile"):
        world.uow.payments.update(payment, expected=payment)
