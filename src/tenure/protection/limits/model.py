"""Limit values: a customer's limit per product, the policy behind the defaults, checks, changes.

Amounts are integer minor units (fen for CNY) in the policy's currency.

>>> policy = LimitPolicy()
>>> policy.product("transfer_daily").default_minor
5000000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.core.outcome import Outcome

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


@dataclass(frozen=True, slots=True)
class ProductLimit:
    """One product's rule: the default, the most anyone may set, and how spending adds up.

    A ``cumulative`` limit caps the spending in its window plus the new amount (a daily limit);
    otherwise it caps each amount on its own (a single-transfer limit). ``exceeded_outcome``
    overrides the policy's for this product.
    """

    default_minor: int
    maximum_minor: int
    cumulative: bool = True
    exceeded_outcome: Outcome | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.default_minor <= self.maximum_minor:
            raise ConfigurationError(
                "a product limit needs 0 <= default <= maximum", field="default_minor"
            )


DEFAULT_PRODUCTS: Mapping[str, ProductLimit] = MappingProxyType(
    {
        "transfer_daily": ProductLimit(default_minor=5_000_000, maximum_minor=100_000_000),
        "single_transfer": ProductLimit(
            default_minor=2_000_000, maximum_minor=50_000_000, cumulative=False
        ),
        "card_payment_daily": ProductLimit(default_minor=2_000_000, maximum_minor=20_000_000),
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
