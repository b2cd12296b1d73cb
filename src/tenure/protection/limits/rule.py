"""Customer limits in the decision engine: a hard rule, and the cache of stored limits it reads.

:class:`LimitRule` checks every money event against the products whose ``event_kind`` is the
event's kind: a cumulative limit (``transfer_daily``) against the money that went through in the
last 24 hours plus this amount, a per-amount limit (``single_transfer``) against the amount alone.
An exceeded limit sets a floor of the policy's outcome for that product (``decline`` unless
configured) with one ``limit`` reason per exceeded product; the engine's policy then cannot pick
anything weaker.

What went through is the ``customer.spent_24h`` signal: the amounts of the customer's earlier
events of the same kind that were not declined, over the keyed state's rolling 24 hours (see
``tenure.protection.signals``). A customer's own limit comes from :class:`CachedLimits`, the
stored limits held in memory and reloaded at most every ``ttl`` seconds, because a store read on
every decision would cost more than the whole decision; a product without a stored limit uses the
policy default. After a change, ``refresh()`` makes it act at once in this process; other
processes see it at their next reload.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from tenure.core.clock import Clock
from tenure.core.money import format_minor_units
from tenure.core.outcome import Outcome
from tenure.protection.decision import Reason
from tenure.protection.engine import Floor
from tenure.protection.events import Event
from tenure.protection.limits.model import Limit, LimitCheck, LimitPolicy, ProductLimit
from tenure.protection.limits.ports import LimitUnitOfWork
from tenure.protection.limits.service import assess_limit
from tenure.protection.reloading import DEFAULT_TTL_SECONDS, Reloading
from tenure.protection.signals import SPENT_24H, Signals

__all__ = ["CachedLimits", "LimitRule", "StoredLimits"]

_NONE_STORED: Mapping[str, Limit] = MappingProxyType({})


class StoredLimits(Protocol):
    """The limits customers or staff stored, by product, for one customer (none: {})."""

    def for_customer(self, customer_id: str) -> Mapping[str, Limit]: ...


class CachedLimits:
    """Every stored limit in memory, reloaded from the store at most every ``ttl`` seconds."""

    def __init__(
        self,
        uow: Callable[[], LimitUnitOfWork],
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._uow = uow
        self._stored = Reloading(self._load, clock=clock, ttl=ttl)

    def _load(self, now: datetime) -> dict[str, dict[str, Limit]]:
        with self._uow() as uow:
            stored = uow.limits.list_all()
        by_customer: dict[str, dict[str, Limit]] = {}
        for limit in stored:
            by_customer.setdefault(limit.customer_id, {})[limit.product] = limit
        return by_customer

    def refresh(self) -> None:
        """Reload every stored limit now (after a change through the API)."""
        self._stored.refresh()

    def for_customer(self, customer_id: str) -> Mapping[str, Limit]:
        """The customer's stored limits by product, as of the last reload."""
        return self._stored.current().get(customer_id, _NONE_STORED)


class LimitRule:
    """A hard rule (``tenure.protection.engine.HardRule``): no money event over a limit passes."""

    def __init__(self, limits: StoredLimits, *, policy: LimitPolicy | None = None) -> None:
        self.limits = limits
        self.policy = policy if policy is not None else LimitPolicy()
        products: dict[str, list[tuple[str, ProductLimit]]] = {}
        for product, rule in sorted(self.policy.products.items()):
            if rule.event_kind is not None:
                products.setdefault(rule.event_kind, []).append((product, rule))
        # event kind -> the products that limit it, looked up once per decision
        self._products = {kind: tuple(found) for kind, found in products.items()}

    def floor(self, event: Event, signals: Signals, at: datetime) -> Floor | None:
        """The policy's outcome with a reason per exceeded limit; None within every limit."""
        products = self._products.get(event.kind.value)
        amount = event.amount_minor
        if products is None or amount <= 0:
            return None
        stored = self.limits.for_customer(event.customer_id)
        spent = _spent(signals)
        outcome = Outcome.ALLOW
        reasons: list[Reason] = []
        for product, rule in products:
            limit = stored.get(product)
            ceiling = rule.default_minor if limit is None else limit.amount_minor
            # the usual case, within the limit, builds nothing; assess_limit has the last word
            if (amount + spent if rule.cumulative else amount) <= ceiling:
                continue
            check = assess_limit(
                limit or self._default(event.customer_id, product),
                amount_minor=amount,
                spent_in_window_minor=spent,
                policy=self.policy,
            )
            if check.exceeded:
                outcome = max(outcome, check.forced_outcome)
                reasons.append(Reason("limit", product, self._explain(check)))
        return Floor(outcome, tuple(reasons)) if reasons else None

    def _default(self, customer_id: str, product: str) -> Limit:
        default = self.policy.products[product].default_minor
        return Limit(customer_id, product, default, self.policy.currency)

    def _explain(self, check: LimitCheck) -> str:
        limit = check.limit
        currency = self.policy.currency
        head = (
            f"over the {limit.product} limit of {_money(limit.amount_minor, currency)} "
            f"by {_money(check.exceeded_by_minor, currency)}"
        )
        amount = _money(check.amount_minor, currency)
        if not self.policy.products[limit.product].cumulative:
            return f"{head}: {amount} in one payment"
        already = _money(check.spent_in_window_minor, currency)
        return f"{head}: {already} already went through in the last 24 hours, and {amount} now"


def _spent(signals: Signals) -> int:
    """The spending signal as minor units; 0 when the engine could not compute it."""
    value = signals.get(SPENT_24H)
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return int(value)
    return 0


def _money(minor: int, currency: str) -> str:
    """Whole units, except that a few cents over a limit is not shown as 0."""
    if 0 < minor < 50:
        return f"less than 1 {currency}"
    return format_minor_units(minor, currency)
