"""Corporate values: operators, mandates, payments awaiting approval, and who acts.

A corporate customer's people are *operators*; what they may do is the mandate (a versioned set of
rules the bank records for the customer) plus each operator's roles and limits. Amounts are integer
minor units in the mandate's currency; every timestamp is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenure.core.errors import ValidationError

__all__ = [
    "Actor",
    "AfterHoursPolicy",
    "Approval",
    "ApprovalTier",
    "BusinessHours",
    "CorporatePayment",
    "Mandate",
    "Operator",
    "OperatorRole",
    "PaymentRequest",
    "PaymentStatus",
    "check_currency",
]

AfterHoursPolicy = Literal["extra_approver", "hold"]
ActorKind = Literal["operator", "staff", "system"]


class OperatorRole(StrEnum):
    """What an operator may do for their company."""

    INITIATOR = "initiator"
    APPROVER = "approver"
    ADMIN = "admin"


class PaymentStatus(StrEnum):
    """Where a corporate payment stands; every status but ``pending_approval`` is final."""

    PENDING_APPROVAL = "pending_approval"
    RELEASED = "released"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: one of the customer's operators, a bank staff member, or the system (sweeps).

    The entrypoint decides who is bank staff (a principal holding ``corporate:manage``); the
    domain trusts that and checks only what an operator may do.
    """

    kind: ActorKind
    id: str

    @classmethod
    def operator(cls, operator_id: str) -> Actor:
        return cls("operator", operator_id)

    @classmethod
    def staff(cls, subject: str) -> Actor:
        return cls("staff", subject)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")

    def __str__(self) -> str:
        return self.id if self.kind == "system" else f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Operator:
    """A person acting for a corporate customer; ``name_ref`` is opaque, never a name."""

    id: str
    customer_id: str
    name_ref: str
    roles: frozenset[OperatorRole]
    single_limit_minor: int
    daily_limit_minor: int
    active: bool = True

    def can(self, role: OperatorRole) -> bool:
        """Whether the operator is active and holds ``role``."""
        return self.active and role in self.roles


@dataclass(frozen=True, slots=True)
class ApprovalTier:
    """Payments above ``above_minor`` need at least ``approvers`` distinct approvers."""

    above_minor: int
    approvers: int

    def __post_init__(self) -> None:
        if self.above_minor < 0:
            raise ValidationError("a tier's threshold cannot be negative", field="above_minor")
        if self.approvers < 1:
            raise ValidationError("a tier needs at least one approver", field="approvers")


_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Local opening hours on the given weekdays (0 = Monday); closing time is exclusive."""

    timezone: str = "Asia/Shanghai"
    opens_at: time = time(8, 0)
    closes_at: time = time(20, 0)
    weekdays: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError("unknown time zone", field="timezone") from exc
        if self.opens_at >= self.closes_at:
            raise ValidationError("business hours must open before they close", field="closes_at")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValidationError("weekdays must be some of 0 (Mon) to 6 (Sun)", field="weekdays")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` falls inside business hours."""
        local = at.astimezone(self.zone)
        return local.weekday() in self.weekdays and self.opens_at <= local.time() < self.closes_at

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself inside business hours, else the next opening (as a UTC-aware datetime)."""
        if self.contains(at):
            return at
        local_day = at.astimezone(self.zone).date()
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            opening = datetime.combine(day, self.opens_at, tzinfo=self.zone)
            if day.weekday() in self.weekdays and opening > at:
                return opening.astimezone(UTC)
        raise AssertionError("a non-empty set of weekdays always opens within a week")

    def describe(self) -> str:
        """E.g. ``08:00-20:00 Asia/Shanghai, Mon-Fri``."""
        days = sorted(self.weekdays)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
            named = f"{_WEEKDAY_NAMES[days[0]]}-{_WEEKDAY_NAMES[days[-1]]}"
        else:
            named = ", ".join(_WEEKDAY_NAMES[day] for day in days)
        opens, closes = self.opens_at.strftime("%H:%M"), self.closes_at.strftime("%H:%M")
        return f"{opens}-{closes} {self.timezone}, {named}"


@dataclass(frozen=True, slots=True)
class Mandate:
    """One published version of a corporate customer's payment rules.

    ``tiers``: a payment above a tier's threshold needs that many distinct approvers (the most
    demanding tier that applies wins). Above ``allow_listed_payees_above_minor`` only payees in
    ``allowed_payee_ids`` may be paid. Outside ``business_hours``, payments above
    ``after_hours_above_minor`` need one extra approver (``extra_approver``) or wait, fully
    approved, for the next opening (``hold``). Payments wait ``approval_window`` for approvals,
    counted from submission or, for a held payment, from the end of the hold.
    """

    customer_id: str
    version: int
    currency: str
    tiers: tuple[ApprovalTier, ...]
    created_at: datetime
    created_by: str
    allow_listed_payees_above_minor: int | None = None
    allowed_payee_ids: frozenset[str] = frozenset()
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    after_hours: AfterHoursPolicy = "extra_approver"
    after_hours_above_minor: int = 0
    approval_window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValidationError("mandate versions start at 1", field="version")
        check_currency(self.currency)
        thresholds = [tier.above_minor for tier in self.tiers]
        if len(set(thresholds)) != len(thresholds):
            raise ValidationError("two tiers share a threshold", field="tiers")
        limit = self.allow_listed_payees_above_minor
        if limit is not None and limit < 0:
            raise ValidationError(
                "the allow-list threshold cannot be negative",
                field="allow_listed_payees_above_minor",
            )
        if self.after_hours not in ("extra_approver", "hold"):
            raise ValidationError("after_hours is extra_approver or hold", field="after_hours")
        if self.after_hours_above_minor < 0:
            raise ValidationError(
                "the after-hours threshold cannot be negative", field="after_hours_above_minor"
            )
        if self.approval_window <= timedelta(0):
            raise ValidationError("the approval window must be positive", field="approval_window")


def check_currency(currency: str) -> None:
    """Raise ``ValidationError`` unless ``currency`` looks like an ISO 4217 code (``CNY``)."""
    if not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
    ):
        raise ValidationError("currency must be a three-letter ISO code", field="currency")


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What the mandate looks at: how much, in what currency, to whom."""

    amount_minor: int
    currency: str
    payee_id: str


@dataclass(frozen=True, slots=True)
class Approval:
    """One operator's approval of a payment."""

    operator_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CorporatePayment:
    """A corporate transfer and its approvals.

    ``required_approvers``, ``reasons``, ``expires_at`` and ``hold_ends_at`` are fixed at submission
    from ``mandate_version``; a later mandate does not change a payment already waiting.
    ``hold_ends_at`` is set when the mandate holds after-hours payments: the payment is not
    released before then, even when fully approved.
    """

    id: str
    customer_id: str
    account_id: str
    payee_id: str
    amount_minor: int
    currency: str
    initiator_id: str
    created_at: datetime
    status: PaymentStatus
    approvals: tuple[Approval, ...]
    required_approvers: int
    reasons: tuple[str, ...]
    decision_id: str | None
    mandate_version: int
    expires_at: datetime
    hold_ends_at: datetime | None = None
    decided_at: datetime | None = None
    rejection_reason: str | None = None

    @property
    def approver_ids(self) -> frozenset[str]:
        return frozenset(approval.operator_id for approval in self.approvals)

    @property
    def fully_approved(self) -> bool:
        return len(self.approver_ids) >= self.required_approvers
