"""Limit values: a customer's limit per product, the policy behind the defaults, checks, changes.

Amounts are integer minor units (fen for CNY) in the policy's currency.

>>> policy = LimitPolicy()
>>> policy.product("transfer_daily").default_minor
200000000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.events import MONEY_KINDS, EventKind

__all__ = [
    "DEFAULT_PRODUCTS",
    "Actor",
    "ActorKind",
    "Limit",
    "LimitChange",
    "LimitCheck",
    "LimitPolicy",
    "ProductLimit",
]

ActorKind = Literal["customer", "staff"]
# event kinds a limit may apply to: the ones that move money (and so carry an amount)
_LIMITED_KINDS = frozenset(kind.value for kind in MONEY_KINDS)


@dataclass(frozen=True, slots=True)
class ProductLimit:
    """One product's rule: the default, the most anyone may set, and how spending adds up.

    A ``cumulative`` limit caps the spending in its window plus the new amount (a daily limit);
    otherwise it caps each amount on its own (a single-transfer limit). ``exceeded_outcome``
    overrides the policy's for this product. ``event_kind`` is the kind of event the decision
    engine checks against this limit (``transfer`` or ``card_payment``); a product without one is
    kept and changed like any other but never stops an event.

    >>> ProductLimit(default_minor=100, maximum_minor=1_000, event_kind="login")
    Traceback (most recent call last):
    ...
    tenure.core.errors.ConfigurationError: a product limits a money event: card_payment, transfer
    """

    default_minor: int
    maximum_minor: int
    cumulative: bool = True
    exceeded_outcome: Outcome | None = None
    event_kind: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.default_minor <= self.maximum_minor:
            raise ConfigurationError(
                "a product limit needs 0 <= default <= maximum", field="default_minor"
            )
        if self.event_kind is not None and self.event_kind not in _LIMITED_KINDS:
            raise ConfigurationError(
                f"a product limits a money event: {', '.join(sorted(_LIMITED_KINDS))}",
                field="event_kind",
            )


# Defaults sized to the simulated bank, whose customers include firms and wealthy households (a
# transfer's median is 12,000 CNY and its 99th percentile 500,000 CNY): about 0.2 % of its
# transfers meet a default limit. A bank sets its own per product; staff raise a customer's up to
# the maximum, and a customer raises their own after a step-up.
DEFAULT_PRODUCTS: Mapping[str, ProductLimit] = MappingProxyType(
    {
        "transfer_daily": ProductLimit(
            default_minor=200_000_000,  # 2,000,000 CNY in any 24 hours
            maximum_minor=4_000_000_000,
            event_kind=EventKind.TRANSFER.value,
        ),
        "single_transfer": ProductLimit(
            default_minor=100_000_000,  # 1,000,000 CNY a transfer
            maximum_minor=2_500_000_000,
            cumulative=False,
            event_kind=EventKind.TRANSFER.value,
        ),
        "card_payment_daily": ProductLimit(
            default_minor=10_000_000,  # 100,000 CNY of card payments in any 24 hours
            maximum_minor=100_000_000,
            event_kind=EventKind.CARD_PAYMENT.value,
        ),
    }
)


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """Products and their defaults, what an exceeded limit forces, and the step-up rule."""

    products: Mapping[str, ProductLimit] = field(
        default_factory=lambda: DEFAULT_PRODUCTS, hash=False
    )
    currency: str = "CNY"
    exceeded_outcome: Outcome = Outcome.DECLINE
    step_up_window: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if not self.products:
            raise ConfigurationError("a limit policy needs at least one product", field="products")
        if self.step_up_window <= timedelta(0):
            raise ConfigurationError("the step-up window must be positive", field="step_up_window")
        object.__setattr__(self, "products", MappingProxyType(dict(self.products)))

    def product(self, product: str) -> ProductLimit:
        """The rule for ``product``, or ``ValidationError(field="product")`` if unknown."""
        rule = self.products.get(product)
        if rule is None:
            raise ValidationError("unknown limit product", field="product")
        return rule

    def outcome_for(self, product: str) -> Outcome:
        """What exceeding ``product``'s limit forces."""
        return self.product(product).exceeded_outcome or self.exceeded_outcome


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes a limit: the customer themself, or a member of bank staff."""

    id: str
    kind: ActorKind


@dataclass(frozen=True, slots=True)
class Limit:
    """A customer's limit for one product; ``updated_by`` is ``None`` for the policy default."""

    customer_id: str
    product: str
    amount_minor: int
    currency: str
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def is_default(self) -> bool:
        """Whether this is the policy default rather than a stored limit."""
        return self.updated_by is None


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """Whether an amount fits a limit, and the outcome the engine must force at least.

    ``forced_outcome`` is ``allow`` (forces nothing) within the limit, so it can go straight into
    ``tenure.core.outcome.strongest`` with the engine's other minimums.
    """

    limit: Limit
    amount_minor: int
    spent_in_window_minor: int
    exceeded_by_minor: int
    forced_outcome: Outcome

    @property
    def exceeded(self) -> bool:
        """Whether the amount goes over the limit."""
        return self.exceeded_by_minor > 0


@dataclass(frozen=True, slots=True)
class LimitChange:
    """An auditable record of one limit change: who, when, from what, to what."""

    customer_id: str
    product: str
    old_amount_minor: int
    new_amount_minor: int
    currency: str
    actor: Actor
    changed_at: datetime
    step_up_verified_at: datetime | None = None

    @property
    def raised(self) -> bool:
        """Whether the change made the limit higher."""
        return self.new_amount_minor > self.old_amount_minor
