"""Checking an amount against a customer's limit: defaults, stored limits, forced outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.core.outcome import Outcome, strongest
from tenure.protection.limits import (
    Limit,
    LimitPolicy,
    ProductLimit,
    assess_limit,
    check_limit,
    get_limit,
    list_limits,
)
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_defaults_come_from_the_policy() -> None:
    uow = InMemoryLimitUnitOfWork()
    limits = {limit.product: limit for limit in list_limits(uow=uow, customer_id="c1")}
    assert limits["transfer_daily"].amount_minor == 200_000_000
    assert limits["single_transfer"].amount_minor == 100_000_000
    assert limits["card_payment_daily"].amount_minor == 10_000_000
    assert all(limit.is_default and limit.currency == "CNY" for limit in limits.values())


def test_a_stored_limit_replaces_the_default() -> None:
    uow = InMemoryLimitUnitOfWork()
    uow.limits.put(Limit("c1", "transfer_daily", 100_000, "CNY", updated_at=AT, updated_by="c1"))
    limit = get_limit(uow=uow, customer_id="c1", product="transfer_daily")
    assert limit.amount_minor == 100_000
    assert not limit.is_default
    assert get_limit(uow=uow, customer_id="c2", product="transfer_daily").is_default


def test_an_amount_within_the_daily_limit_forces_nothing() -> None:
    check = check_limit(
        uow=InMemoryLimitUnitOfWork(),
        customer_id="c1",
        product="transfer_daily",
        amount_minor=40_000_000,
        spent_in_window_minor=160_000_000,
    )
    assert not check.exceeded
    assert check.exceeded_by_minor == 0
    assert check.forced_outcome is Outcome.ALLOW
    assert check.limit.amount_minor == 200_000_000


def test_spending_over_the_daily_limit_is_declined_by_how_much() -> None:
    check = check_limit(
        uow=InMemoryLimitUnitOfWork(),
        customer_id="c1",
        product="transfer_daily",
        amount_minor=40_000_001,
        spent_in_window_minor=160_000_000,
    )
    assert check.exceeded
    assert check.exceeded_by_minor == 1
    assert check.forced_outcome is Outcome.DECLINE
    assert strongest([Outcome.STEP_UP, check.forced_outcome]) is Outcome.DECLINE


def test_the_single_transfer_limit_ignores_earlier_spending() -> None:
    check = check_limit(
        uow=InMemoryLimitUnitOfWork(),
        customer_id="c1",
        product="single_transfer",
        amount_minor=100_000_000,
        spent_in_window_minor=450_000_000,
    )
    assert not check.exceeded


def test_the_forced_outcome_is_configurable_per_policy_and_product() -> None:
    policy = LimitPolicy(
        products={
            "transfer_daily": ProductLimit(default_minor=100, maximum_minor=1_000),
            "card_payment_daily": ProductLimit(
                default_minor=100, maximum_minor=1_000, exceeded_outcome=Outcome.STEP_UP
            ),
        },
        exceeded_outcome=Outcome.HOLD,
    )
    limit = Limit("c1", "transfer_daily", 100, "CNY")
    card = Limit("c1", "card_payment_daily", 100, "CNY")
    assert assess_limit(limit, amount_minor=101, policy=policy).forced_outcome is Outcome.HOLD
    assert assess_limit(card, amount_minor=101, policy=policy).forced_outcome is Outcome.STEP_UP


def test_an_unknown_product_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        check_limit(
            uow=InMemoryLimitUnitOfWork(),
            customer_id="c1",
            product="crypto_daily",
            amount_minor=1,
        )
    assert raised.value.field == "product"


@pytest.mark.parametrize("amount", [-1, True, 1.5, "100"])
def test_a_bad_amount_is_a_validation_error(amount: object) -> None:
    with pytest.raises(ValidationError) as raised:
        assess_limit(Limit("c1", "transfer_daily", 100, "CNY"), amount_minor=amount)  # type: ignore[arg-type]
    assert raised.value.field == "amount_minor"


def test_negative_spending_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        assess_limit(
            Limit("c1", "transfer_daily", 100, "CNY"), amount_minor=1, spent_in_window_minor=-5
        )
    assert raised.value.field == "spent_in_window_minor"


def test_nonsense_product_limits_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        ProductLimit(default_minor=20, maximum_minor=10)
    with pytest.raises(ConfigurationError):
        LimitPolicy(products={})


amounts = st.integers(min_value=0, max_value=10**12)


@given(limit=amounts, amount=amounts, spent=amounts)
def test_exceeded_exactly_when_the_total_is_over_the_limit(
    limit: int, amount: int, spent: int
) -> None:
    check = assess_limit(
        Limit("c1", "transfer_daily", limit, "CNY"),
        amount_minor=amount,
        spent_in_window_minor=spent,
    )
    assert check.exceeded == (amount + spent > limit)
    assert check.exceeded_by_minor == max(0, amount + spent - limit)
    assert (check.forced_outcome is Outcome.DECLINE) == check.exceeded


@given(limit=amounts, amount=amounts, more=st.integers(min_value=0, max_value=10**6))
def test_a_larger_amount_never_forces_a_weaker_outcome(limit: int, amount: int, more: int) -> None:
    base = Limit("c1", "transfer_daily", limit, "CNY")
    smaller = assess_limit(base, amount_minor=amount)
    larger = assess_limit(base, amount_minor=amount + more)
    assert larger.forced_outcome >= smaller.forced_outcome
