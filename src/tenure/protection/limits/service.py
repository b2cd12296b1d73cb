"""Limit services: read a customer's limits, check an amount against one, change one.

Each function takes an unopened unit of work and opens it itself; ``change_limit`` commits its own
change. ``assess_limit`` is the pure check for callers that already hold the ``Limit``.
"""

from __future__ import annotations

from datetime import datetime

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import PermissionDenied, ValidationError
from tenure.core.money import format_minor_units
from tenure.core.outcome import Outcome
from tenure.protection.limits.model import Actor, Limit, LimitChange, LimitCheck, LimitPolicy
from tenure.protection.limits.ports import LimitUnitOfWork

__all__ = [
    "assess_limit",
    "change_limit",
    "check_limit",
    "get_limit",
    "list_limits",
]

_SYSTEM_CLOCK = SystemClock()
_DEFAULT_POLICY = LimitPolicy()
_ACTOR_KINDS = frozenset({"customer", "staff"})


def _checked_amount(value: int, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number of minor units", field=field)
    if value < 0:
        raise ValidationError(f"{field} must not be negative", field=field)
    return value


def _default(customer_id: str, product: str, policy: LimitPolicy) -> Limit:
    return Limit(
        customer_id=customer_id,
        product=product,
        amount_minor=policy.product(product).default_minor,
        currency=policy.currency,
    )


def _effective(uow: LimitUnitOfWork, customer_id: str, product: str, policy: LimitPolicy) -> Limit:
    return uow.limits.get(customer_id, product) or _default(customer_id, product, policy)


def get_limit(
    *, uow: LimitUnitOfWork, customer_id: str, product: str, policy: LimitPolicy = _DEFAULT_POLICY
) -> Limit:
    """The customer's limit for ``product``: the stored one, else the policy default."""
    policy.product(product)
    with uow:
        return _effective(uow, customer_id, product, policy)


def list_limits(
    *, uow: LimitUnitOfWork, customer_id: str, policy: LimitPolicy = _DEFAULT_POLICY
) -> list[Limit]:
    """The customer's limit for every product of the policy, ordered by product."""
    with uow:
        stored = {limit.product: limit for limit in uow.limits.list_for_customer(customer_id)}
    return [
        stored.get(product) or _default(customer_id, product, policy)
        for product in sorted(policy.products)
    ]


def assess_limit(
    limit: Limit,
    *,
    amount_minor: int,
    spent_in_window_minor: int = 0,
    policy: LimitPolicy = _DEFAULT_POLICY,
) -> LimitCheck:
    """Whether ``amount_minor`` (after ``spent_in_window_minor``, for a cumulative limit) fits.

    >>> limit = Limit("c1", "transfer_daily", 5_000_000, "CNY")
    >>> check = assess_limit(limit, amount_minor=1_000_000, spent_in_window_minor=4_500_000)
    >>> check.exceeded_by_minor, check.forced_outcome
    (500000, <Outcome.DECLINE: 'decline'>)
    """
    amount = _checked_amount(amount_minor, field="amount_minor")
    spent = _checked_amount(spent_in_window_minor, field="spent_in_window_minor")
    rule = policy.product(limit.product)
    total = amount + spent if rule.cumulative else amount
    exceeded_by = max(0, total - limit.amount_minor)
    return LimitCheck(
        limit=limit,
        amount_minor=amount,
        spent_in_window_minor=spent,
        exceeded_by_minor=exceeded_by,
        forced_outcome=policy.outcome_for(limit.product) if exceeded_by else Outcome.ALLOW,
    )


def check_limit(
    *,
    uow: LimitUnitOfWork,
    customer_id: str,
    product: str,
    amount_minor: int,
    spent_in_window_minor: int = 0,
    policy: LimitPolicy = _DEFAULT_POLICY,
) -> LimitCheck:
    """Check an amount against the customer's limit for ``product`` (stored or default)."""
    limit = get_limit(uow=uow, customer_id=customer_id, product=product, policy=policy)
    return assess_limit(
        limit, amount_minor=amount_minor, spent_in_window_minor=spent_in_window_minor, policy=policy
    )


def _require_step_up(verified_at: datetime | None, *, now: datetime, policy: LimitPolicy) -> None:
    minutes = int(policy.step_up_window.total_seconds() // 60)
    message = f"raising a limit requires a step-up verified within the last {minutes} minutes"
    if verified_at is None:
        raise PermissionDenied(message)
    if verified_at.tzinfo is None:
        raise ValidationError(
            "step_up_verified_at must be timezone-aware", field="step_up_verified_at"
        )
    if not now - policy.step_up_window <= verified_at <= now:
        raise PermissionDenied(message)


def _check_actor(actor: Actor, customer_id: str) -> None:
    if actor.kind not in _ACTOR_KINDS or not actor.id:
        raise ValidationError("actor must be a customer or staff with an id", field="actor")
    if actor.kind == "customer" and actor.id != customer_id:
        raise PermissionDenied("a customer may change only their own limits")


def _checked_new_amount(value: int, *, product: str, policy: LimitPolicy) -> int:
    amount = _checked_amount(value, field="amount_minor")
    maximum = policy.product(product).maximum_minor
    if amount > maximum:
        shown = format_minor_units(maximum, policy.currency)
        raise ValidationError(
            f"amount_minor is above the {product} maximum of {shown}", field="amount_minor"
        )
    return amount


def change_limit(
    *,
    uow: LimitUnitOfWork,
    customer_id: str,
    product: str,
    new_amount_minor: int,
    actor: Actor,
    clock: Clock = _SYSTEM_CLOCK,
    step_up_verified_at: datetime | None = None,
    policy: LimitPolicy = _DEFAULT_POLICY,
) -> LimitChange:
    """Set a limit and return the audit record; a customer's raise needs a recent step-up.

    Lowering needs no step-up; staff need none but, like customers, stay within the product's
    maximum. Raises ``ValidationError(field="amount_minor")`` for a bad amount and
    ``PermissionDenied`` for a raise without a step-up in ``policy.step_up_window`` or a customer
    changing someone else's limit.
    """
    _check_actor(actor, customer_id)
    amount = _checked_new_amount(new_amount_minor, product=product, policy=policy)
    now = clock.now()
    with uow:
        current = _effective(uow, customer_id, product, policy)
        if actor.kind == "customer" and amount > current.amount_minor:
            _require_step_up(step_up_verified_at, now=now, policy=policy)
        uow.limits.put(
            Limit(
                customer_id=customer_id,
                product=product,
                amount_minor=amount,
                currency=policy.currency,
                updated_at=now,
                updated_by=actor.id,
            )
        )
        uow.commit()
    return LimitChange(
        customer_id=customer_id,
        product=product,
        old_amount_minor=current.amount_minor,
        new_amount_minor=amount,
        currency=policy.currency,
        actor=actor,
        changed_at=now,
        step_up_verified_at=step_up_verified_at,
    )
