"""Mandate services: publish a new version of a customer's rules, read the current one.

Only bank staff publish mandates: the mandate is what the customer's board signed with the bank,
and an operator able to change it could switch dual approval off for themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import NotFound, PermissionDenied
from tenure.protection.corporate.audit import AuditSink, refusals_recorded
from tenure.protection.corporate.model import (
    Actor,
    AfterHoursPolicy,
    ApprovalTier,
    BusinessHours,
    Mandate,
)
from tenure.protection.corporate.ports import CorporateUnitOfWork

__all__ = ["current_mandate", "publish_mandate"]

_SYSTEM_CLOCK = SystemClock()


def _mandate_details(mandate: Mandate) -> Mapping[str, object]:
    return {
        "version": mandate.version,
        "currency": mandate.currency,
        "tiers": tuple((tier.above_minor, tier.approvers) for tier in mandate.tiers),
        "allow_listed_payees_above_minor": mandate.allow_listed_payees_above_minor,
        "allowed_payee_count": len(mandate.allowed_payee_ids),
        "business_hours": mandate.business_hours.describe(),
        "after_hours": mandate.after_hours,
        "after_hours_above_minor": mandate.after_hours_above_minor,
        "approval_window_seconds": int(mandate.approval_window.total_seconds()),
    }


def publish_mandate(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    actor: Actor,
    customer_id: str,
    tiers: Iterable[ApprovalTier],
    currency: str = "CNY",
    allow_listed_payees_above_minor: int | None = None,
    allowed_payee_ids: Iterable[str] = (),
    business_hours: BusinessHours | None = None,
    after_hours: AfterHoursPolicy = "extra_approver",
    after_hours_above_minor: int = 0,
    approval_window: timedelta = timedelta(hours=24),
    clock: Clock = _SYSTEM_CLOCK,
) -> Mandate:
    """Publish the customer's next mandate version; payments already waiting keep theirs."""
    at = clock.now()
    subject = f"mandate:{customer_id}"
    action = "corporate.mandate_publish"
    with refusals_recorded(audit, actor=actor, action=action, subject=subject, at=at), uow:
        if actor.kind != "staff":
            raise PermissionDenied("only bank staff may publish a corporate mandate")
        previous = uow.mandates.current(customer_id)
        mandate = Mandate(
            customer_id=customer_id,
            version=1 if previous is None else previous.version + 1,
            currency=currency,
            tiers=tuple(sorted(tiers, key=lambda tier: tier.above_minor)),
            created_at=at,
            created_by=str(actor),
            allow_listed_payees_above_minor=allow_listed_payees_above_minor,
            allowed_payee_ids=frozenset(allowed_payee_ids),
            business_hours=business_hours or BusinessHours(),
            after_hours=after_hours,
            after_hours_above_minor=after_hours_above_minor,
            approval_window=approval_window,
        )
        uow.mandates.add(mandate)
        audit.record(
            actor=str(actor),
            action="corporate.mandate_published",
            subject=subject,
            details=_mandate_details(mandate),
            at=at,
        )
        uow.commit()
    return mandate


def current_mandate(*, uow: CorporateUnitOfWork, customer_id: str) -> Mandate:
    """The customer's mandate in force; ``NotFound`` if the bank has recorded none."""
    with uow:
        mandate = uow.mandates.current(customer_id)
    if mandate is None:
        raise NotFound("this customer has no corporate mandate")
    return mandate
