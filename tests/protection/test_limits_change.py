"""Changing a limit: lowering is free, a customer's raise needs a step-up, staff are capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.core.clock import FixedClock
from tenure.core.errors import PermissionDenied, ValidationError
from tenure.protection.limits import Actor, LimitChange, LimitPolicy, change_limit, get_limit
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CUSTOMER = Actor(id="c1", kind="customer")
STAFF = Actor(id="staff-7", kind="staff")


def _change(
    uow: InMemoryLimitUnitOfWork,
    amount: int,
    *,
    actor: Actor = CUSTOMER,
    verified_at: datetime | None = None,
    product: str = "transfer_daily",
) -> LimitChange:
    return change_limit(
        uow=uow,
        customer_id="c1",
        product=product,
        new_amount_minor=amount,
        actor=actor,
        clock=FixedClock(AT),
        step_up_verified_at=verified_at,
    )


def test_a_customer_lowers_a_limit_without_step_up_and_gets_an_audit_record() -> None:
    uow = InMemoryLimitUnitOfWork()
    change = change_limit(
        uow=uow,
        customer_id="c1",
        product="transfer_daily",
        new_amount_minor=40_000_000,
        actor=CUSTOMER,
        clock=FixedClock(AT),
    )
    assert change.old_amount_minor == 200_000_000
    assert change.new_amount_minor == 40_000_000
    assert change.actor == CUSTOMER
    assert change.changed_at == AT
    assert not change.raised
    stored = get_limit(uow=uow, customer_id="c1", product="transfer_daily")
    assert (stored.amount_minor, stored.updated_by, stored.updated_at) == (40_000_000, "c1", AT)


def test_a_customer_may_set_a_limit_to_zero() -> None:
    uow = InMemoryLimitUnitOfWork()
    _change(uow, 0, product="card_payment_daily")
    assert get_limit(uow=uow, customer_id="c1", product="card_payment_daily").amount_minor == 0


def test_a_customer_raise_without_step_up_is_denied_with_a_clear_message() -> None:
    uow = InMemoryLimitUnitOfWork()
    with pytest.raises(PermissionDenied, match="requires a step-up"):
        _change(uow, 240_000_000)
    assert get_limit(uow=uow, customer_id="c1", product="transfer_daily").is_default


def test_a_customer_raise_with_a_step_up_in_the_last_ten_minutes_is_allowed() -> None:
    uow = InMemoryLimitUnitOfWork()
    verified_at = AT - timedelta(minutes=10)
    change = change_limit(
        uow=uow,
        customer_id="c1",
        product="transfer_daily",
        new_amount_minor=240_000_000,
        actor=CUSTOMER,
        clock=FixedClock(AT),
        step_up_verified_at=verified_at,
    )
    assert change.raised
    assert change.step_up_verified_at == verified_at


@pytest.mark.parametrize(
    "verified_at",
    [AT - timedelta(minutes=10, seconds=1), AT + timedelta(seconds=1)],
    ids=["too-old", "in-the-future"],
)
def test_a_stale_or_future_step_up_does_not_allow_a_raise(verified_at: datetime) -> None:
    with pytest.raises(PermissionDenied):
        _change(InMemoryLimitUnitOfWork(), 240_000_000, verified_at=verified_at)


def test_a_naive_step_up_time_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        _change(InMemoryLimitUnitOfWork(), 240_000_000, verified_at=datetime(2025, 3, 1, 9, 0))
    assert raised.value.field == "step_up_verified_at"


def test_raising_back_after_lowering_needs_a_step_up() -> None:
    uow = InMemoryLimitUnitOfWork()
    _change(uow, 40_000_000)
    with pytest.raises(PermissionDenied):
        _change(uow, 80_000_000)


def test_the_step_up_window_is_configurable() -> None:
    policy = LimitPolicy(step_up_window=timedelta(minutes=2))
    with pytest.raises(PermissionDenied, match="2 minutes"):
        change_limit(
            uow=InMemoryLimitUnitOfWork(),
            customer_id="c1",
            product="transfer_daily",
            new_amount_minor=240_000_000,
            actor=CUSTOMER,
            clock=FixedClock(AT),
            step_up_verified_at=AT - timedelta(minutes=3),
            policy=policy,
        )


def test_a_customer_cannot_change_another_customers_limit() -> None:
    with pytest.raises(PermissionDenied):
        _change(InMemoryLimitUnitOfWork(), 100, actor=Actor(id="c2", kind="customer"))


def test_staff_raise_without_step_up_up_to_the_maximum() -> None:
    uow = InMemoryLimitUnitOfWork()
    change = _change(uow, 4_000_000_000, actor=STAFF)
    assert change.raised
    assert change.step_up_verified_at is None
    assert get_limit(uow=uow, customer_id="c1", product="transfer_daily").updated_by == "staff-7"
    with pytest.raises(ValidationError) as raised:
        _change(uow, 4_000_000_001, actor=STAFF)
    assert raised.value.field == "amount_minor"
    assert "maximum" in raised.value.message


def test_a_customer_with_a_step_up_is_also_capped_at_the_maximum() -> None:
    with pytest.raises(ValidationError):
        _change(InMemoryLimitUnitOfWork(), 4_000_000_001, verified_at=AT)


@pytest.mark.parametrize("amount", [-1, True, 1.5, "100", None])
def test_a_bad_amount_is_a_validation_error(amount: object) -> None:
    with pytest.raises(ValidationError) as raised:
        _change(InMemoryLimitUnitOfWork(), amount, actor=STAFF)  # type: ignore[arg-type]
    assert raised.value.field == "amount_minor"


def test_an_unknown_actor_kind_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        _change(InMemoryLimitUnitOfWork(), 100, actor=Actor(id="x", kind="robot"))  # type: ignore[arg-type]
    assert raised.value.field == "actor"


def test_a_refused_change_leaves_nothing_behind() -> None:
    uow = InMemoryLimitUnitOfWork()
    with pytest.raises(PermissionDenied):
        _change(uow, 240_000_000)
    assert uow.commits == 0
    assert uow.limits.list_for_customer("c1") == []


@given(
    current=st.integers(min_value=0, max_value=4_000_000_000),
    new=st.integers(min_value=0, max_value=4_000_000_000),
)
def test_a_customer_without_step_up_can_only_keep_or_lower(current: int, new: int) -> None:
    uow = InMemoryLimitUnitOfWork()
    _change(uow, current, actor=STAFF)
    try:
        _change(uow, new)
    except PermissionDenied:
        assert new > current
    else:
        assert new <= current
        assert get_limit(uow=uow, customer_id="c1", product="transfer_daily").amount_minor == new
