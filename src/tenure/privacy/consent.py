"""The consent ledger: what each customer agreed to, per purpose and channel, and every change.

A customer gives or withdraws consent for one *purpose* (:class:`Purpose`: marketing, profiling,
third-party sharing) on one *channel* (:class:`Channel`: SMS, e-mail, phone, app push). Each change
is one :class:`ConsentEvent`, appended to the ledger and never edited or deleted, so the history
shows what was allowed at any moment and who recorded it (PIPL art. 13-15: consent must be
provable, and withdrawing it as easy as giving it). The codes are those of the canonical
``consents`` table (``tenure.data.model``), so ingested rows map one to one; a warehouse row's
``status`` ``given`` / ``withdrawn`` is ``granted`` True / False.

The decision rule, applied by :class:`ConsentService` and by every ledger adapter:

- the *deciding event* for (customer, purpose, channel) at a moment is the latest event at or
  before it: latest ``at``, then latest ``recorded_at``, and on a full tie a withdrawal wins;
- contact is allowed only when that event is a grant. No event means no consent, so no contact
  (default deny).

:class:`ConsentLedger` is the port (``tenure.adapters.sql.consent.SqlConsentLedger`` implements it);
:class:`MemoryConsentLedger` is its in-memory test double. Errors name customer ids, never
personal data::

    ValidationError   a naive timestamp, an unknown purpose or channel code, a blank actor
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from tenure.core.clock import Clock
from tenure.core.errors import ValidationError
from tenure.privacy.audit import AuditSink

__all__ = [
    "CANONICAL_STATUS",
    "Channel",
    "ConsentDecision",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentService",
    "ConsentSource",
    "ConsentState",
    "MemoryConsentLedger",
    "Purpose",
    "customer_subject",
    "deciding_event",
    "event_order",
    "new_event_id",
]


class Purpose(StrEnum):
    """What a customer's data or contact may be used for (canonical ``consents.purpose``)."""

    MARKETING = "marketing"
    PROFILING = "profiling"
    THIRD_PARTY_SHARING = "third_party_sharing"


class Channel(StrEnum):
    """How a customer may be contacted (canonical ``consents.channel``)."""

    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"
    APP_PUSH = "app_push"


class ConsentSource(StrEnum):
    """Where a consent change came from."""

    INGEST = "ingest"  # the bank's extract (the warehouse ``consents`` table)
    API = "api"  # a channel (app, web) calling the API for the customer
    AGENT = "agent"  # staff recording what the customer said (branch, call centre)
    ERASURE = "erasure"  # withdrawn by an erasure request


# The canonical table's ``status`` codes, as the ledger's ``granted`` flag.
CANONICAL_STATUS: Mapping[str, bool] = {"given": True, "withdrawn": False}


def _utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError("consent timestamps must be timezone-aware", field=name)
    return at.astimezone(UTC)


def new_event_id() -> str:
    """A fresh event id (uuid4 hex)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One grant or withdrawal, as recorded; ``consent_id`` is the warehouse row it came from."""

    event_id: str
    customer_id: str
    purpose: Purpose
    channel: Channel
    granted: bool
    at: datetime
    source: ConsentSource
    actor: str
    recorded_at: datetime
    note: str | None = None
    consent_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _utc(self.at, "at"))
        object.__setattr__(self, "recorded_at", _utc(self.recorded_at, "recorded_at"))
        if not self.customer_id.strip():
            raise ValidationError("a consent event needs a customer", field="customer_id")
        if not self.actor.strip():
            raise ValidationError("a consent event needs an actor", field="actor")

    @property
    def action(self) -> str:
        """``given`` or ``withdrawn`` (the canonical table's words)."""
        return "given" if self.granted else "withdrawn"


def event_order(event: ConsentEvent) -> tuple[datetime, datetime, bool, str]:
    """Sort key: later ``at``, then later ``recorded_at``; on a tie a withdrawal sorts last."""
    return (event.at, event.recorded_at, not event.granted, event.event_id)


def deciding_event(events: Iterable[ConsentEvent], at: datetime) -> ConsentEvent | None:
    """The event that decides at ``at`` among one purpose and channel's events, if any."""
    moment = _utc(at, "at")
    candidates = [event for event in events if event.at <= moment]
    return max(candidates, key=event_order, default=None)


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """Whether a customer may be contacted for a purpose on a channel, and why."""

    customer_id: str
    purpose: Purpose
    channel: Channel
    allowed: bool
    reason: str
    event_id: str | None = None

    @classmethod
    def of(
        cls, customer_id: str, purpose: Purpose, channel: Channel, event: ConsentEvent | None
    ) -> ConsentDecision:
        """The decision ``event`` (the deciding one, or None) makes."""
        if event is None:
            reason = f"no consent recorded for {purpose.value} by {channel.value}: no contact"
            return cls(customer_id, purpose, channel, False, reason)
        when = event.at.isoformat()
        reason = f"consent {event.action} at {when} (event {event.event_id}, {event.source.value})"
        return cls(customer_id, purpose, channel, event.granted, reason, event.event_id)


@dataclass(frozen=True, slots=True)
class ConsentState:
    """One purpose and channel's current state for a customer, with the event that set it."""

    purpose: Purpose
    channel: Channel
    granted: bool
    event: ConsentEvent | None = field(default=None)


class ConsentLedger(Protocol):
    """Where consent events are kept, append-only; implemented on SQLite / PostgreSQL."""

    def append(self, events: Iterable[ConsentEvent]) -> int:
        """Store each event; one whose ``consent_id`` or ``event_id`` is stored already is
        skipped. Returns how many were added."""
        ...

    def history(self, customer_id: str) -> list[ConsentEvent]:
        """Every event of one customer, oldest first (``event_order``)."""
        ...

    def deciding(
        self, customer_ids: Sequence[str], purpose: Purpose, channel: Channel, at: datetime
    ) -> dict[str, ConsentEvent]:
        """The deciding event at ``at`` of each customer that has one (see the module doc)."""
        ...

    def withdrawn(self, purpose: Purpose, at: datetime) -> frozenset[str]:
        """Customers whose last word on ``purpose`` at ``at``, on whichever channel, was a
        withdrawal. For a purpose that is not about contact (``profiling``) the channel does not
        matter: a customer who withdrew it anywhere and has not granted it again since refused it.
        """
        ...

    def count(self) -> int:
        """Events held."""
        ...


class MemoryConsentLedger:
    """The consent ledger in a list: the test double of the SQL ledger."""

    def __init__(self) -> None:
        self._events: list[ConsentEvent] = []
        self._ids: set[str] = set()
        self._consent_ids: set[str] = set()

    def append(self, events: Iterable[ConsentEvent]) -> int:
        """Store each event not stored already."""
        added = 0
        for event in events:
            if event.event_id in self._ids or event.consent_id in self._consent_ids:
                continue
            self._events.append(event)
            self._ids.add(event.event_id)
            if event.consent_id is not None:
                self._consent_ids.add(event.consent_id)
            added += 1
        return added

    def history(self, customer_id: str) -> list[ConsentEvent]:
        """Every event of one customer, oldest first."""
        return sorted((e for e in self._events if e.customer_id == customer_id), key=event_order)

    def deciding(
        self, customer_ids: Sequence[str], purpose: Purpose, channel: Channel, at: datetime
    ) -> dict[str, ConsentEvent]:
        """The deciding event at ``at`` of each customer that has one."""
        wanted = set(customer_ids)
        found: dict[str, ConsentEvent] = {}
        for customer_id in wanted:
            events = (
                e
                for e in self._events
                if e.customer_id == customer_id and e.purpose is purpose and e.channel is channel
            )
            event = deciding_event(events, at)
            if event is not None:
                found[customer_id] = event
        return found

    def withdrawn(self, purpose: Purpose, at: datetime) -> frozenset[str]:
        """Customers whose last word on ``purpose`` at ``at`` was a withdrawal."""
        by_customer: dict[str, list[ConsentEvent]] = {}
        for event in self._events:
            if event.purpose is purpose:
                by_customer.setdefault(event.customer_id, []).append(event)
        return frozenset(
            customer_id
            for customer_id, events in by_customer.items()
            if (word := deciding_event(events, at)) is not None and not word.granted
        )

    def count(self) -> int:
        """Events held."""
        return len(self._events)


def customer_subject(customer_id: str) -> str:
    """The audit subject naming a customer."""
    return f"customer:{customer_id}"


class ConsentService:
    """Checks and records consent; decisioning calls :meth:`may_contact` before any contact."""

    def __init__(self, ledger: ConsentLedger, *, clock: Clock, audit: AuditSink) -> None:
        self.ledger = ledger
        self.clock = clock
        self.audit = audit

    def may_contact(
        self, customer_id: str, purpose: Purpose, channel: Channel, at: datetime | None = None
    ) -> ConsentDecision:
        """Whether ``customer_id`` may be contacted for ``purpose`` on ``channel`` at ``at``
        (now when omitted); denied when nothing was recorded."""
        moment = self.clock.now() if at is None else at
        found = self.ledger.deciding([customer_id], purpose, channel, moment)
        return ConsentDecision.of(customer_id, purpose, channel, found.get(customer_id))

    def allowed_customers(
        self,
        customer_ids: Iterable[str],
        purpose: Purpose,
        channel: Channel,
        at: datetime | None = None,
    ) -> list[str]:
        """The customers among ``customer_ids`` that may be contacted, in the order given."""
        ids = list(dict.fromkeys(customer_ids))
        moment = self.clock.now() if at is None else at
        found = self.ledger.deciding(ids, purpose, channel, moment)
        return [cid for cid in ids if (event := found.get(cid)) is not None and event.granted]

    def record(
        self,
        *,
        customer_id: str,
        purpose: Purpose,
        channel: Channel,
        granted: bool,
        source: ConsentSource,
        actor: str,
        at: datetime | None = None,
        note: str | None = None,
    ) -> ConsentEvent:
        """Append one grant or withdrawal (at ``at``, default now) and audit it."""
        now = self.clock.now()
        event = ConsentEvent(
            event_id=new_event_id(),
            customer_id=customer_id,
            purpose=purpose,
            channel=channel,
            granted=granted,
            at=now if at is None else at,
            source=source,
            actor=actor,
            recorded_at=now,
            note=note,
        )
        if event.at > event.recorded_at:
            raise ValidationError("a consent change cannot be recorded ahead of time", field="at")
        self.ledger.append([event])
        self.audit.record(
            actor=actor,
            action=f"consent.{event.action}",
            subject=customer_subject(customer_id),
            details={
                "event_id": event.event_id,
                "purpose": purpose.value,
                "channel": channel.value,
                "source": source.value,
                "at": event.at,
            },
            at=now,
        )
        return event

    def withdraw_all(
        self, *, customer_id: str, source: ConsentSource, actor: str, note: str | None = None
    ) -> list[ConsentEvent]:
        """Withdraw every consent the customer holds now (one event each), audited once."""
        now = self.clock.now()
        events = [
            ConsentEvent(
                event_id=new_event_id(),
                customer_id=customer_id,
                purpose=state.purpose,
                channel=state.channel,
                granted=False,
                at=now,
                source=source,
                actor=actor,
                recorded_at=now,
                note=note,
            )
            for state in self.current(customer_id, now)
            if state.granted
        ]
        self.ledger.append(events)
        self.audit.record(
            actor=actor,
            action="consent.withdrawn_all",
            subject=customer_subject(customer_id),
            details={
                "source": source.value,
                "withdrawn": [f"{e.purpose.value}/{e.channel.value}" for e in events],
            },
            at=now,
        )
        return events

    def history(self, customer_id: str) -> list[ConsentEvent]:
        """Every consent event of one customer, oldest first."""
        return self.ledger.history(customer_id)

    def current(self, customer_id: str, at: datetime | None = None) -> list[ConsentState]:
        """The state of every purpose x channel now (or at ``at``); unrecorded ones are denied."""
        moment = self.clock.now() if at is None else at
        history = self.ledger.history(customer_id)
        states = []
        for purpose in Purpose:
            for channel in Channel:
                events = (e for e in history if e.purpose is purpose and e.channel is channel)
                event = deciding_event(events, moment)
                granted = event is not None and event.granted
                states.append(ConsentState(purpose, channel, granted, event))
        return states
