"""Strict request bodies of the five event endpoints, and the decision they get back.

Unknown fields are refused (a typo in a field name must not silently drop a signal), every string
is bounded, and times must carry a zone. Each schema turns itself into the engine's
:class:`~tenure.protection.events.Event`.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tenure.protection.events import Event, EventKind

__all__ = [
    "EVENT_SCHEMAS",
    "CardPaymentIn",
    "CostOut",
    "DecisionOut",
    "EventIn",
    "LoginIn",
    "PayeeAddIn",
    "ProfileChangeIn",
    "ReasonOut",
    "TransferIn",
]

Identifier = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")
Channel = Literal["mobile", "web", "branch", "atm", "pos", "phone", "api", "batch"]
Currency = Literal["CNY", "USD", "EUR", "HKD", "GBP", "JPY"]
MAX_AMOUNT_MINOR = 10**15


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Identifier
    customer_id: str = Identifier
    occurred_at: AwareDatetime
    channel: Channel | None = None
    device_id: str | None = Field(default=None, min_length=1, max_length=128)
    ip: str | None = Field(default=None, max_length=45)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("ip")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError as exc:
            raise ValueError("not an IPv4 or IPv6 address") from exc

    def to_event(self, kind: EventKind) -> Event:
        """The engine's event (pydantic has checked every field)."""
        data: dict[str, Any] = self.model_dump()
        return Event(kind=kind, **data)


class LoginIn(EventIn):
    """A login attempt (successful or not)."""

    success: bool
    auth_method: Literal["password", "sms_otp", "totp", "biometric", "none"] | None = None


class TransferIn(EventIn):
    """A transfer out of the customer's account."""

    account_id: str = Identifier
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT_MINOR)
    currency: Currency = "CNY"
    # a one-off transfer to a beneficiary the customer never saved has no payee id
    payee_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The saved payee paid; leave out for a one-off beneficiary.",
    )
    counterparty_bank: str | None = Field(default=None, min_length=1, max_length=64)
    operator_id: str | None = Field(default=None, min_length=1, max_length=64)


class CardPaymentIn(EventIn):
    """A card payment at a merchant."""

    account_id: str = Identifier
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT_MINOR)
    currency: Currency = "CNY"
    merchant_category: str | None = Field(default=None, min_length=1, max_length=64)


class PayeeAddIn(EventIn):
    """A new payee added to the customer's list."""

    payee_id: str = Identifier
    counterparty_bank: str | None = Field(default=None, min_length=1, max_length=64)


class ProfileChangeIn(EventIn):
    """A change to contact details, security settings or payee details."""

    changed_field: Literal[
        "phone", "email", "password", "address", "device_binding", "transfer_limit",
        "payee_details",
    ]  # fmt: skip
    payee_id: str | None = Field(default=None, min_length=1, max_length=64)


EVENT_SCHEMAS: dict[EventKind, type[EventIn]] = {
    EventKind.LOGIN: LoginIn,
    EventKind.TRANSFER: TransferIn,
    EventKind.CARD_PAYMENT: CardPaymentIn,
    EventKind.PAYEE_ADD: PayeeAddIn,
    EventKind.PROFILE_CHANGE: ProfileChangeIn,
}


class ReasonOut(BaseModel):
    """Why the engine answered as it did."""

    source: Literal["rule", "model", "list", "limit", "mandate"]
    code: str
    text: str


class CostOut(BaseModel):
    """One action's expected cost, in minor units."""

    action: str
    total_minor: float
    fraud_minor: float
    friction_minor: float
    handling_minor: float


class DecisionOut(BaseModel):
    """The engine's answer (documentation of the response body)."""

    decision_id: str
    idempotency_key: str
    event_kind: str
    event_id: str
    customer_id: str
    outcome: Literal["allow", "step_up", "confirm", "dual_approval", "hold", "decline"]
    risk: float = Field(description="Calibrated probability that the event is fraud.")
    model_risk: float | None
    rule_score: float
    reasons: list[ReasonOut]
    costs: list[CostOut] = Field(description="Expected cost of each action, cheapest first.")
    decided_at: str
    policy: str
    ruleset: str | None
    model_version: str | None
    flags: list[str] = Field(description="e.g. unknown_customer (decided on defaults).")
    shadow: list[dict[str, Any]]
    replayed: bool = Field(description="True when this is the stored answer to a retry.")
