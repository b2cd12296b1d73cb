"""Bodies of the corporate routes: operators, mandates and payments awaiting approval.

``operator_id`` in a request is always the operator who acts (an admin adding a colleague, the
initiator submitting, an approver approving); the channel that signed the operator in sends it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure.core.errors import ValidationError
from tenure.protection.corporate import (
    ApprovalTier,
    BusinessHours,
    CorporatePayment,
    Mandate,
    Operator,
)

__all__ = [
    "ApprovalIn",
    "BusinessHoursIn",
    "MandateIn",
    "MandateOut",
    "OperatorIn",
    "OperatorOut",
    "PaymentIn",
    "PaymentOut",
    "RejectionIn",
    "TierIn",
]

_ID_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
Identifier = Field(min_length=1, max_length=64, pattern=_ID_PATTERN)
OptionalIdentifier = Field(default=None, min_length=1, max_length=64, pattern=_ID_PATTERN)
MAX_AMOUNT_MINOR = 10**15
Amount = Field(gt=0, le=MAX_AMOUNT_MINOR)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorIn(_Strict):
    """A new operator; ``operator_id`` is the acting admin operator (omit when staff act)."""

    operator_id: str | None = OptionalIdentifier
    id: str | None = OptionalIdentifier
    name_ref: str = Field(min_length=1, max_length=200, description="An opaque reference.")
    roles: list[Literal["initiator", "approver", "admin"]] = Field(min_length=1, max_length=3)
    single_limit_minor: int = Amount
    daily_limit_minor: int = Amount


class OperatorOut(BaseModel):
    id: str
    customer_id: str
    name_ref: str
    roles: list[str]
    single_limit_minor: int
    daily_limit_minor: int
    active: bool

    @classmethod
    def of(cls, operator: Operator) -> OperatorOut:
        return cls(
            id=operator.id,
            customer_id=operator.customer_id,
            name_ref=operator.name_ref,
            roles=sorted(role.value for role in operator.roles),
            single_limit_minor=operator.single_limit_minor,
            daily_limit_minor=operator.daily_limit_minor,
            active=operator.active,
        )


class TierIn(_Strict):
    above_minor: int = Field(ge=0, le=MAX_AMOUNT_MINOR)
    approvers: int = Field(ge=1, le=10)

    def to_tier(self) -> ApprovalTier:
        return ApprovalTier(above_minor=self.above_minor, approvers=self.approvers)


class BusinessHoursIn(_Strict):
    timezone: str = Field(default="Asia/Shanghai", min_length=1, max_length=64)
    opens_at: time = time(8, 0)
    closes_at: time = time(20, 0)
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1, max_length=7)

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset; the zone is timezone")
        return value

    def to_hours(self) -> BusinessHours:
        try:
            return BusinessHours(
                timezone=self.timezone,
                opens_at=self.opens_at,
                closes_at=self.closes_at,
                weekdays=frozenset(self.weekdays),
            )
        except OSError as exc:
            # A directory of the zone database ("America") is an OSError, not ZoneInfoNotFoundError.
            raise ValidationError("unknown time zone", field="timezone") from exc


class MandateIn(_Strict):
    """The customer's next mandate version (what its board signed with the bank)."""

    currency: str = Field(default="CNY", min_length=3, max_length=3)
    tiers: list[TierIn] = Field(max_length=20)
    allow_listed_payees_above_minor: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_MINOR)
    allowed_payee_ids: list[str] = Field(default=[], max_length=10_000)
    business_hours: BusinessHoursIn = BusinessHoursIn()
    after_hours: Literal["extra_approver", "hold"] = "extra_approver"
    after_hours_above_minor: int = Field(default=0, ge=0, le=MAX_AMOUNT_MINOR)
    approval_window_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)

    @property
    def approval_window(self) -> timedelta:
        return timedelta(seconds=self.approval_window_seconds)


class MandateOut(BaseModel):
    customer_id: str
    version: int
    currency: str
    tiers: list[dict[str, int]]
    allow_listed_payees_above_minor: int | None
    allowed_payee_ids: list[str]
    business_hours: str
    after_hours: str
    after_hours_above_minor: int
    approval_window_seconds: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, mandate: Mandate) -> MandateOut:
        return cls(
            customer_id=mandate.customer_id,
            version=mandate.version,
            currency=mandate.currency,
            tiers=[{"above_minor": t.above_minor, "approvers": t.approvers} for t in mandate.tiers],
            allow_listed_payees_above_minor=mandate.allow_listed_payees_above_minor,
            allowed_payee_ids=sorted(mandate.allowed_payee_ids),
            business_hours=mandate.business_hours.describe(),
            after_hours=mandate.after_hours,
            after_hours_above_minor=mandate.after_hours_above_minor,
            approval_window_seconds=int(mandate.approval_window.total_seconds()),
            created_at=mandate.created_at,
            created_by=mandate.created_by,
        )


class PaymentIn(_Strict):
    """A payment the initiating operator (``operator_id``) submits under the mandate."""

    operator_id: str = Identifier
    account_id: str = Identifier
    payee_id: str = Identifier
    amount_minor: int = Amount
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    decision_id: str | None = OptionalIdentifier
    payment_id: str | None = OptionalIdentifier


class ApprovalIn(_Strict):
    operator_id: str = Identifier


class RejectionIn(_Strict):
    operator_id: str = Identifier
    reason: str = Field(min_length=1, max_length=500)


class PaymentOut(BaseModel):
    id: str
    customer_id: str
    account_id: str
    payee_id: str
    amount_minor: int
    currency: str
    initiator_id: str
    status: Literal["pending_approval", "released", "rejected", "expired", "declined"]
    approver_ids: list[str]
    required_approvers: int
    reasons: list[str]
    decision_id: str | None
    mandate_version: int
    created_at: datetime
    expires_at: datetime
    hold_ends_at: datetime | None
    decided_at: datetime | None
    rejection_reason: str | None

    @classmethod
    def of(cls, payment: CorporatePayment) -> PaymentOut:
        return cls(
            id=payment.id,
            customer_id=payment.customer_id,
            account_id=payment.account_id,
            payee_id=payment.payee_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            initiator_id=payment.initiator_id,
            status=payment.status.value,
            approver_ids=[approval.operator_id for approval in payment.approvals],
            required_approvers=payment.required_approvers,
            reasons=list(payment.reasons),
            decision_id=payment.decision_id,
            mandate_version=payment.mandate_version,
            created_at=payment.created_at,
            expires_at=payment.expires_at,
            hold_ends_at=payment.hold_ends_at,
            decided_at=payment.decided_at,
            rejection_reason=payment.rejection_reason,
        )
