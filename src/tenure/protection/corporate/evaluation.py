"""What a mandate requires of one payment: pure, deterministic, no store.

``evaluate_mandate`` answers for the corporate approval flow (how many approvers, whether the payee
may be paid, whether the payment waits for business hours); ``mandate_outcome`` says the same in
the engine's vocabulary, so that the engine can take a mandate as a hard rule:

- payee or currency not allowed -> ``decline``
- held until business hours      -> ``hold``
- approvers needed               -> ``dual_approval``
- otherwise                      -> ``allow``

More money never needs fewer approvers, and outside business hours never needs fewer than inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tenure.core.errors import ValidationError
from tenure.core.money import format_minor_units
from tenure.core.outcome import Outcome
from tenure.protection.corporate.model import CorporatePayment, Mandate, PaymentStatus

__all__ = [
    "MandateRequirement",
    "MandateVerdict",
    "PaymentTerms",
    "evaluate_mandate",
    "mandate_outcome",
    "payment_ending",
    "payment_outcome",
]


class PaymentTerms(Protocol):
    """The parts of a payment a mandate looks at (``PaymentRequest`` and ``CorporatePayment``)."""

    @property
    def amount_minor(self) -> int: ...

    @property
    def currency(self) -> str: ...

    @property
    def payee_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class MandateRequirement:
    """What a payment needs under a mandate, and why, in plain words."""

    approvers: int
    payee_allowed: bool
    after_hours_rule: bool
    hold_ends_at: datetime | None
    reasons: tuple[str, ...]

    @property
    def outcome(self) -> Outcome:
        """The least friction the mandate allows for this payment."""
        if not self.payee_allowed:
            return Outcome.DECLINE
        if self.hold_ends_at is not None:
            return Outcome.HOLD
        if self.approvers > 0:
            return Outcome.DUAL_APPROVAL
        return Outcome.ALLOW


@dataclass(frozen=True, slots=True)
class MandateVerdict:
    """What a mandate forces on the engine for one payment (``allow`` when there is no mandate)."""

    outcome: Outcome
    reasons: tuple[str, ...]
    approvers: int = 0
    mandate_version: int | None = None


def _approver_word(count: int) -> str:
    return "1 approver" if count == 1 else f"{count} approvers"


def _tier_approvers(mandate: Mandate, amount_minor: int) -> tuple[int, list[str]]:
    applying = [tier for tier in mandate.tiers if amount_minor > tier.above_minor]
    if not applying:
        return 0, []
    tier = max(applying, key=lambda tier: (tier.approvers, tier.above_minor))
    over = format_minor_units(tier.above_minor, mandate.currency)
    return tier.approvers, [f"payments over {over} need {_approver_word(tier.approvers)}"]


def _payee_allowed(mandate: Mandate, payment: PaymentTerms) -> tuple[bool, list[str]]:
    threshold = mandate.allow_listed_payees_above_minor
    if threshold is None or payment.amount_minor <= threshold:
        return True, []
    if payment.payee_id in mandate.allowed_payee_ids:
        return True, []
    over = format_minor_units(threshold, mandate.currency)
    return False, [f"payments over {over} may go only to allow-listed payees; this payee is not"]


def _after_hours_phrase(mandate: Mandate) -> str:
    hours = f"outside business hours ({mandate.business_hours.describe()})"
    if mandate.after_hours_above_minor > 0:
        over = format_minor_units(mandate.after_hours_above_minor, mandate.currency)
        return f"{hours} payments over {over}"
    return f"{hours} payments"


def evaluate_mandate(mandate: Mandate, payment: PaymentTerms, at: datetime) -> MandateRequirement:
    """What ``payment``, made at ``at``, needs under ``mandate``."""
    if payment.amount_minor <= 0:
        raise ValidationError("the amount must be positive", field="amount_minor")
    if at.tzinfo is None:
        raise ValidationError("the time must be timezone-aware", field="at")
    if payment.currency != mandate.currency:
        reason = f"this mandate covers {mandate.currency} payments only"
        return MandateRequirement(0, False, False, None, (reason,))
    approvers, reasons = _tier_approvers(mandate, payment.amount_minor)
    payee_allowed, payee_reasons = _payee_allowed(mandate, payment)
    after_hours = payment.amount_minor > mandate.after_hours_above_minor and (
        not mandate.business_hours.contains(at)
    )
    hold_ends_at = None
    if after_hours and mandate.after_hours == "extra_approver":
        approvers += 1
        reasons.append(f"{_after_hours_phrase(mandate)} need one more approver")
    elif after_hours:
        hold_ends_at = mandate.business_hours.next_opening(at)
        reasons.append(f"{_after_hours_phrase(mandate)} wait until business hours to be released")
    # A declined payment needs no approvers' words: only why it cannot be made at all.
    reasons = reasons if payee_allowed else payee_reasons
    return MandateRequirement(approvers, payee_allowed, after_hours, hold_ends_at, tuple(reasons))


def mandate_outcome(mandate: Mandate | None, payment: PaymentTerms, at: datetime) -> MandateVerdict:
    """The outcome a mandate forces for ``payment``; ``allow`` when the customer has no mandate."""
    if mandate is None:
        return MandateVerdict(Outcome.ALLOW, ())
    requirement = evaluate_mandate(mandate, payment, at)
    return MandateVerdict(
        outcome=requirement.outcome,
        reasons=requirement.reasons,
        approvers=requirement.approvers,
        mandate_version=mandate.version,
    )


def payment_outcome(payment: CorporatePayment) -> Outcome:
    """Where a corporate payment stands, in the engine's vocabulary.

    Pending is ``dual_approval`` (``hold`` once approved and only waiting for business hours);
    released is ``allow``; declined, rejected and expired payments never move money: ``decline``.
    """
    if payment.status is PaymentStatus.RELEASED:
        return Outcome.ALLOW
    if payment.status is not PaymentStatus.PENDING_APPROVAL:
        return Outcome.DECLINE
    if payment.fully_approved and payment.hold_ends_at is not None:
        return Outcome.HOLD
    return Outcome.DUAL_APPROVAL


def payment_ending(payment: CorporatePayment) -> tuple[Outcome, str] | None:
    """How the decision that sent ``payment`` for approval ended, and why (``dual_approval_``
    and the payment's final status); None while it waits."""
    if payment.status is PaymentStatus.PENDING_APPROVAL:
        return None
    return payment_outcome(payment), f"dual_approval_{payment.status.value}"
