"""Corporate mandates in the decision engine: a hard rule, and the cache of mandates it reads.

:class:`MandateRule` sets the floor a corporate customer's mandate forces on a transfer, through
the same ``mandate_outcome`` the approval queue applies (``payments.submit_payment``): a payee or
currency the mandate does not allow -> ``decline``, held until business hours -> ``hold``,
approvers needed -> ``dual_approval``. The floor carries one ``mandate`` reason whose code is that
outcome and whose text gives the mandate's reasons and version. A channel that gets
``dual_approval`` (or ``hold``) submits the payment to the customer's approval queue
(``POST /v1/corporate/{customer_id}/payments``), which waits for the approvers.

Mandates cover transfers only; a card payment, a login or a customer without a mandate meets no
mandate. The current mandates come from :class:`CachedMandates`, every customer's current version
held in memory and reloaded at most every ``ttl`` seconds, because a store read on every decision
would cost more than the whole decision. After a publish, ``refresh()`` makes it act at once in
this process; other processes see it at their next reload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from tenure.core.clock import Clock
from tenure.core.outcome import Outcome
from tenure.protection.corporate.evaluation import mandate_outcome
from tenure.protection.corporate.model import Mandate, PaymentRequest
from tenure.protection.corporate.ports import CorporateUnitOfWork
from tenure.protection.decision import Reason
from tenure.protection.engine import Floor
from tenure.protection.events import Event, EventKind
from tenure.protection.reloading import DEFAULT_TTL_SECONDS, Reloading
from tenure.protection.signals import Signals

__all__ = ["CachedMandates", "CurrentMandates", "MandateRule"]

# A one-off beneficiary has no payee id, so it cannot be on a mandate's allow list.
_UNSAVED_PAYEE = ""


class CurrentMandates(Protocol):
    """The mandate in force for one customer (None: the customer has none)."""

    def current(self, customer_id: str) -> Mandate | None: ...


class CachedMandates:
    """Every customer's current mandate in memory, reloaded at most every ``ttl`` seconds."""

    def __init__(
        self,
        uow: Callable[[], CorporateUnitOfWork],
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._uow = uow
        self._current = Reloading(self._load, clock=clock, ttl=ttl)

    def _load(self, now: datetime) -> dict[str, Mandate]:
        with self._uow() as uow:
            return {mandate.customer_id: mandate for mandate in uow.mandates.list_current()}

    def refresh(self) -> None:
        """Reload every current mandate now (after a mandate is published through the API)."""
        self._current.refresh()

    def current(self, customer_id: str) -> Mandate | None:
        """The customer's mandate in force, as of the last reload."""
        return self._current.current().get(customer_id)


class MandateRule:
    """A hard rule (``tenure.protection.engine.HardRule``): a transfer gets what its mandate needs.

    A transfer without a payee id (a one-off beneficiary the customer never saved) is treated as
    a payment to a payee that is not allow-listed: above the mandate's allow-list threshold it is
    declined, as the approval queue would decline it; below, tiers and business hours apply as to
    any payee.
    """

    def __init__(self, mandates: CurrentMandates) -> None:
        self.mandates = mandates

    def floor(self, event: Event, signals: Signals, at: datetime) -> Floor | None:
        """The mandate's outcome with one ``mandate`` reason; None without a mandate or when the
        mandate allows the transfer as it is."""
        if event.kind is not EventKind.TRANSFER:
            return None
        mandate = self.mandates.current(event.customer_id)
        if mandate is None:
            return None
        terms = PaymentRequest(event.amount_minor, event.currency, event.payee_id or _UNSAVED_PAYEE)
        verdict = mandate_outcome(mandate, terms, at)
        if verdict.outcome is Outcome.ALLOW:
            return None
        text = f"{'; '.join(verdict.reasons)} (mandate version {verdict.mandate_version})"
        return Floor(verdict.outcome, (Reason("mandate", verdict.outcome.value, text),))
