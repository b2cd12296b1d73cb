"""The events a bank's channels send for a decision, as one frozen value.

Five kinds reach the engine: ``login``, ``transfer``, ``payee_add``, ``profile_change`` and
``card_payment``. One dataclass carries them all (fields a kind does not use stay ``None``), so that
the live API, the warehouse replay and model training hand the engine the very same thing. The API
validates its JSON into an :class:`Event`; :func:`history_sql` in ``history`` builds the same values
from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tenure.core.errors import ValidationError

__all__ = ["MONEY_KINDS", "Event", "EventKind"]


class EventKind(StrEnum):
    """What happened at the channel."""

    LOGIN = "login"
    TRANSFER = "transfer"
    PAYEE_ADD = "payee_add"
    PROFILE_CHANGE = "profile_change"
    CARD_PAYMENT = "card_payment"


# kinds that move money now: their decisions are durable before the answer leaves
MONEY_KINDS = frozenset({EventKind.TRANSFER, EventKind.CARD_PAYMENT})


@dataclass(frozen=True, slots=True)
class Event:
    """One channel event. Money is integer minor units; ``occurred_at`` is timezone-aware UTC."""

    kind: EventKind
    event_id: str
    customer_id: str
    occurred_at: datetime
    channel: str | None = None
    device_id: str | None = None
    ip: str | None = None
    lat: float | None = None
    lon: float | None = None
    account_id: str | None = None
    amount_minor: int = 0
    currency: str = "CNY"
    payee_id: str | None = None
    counterparty_bank: str | None = None
    merchant_category: str | None = None
    success: bool | None = None
    auth_method: str | None = None
    changed_field: str | None = None
    operator_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValidationError("must be timezone-aware", field="occurred_at")
        if self.amount_minor < 0:
            raise ValidationError("must not be negative", field="amount_minor")
        if self.kind in MONEY_KINDS and self.amount_minor <= 0:
            raise ValidationError(f"a {self.kind.value} needs an amount", field="amount_minor")
        if (self.lat is None) != (self.lon is None):
            raise ValidationError("lat and lon come together", field="lat")

    @property
    def at(self) -> float:
        """``occurred_at`` as epoch seconds (what the keyed state counts in)."""
        return self.occurred_at.timestamp()

    @property
    def place(self) -> tuple[float, float] | None:
        """(lat, lon) when the channel knows where the customer is."""
        if self.lat is None or self.lon is None:
            return None
        return (self.lat, self.lon)
