"""What a mandate requires of a payment: tiers, payees, business hours, and the engine's outcome."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.corporate import (
    Approval,
    ApprovalTier,
    BusinessHours,
    CorporatePayment,
    Mandate,
    PaymentRequest,
    PaymentStatus,
    evaluate_mandate,
    mandate_outcome,
    payment_outcome,
)

WEDNESDAY_10_SHANGHAI = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
WEDNESDAY_22_SHANGHAI = datetime(2025, 3, 5, 14, 0, tzinfo=UTC)
FRIDAY_22_SHANGHAI = datetime(2025, 3, 7, 14, 0, tzinfo=UTC)
MONDAY_08_SHANGHAI = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
CNY_100K = 100_000_00
CNY_1M = 1_000_000_00


def make_mandate(**overrides: Any) -> Mandate:
    values: dict[str, Any] = {
        "customer_id": "corp-1",
        "version": 1,
        "currency": "CNY",
        "tiers": (ApprovalTier(CNY_100K, 1), ApprovalTier(CNY_1M, 2)),
        "created_at": WEDNESDAY_10_SHANGHAI,
        "created_by": "staff:s-1",
    }
    values.update(overrides)
    return Mandate(**values)


def pay(amount_minor: int, payee_id: str = "payee-1", currency: str = "CNY") -> PaymentRequest:
    return PaymentRequest(amount_minor=amount_minor, currency=currency, payee_id=payee_id)


def test_small_payment_in_business_hours_needs_no_approver() -> None:
    requirement = evaluate_mandate(make_mandate(), pay(5_000_00), WEDNESDAY_10_SHANGHAI)

    assert requirement.approvers == 0
    assert requirement.outcome is Outcome.ALLOW
    assert requirement.reasons == ()


def test_payment_exactly_at_a_threshold_is_not_above_it() -> None:
    requirement = evaluate_mandate(make_mandate(), pay(CNY_100K), WEDNESDAY_10_SHANGHAI)

    assert requirement.approvers == 0


def test_payment_over_100k_needs_one_approver_in_plain_words() -> None:
    requirement = evaluate_mandate(make_mandate(), pay(CNY_100K + 1), WEDNESDAY_10_SHANGHAI)

    assert requirement.approvers == 1
    assert requirement.outcome is Outcome.DUAL_APPROVAL
    assert requirement.reasons == ("payments over 100,000 CNY need 1 approver",)


def test_payment_over_1m_needs_two_approvers_and_names_only_the_highest_tier() -> None:
    requirement = evaluate_mandate(make_mandate(), pay(CNY_1M + 1), WEDNESDAY_10_SHANGHAI)

    assert requirement.approvers == 2
    assert requirement.reasons == ("payments over 1,000,000 CNY need 2 approvers",)


def test_after_hours_adds_one_approver_even_to_a_small_payment() -> None:
    requirement = evaluate_mandate(make_mandate(), pay(100_00), WEDNESDAY_22_SHANGHAI)

    assert requirement.approvers == 1
    assert requirement.after_hours_rule
    assert requirement.reasons == (
        "outside business hours (08:00-20:00 Asia/Shanghai, Mon-Fri) payments need one more "
        "approver",
    )


def test_weekend_is_outside_business_hours() -> None:
    saturday_noon = datetime(2025, 3, 8, 4, 0, tzinfo=UTC)

    requirement = evaluate_mandate(make_mandate(), pay(CNY_1M + 1), saturday_noon)

    assert requirement.approvers == 3


def test_after_hours_rule_can_spare_payments_below_its_threshold() -> None:
    mandate = make_mandate(after_hours_above_minor=50_000_00)

    small = evaluate_mandate(mandate, pay(50_000_00), WEDNESDAY_22_SHANGHAI)
    large = evaluate_mandate(mandate, pay(50_000_01), WEDNESDAY_22_SHANGHAI)

    assert small.approvers == 0
    assert large.approvers == 1
    assert "payments over 50,000 CNY need one more approver" in large.reasons[0]


def test_hold_policy_waits_for_the_next_opening_instead_of_an_extra_approver() -> None:
    mandate = make_mandate(after_hours="hold")

    requirement = evaluate_mandate(mandate, pay(CNY_100K + 1), FRIDAY_22_SHANGHAI)

    assert requirement.approvers == 1
    assert requirement.hold_ends_at == MONDAY_08_SHANGHAI
    assert requirement.outcome is Outcome.HOLD
    assert requirement.reasons[-1].endswith("wait until business hours to be released")


def test_large_payment_to_a_payee_off_the_allow_list_is_declined_with_the_reason() -> None:
    mandate = make_mandate(allow_listed_payees_above_minor=500_000_00, allowed_payee_ids={"ok"})

    requirement = evaluate_mandate(mandate, pay(500_000_01, "stranger"), WEDNESDAY_10_SHANGHAI)

    assert not requirement.payee_allowed
    assert requirement.outcome is Outcome.DECLINE
    assert (
        "payments over 500,000 CNY may go only to allow-listed payees; this payee is not"
        in requirement.reasons
    )


def test_large_payment_to_an_allow_listed_payee_is_allowed() -> None:
    mandate = make_mandate(allow_listed_payees_above_minor=500_000_00, allowed_payee_ids={"ok"})

    requirement = evaluate_mandate(mandate, pay(500_000_01, "ok"), WEDNESDAY_10_SHANGHAI)

    assert requirement.payee_allowed
    assert requirement.outcome is Outcome.DUAL_APPROVAL


def test_payment_below_the_allow_list_threshold_may_go_to_any_payee() -> None:
    mandate = make_mandate(allow_listed_payees_above_minor=500_000_00, allowed_payee_ids={"ok"})

    requirement = evaluate_mandate(mandate, pay(500_000_00, "stranger"), WEDNESDAY_10_SHANGHAI)

    assert requirement.payee_allowed


def test_payment_in_another_currency_is_declined() -> None:
    requirement = evaluate_mandate(
        make_mandate(), pay(100_00, currency="USD"), WEDNESDAY_10_SHANGHAI
    )

    assert requirement.outcome is Outcome.DECLINE
    assert requirement.reasons == ("this mandate covers CNY payments only",)


@pytest.mark.parametrize("amount", [0, -1])
def test_non_positive_amount_is_a_validation_error(amount: int) -> None:
    with pytest.raises(ValidationError) as caught:
        evaluate_mandate(make_mandate(), pay(amount), WEDNESDAY_10_SHANGHAI)
    assert caught.value.field == "amount_minor"


def test_engine_gets_allow_when_the_customer_has_no_mandate() -> None:
    verdict = mandate_outcome(None, pay(CNY_1M * 10), WEDNESDAY_10_SHANGHAI)

    assert verdict.outcome is Outcome.ALLOW
    assert verdict.reasons == ()
    assert verdict.mandate_version is None


def test_engine_gets_dual_approval_with_reasons_and_mandate_version() -> None:
    verdict = mandate_outcome(make_mandate(version=3), pay(CNY_1M + 1), WEDNESDAY_10_SHANGHAI)

    assert verdict.outcome is Outcome.DUAL_APPROVAL
    assert verdict.approvers == 2
    assert verdict.mandate_version == 3
    assert verdict.reasons == ("payments over 1,000,000 CNY need 2 approvers",)


def _payment(status: PaymentStatus, **overrides: Any) -> CorporatePayment:
    payment = CorporatePayment(
        id="p-1",
        customer_id="corp-1",
        account_id="a-1",
        payee_id="payee-1",
        amount_minor=CNY_1M + 1,
        currency="CNY",
        initiator_id="op-1",
        created_at=WEDNESDAY_10_SHANGHAI,
        status=status,
        approvals=(),
        required_approvers=1,
        reasons=(),
        decision_id=None,
        mandate_version=1,
        expires_at=WEDNESDAY_10_SHANGHAI + timedelta(hours=24),
    )
    return replace(payment, **overrides)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (PaymentStatus.PENDING_APPROVAL, Outcome.DUAL_APPROVAL),
        (PaymentStatus.RELEASED, Outcome.ALLOW),
        (PaymentStatus.REJECTED, Outcome.DECLINE),
        (PaymentStatus.EXPIRED, Outcome.DECLINE),
        (PaymentStatus.DECLINED, Outcome.DECLINE),
    ],
)
def test_payment_status_maps_to_the_engine_outcome(status: PaymentStatus, outcome: Outcome) -> None:
    assert payment_outcome(_payment(status)) is outcome


def test_approved_payment_waiting_for_business_hours_is_a_hold() -> None:
    waiting = _payment(
        PaymentStatus.PENDING_APPROVAL,
        approvals=(Approval("op-2", WEDNESDAY_22_SHANGHAI),),
        hold_ends_at=datetime(2025, 3, 6, 0, 0, tzinfo=UTC),
    )

    assert payment_outcome(waiting) is Outcome.HOLD


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "cny"}, "currency"),
        ({"version": 0}, "version"),
        ({"tiers": (ApprovalTier(1, 1), ApprovalTier(1, 2))}, "tiers"),
        ({"allow_listed_payees_above_minor": -1}, "allow_listed_payees_above_minor"),
        ({"after_hours": "sleep"}, "after_hours"),
        ({"approval_window": timedelta(0)}, "approval_window"),
    ],
)
def test_mandate_rejects_bad_terms(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_mandate(**overrides)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ApprovalTier(-1, 1), "above_minor"),
        (lambda: ApprovalTier(0, 0), "approvers"),
        (lambda: BusinessHours(timezone="Mars/Olympus"), "timezone"),
        (lambda: BusinessHours(opens_at=time(20), closes_at=time(8)), "closes_at"),
        (lambda: BusinessHours(weekdays=frozenset({7})), "weekdays"),
    ],
)
def test_tiers_and_hours_reject_bad_terms(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make()
    assert caught.value.field == field


def test_business_hours_describe_irregular_weekdays() -> None:
    hours = BusinessHours(weekdays=frozenset({0, 2, 5}))

    assert hours.describe() == "08:00-20:00 Asia/Shanghai, Mon, Wed, Sat"


def test_next_opening_is_now_inside_hours_and_later_today_before_opening() -> None:
    hours = BusinessHours()
    wednesday_07_shanghai = datetime(2025, 3, 4, 23, 0, tzinfo=UTC)

    assert hours.next_opening(WEDNESDAY_10_SHANGHAI) == WEDNESDAY_10_SHANGHAI
    assert hours.next_opening(wednesday_07_shanghai) == datetime(2025, 3, 5, 0, 0, tzinfo=UTC)
    assert hours.next_opening(FRIDAY_22_SHANGHAI) == MONDAY_08_SHANGHAI


# --- properties ---------------------------------------------------------------------------------

AMOUNTS = st.integers(min_value=1, max_value=10**11)
THRESHOLDS = st.integers(min_value=0, max_value=10**10)
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def mandates(draw: st.DrawFn) -> Mandate:
    tiers = draw(
        st.lists(
            st.builds(ApprovalTier, THRESHOLDS, st.integers(min_value=1, max_value=5)),
            max_size=4,
            unique_by=lambda tier: tier.above_minor,
        )
    )
    allow_list_threshold = draw(st.none() | THRESHOLDS)
    return make_mandate(
        tiers=tuple(tiers),
        allow_listed_payees_above_minor=allow_list_threshold,
        allowed_payee_ids=frozenset(draw(st.sets(st.sampled_from(["p1", "p2", "p3"])))),
        after_hours=draw(st.sampled_from(["extra_approver", "hold"])),
        after_hours_above_minor=draw(THRESHOLDS),
    )


@st.composite
def moments_inside_and_outside(draw: st.DrawFn) -> tuple[datetime, datetime]:
    monday = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    inside = monday + timedelta(
        days=draw(st.integers(0, 4)), minutes=draw(st.integers(0, 12 * 60 - 1))
    )
    outside = monday + timedelta(days=draw(st.integers(0, 6)), minutes=draw(st.integers(0, 1439)))
    if BusinessHours().contains(outside):
        outside = monday + timedelta(days=5, minutes=draw(st.integers(0, 2 * 1440 - 1)))
    return inside, outside


@given(mandates(), AMOUNTS, AMOUNTS, st.sampled_from(["p1", "p4"]), MOMENTS)
def test_more_money_never_needs_fewer_approvers_or_less_friction(
    mandate: Mandate, first: int, second: int, payee: str, at: datetime
) -> None:
    smaller, larger = sorted((first, second))

    low = evaluate_mandate(mandate, pay(smaller, payee), at)
    high = evaluate_mandate(mandate, pay(larger, payee), at)

    assert low.approvers <= high.approvers
    assert low.outcome <= high.outcome


@given(mandates(), AMOUNTS, st.sampled_from(["p1", "p4"]), moments_inside_and_outside())
def test_after_hours_never_needs_fewer_approvers_or_less_friction(
    mandate: Mandate, amount: int, payee: str, moments: tuple[datetime, datetime]
) -> None:
    inside, outside = moments

    during = evaluate_mandate(mandate, pay(amount, payee), inside)
    after = evaluate_mandate(mandate, pay(amount, payee), outside)

    assert during.approvers <= after.approvers
    assert during.outcome <= after.outcome
    assert not during.after_hours_rule


@given(mandates(), AMOUNTS, st.sampled_from(["p1", "p4"]), MOMENTS)
def test_evaluation_is_deterministic_and_explains_every_friction(
    mandate: Mandate, amount: int, payee: str, at: datetime
) -> None:
    requirement = evaluate_mandate(mandate, pay(amount, payee), at)

    assert evaluate_mandate(mandate, pay(amount, payee), at) == requirement
    assert (requirement.outcome is Outcome.ALLOW) == (requirement.reasons == ())
    assert requirement.approvers >= 0


@given(
    MOMENTS,
    st.integers(0, 11),
    st.integers(13, 23),
    st.sets(st.integers(0, 6), min_size=1),
)
def test_next_opening_is_never_earlier_and_always_open(
    at: datetime, opens: int, closes: int, weekdays: set[int]
) -> None:
    hours = BusinessHours(
        opens_at=time(opens), closes_at=time(closes), weekdays=frozenset(weekdays)
    )

    opening = hours.next_opening(at)

    assert opening >= at
    assert hours.contains(opening)
    assert opening - at <= timedelta(days=7)
