"""Customer limits per product (daily transfers, single transfer, daily card payments).

``check_limit`` tells the engine whether an amount fits and which outcome to force when it does
not (``decline`` by default); ``change_limit`` lets a customer lower a limit freely and raise it
only after a recent step-up, and lets staff set it within the product's maximum. Every change
returns a ``LimitChange`` for the audit log.
"""

from __future__ import annotations

from tenure.protection.limits.model import (
    DEFAULT_PRODUCTS,
    Actor,
    ActorKind,
    Limit,
    LimitChange,
    LimitCheck,
    LimitPolicy,
    ProductLimit,
)
from tenure.protection.limits.ports import LimitRepository, LimitUnitOfWork
from tenure.protection.limits.service import (
    assess_limit,
    change_limit,
    check_limit,
    get_limit,
    list_limits,
)

__all__ = [
    "DEFAULT_PRODUCTS",
    "Actor",
    "ActorKind",
    "Limit",
    "LimitChange",
    "LimitCheck",
    "LimitPolicy",
    "LimitRepository",
    "LimitUnitOfWork",
    "ProductLimit",
    "assess_limit",
    "change_limit",
    "check_limit",
    "get_limit",
    "list_limits",
]
