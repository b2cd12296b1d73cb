"""The feature naming convention rules are written against.

The engine computes features; rules only name them. Two shapes exist:

* window aggregates ``<entity>.<stream>.<count|sum>_<1h|24h|7d|30d>``, e.g.
  ``customer.transfer.sum_24h`` (the amount a customer transferred over the last 24 hours);
* everything else, plain dotted lower_snake names such as ``event.amount_minor``,
  ``device.is_new`` or ``model.risk``.

>>> window_feature("customer", "transfer", "sum", "24h")
'customer.transfer.sum_24h'
>>> "device.login.count_1h" in WINDOW_FEATURES
True
>>> is_feature_name("event.amount_minor"), is_feature_name("Amount")
(True, False)
"""

from __future__ import annotations

import re
from itertools import product

__all__ = [
    "AGGREGATES",
    "ENTITIES",
    "EVENT_KINDS",
    "WINDOWS",
    "WINDOW_FEATURES",
    "is_feature_name",
    "is_snake_name",
    "window_feature",
    "window_problem",
]

EVENT_KINDS: tuple[str, ...] = ("login", "transfer", "payee_add", "profile_change", "card_payment")
ENTITIES: tuple[str, ...] = ("customer", "account", "device", "ip", "payee")
AGGREGATES: tuple[str, ...] = ("count", "sum")
WINDOWS: tuple[str, ...] = ("1h", "24h", "7d", "30d")

_SNAKE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FEATURE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_WINDOW_TAIL = re.compile(r"([a-z]+)_([0-9]+[a-z])")


def window_feature(entity: str, stream: str, agg: str, over: str) -> str:
    """The feature name of one window aggregate (the parts are not checked here)."""
    return f"{entity}.{stream}.{agg}_{over}"


WINDOW_FEATURES: frozenset[str] = frozenset(
    window_feature(*parts) for parts in product(ENTITIES, EVENT_KINDS, AGGREGATES, WINDOWS)
)


def is_feature_name(name: str) -> bool:
    """Whether ``name`` is a dotted lower_snake feature name (at least two parts)."""
    return _FEATURE.fullmatch(name) is not None


def is_snake_name(name: str) -> bool:
    """Whether ``name`` is lower_snake, starts with a letter and has at most 64 characters."""
    return _SNAKE.fullmatch(name) is not None


def window_problem(name: str) -> str | None:
    """Why ``name`` looks like a window aggregate but breaks the convention, or None.

    A name whose middle part is an event kind (``customer.transfer.x``) is read as a window
    aggregate, so a typo such as ``sum_25h`` is caught before the engine silently lacks it.
    """
    parts = name.split(".")
    if len(parts) != 3 or parts[1] not in EVENT_KINDS:
        return None
    if parts[0] not in ENTITIES:
        return f"unknown window entity {parts[0]!r}; expected one of {', '.join(ENTITIES)}"
    tail = _WINDOW_TAIL.fullmatch(parts[2])
    if tail is None or tail.group(1) not in AGGREGATES or tail.group(2) not in WINDOWS:
        return (
            f"window feature must end in <{'|'.join(AGGREGATES)}>_<{'|'.join(WINDOWS)}>, "
            f"not {parts[2]!r}"
        )
    return None
