"""Digital events and profile changes as columns of codes (the non-money event streams)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self, cast

import numpy as np

from tenure.data.simulator.vocabulary import codes

__all__ = ["AUTH", "EVENT_TYPE", "FIELD", "ChangeBatch", "EventBatch", "PayeeBatch"]

EVENT_TYPE = codes("digital_events", "event_type")
EVENT_CHANNEL = codes("digital_events", "channel")
AUTH = codes("digital_events", "auth_method")
FIELD = codes("profile_changes", "field")
CHANGE_CHANNEL = codes("profile_changes", "channel")
INITIATOR = codes("profile_changes", "initiated_by")
FEATURES = (
    "transfer",
    "balance_inquiry",
    "bill_pay",
    "card_management",
    "wealth",
    "statement",
    "profile",
    "payee_management",
)


class _Columns:
    """Shared column-batch behaviour: build with defaults, take, concat."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def build(cls, **given: Any) -> Self:
        """A batch from the given columns, defaults for the rest (scalars are broadcast)."""
        n = max(len(v) for v in given.values() if isinstance(v, np.ndarray))
        values = {**cls.DEFAULTS, **given}
        columns = {}
        for f in fields(cls):  # type: ignore[arg-type]
            value = np.asarray(values[f.name])
            dtype = value.dtype if value.dtype == np.bool_ else np.int64
            columns[f.name] = np.broadcast_to(value.astype(dtype), (n,)).copy()
        return cls(**columns)

    def take(self, index: np.ndarray) -> Self:
        """The rows at ``index``."""
        names = [f.name for f in fields(cast(Any, self))]
        return type(self)(**{name: getattr(self, name)[index] for name in names})

    @classmethod
    def concat(cls, batches: list[Self]) -> Self:
        """All rows of ``batches`` in order."""
        names = [f.name for f in fields(cast(Any, cls))]
        return cls(**{name: np.concatenate([getattr(b, name) for b in batches]) for name in names})

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))  # type: ignore[arg-type]


@dataclass(slots=True)
class EventBatch(_Columns):
    """Logins, logouts and feature use."""

    customer: np.ndarray
    time: np.ndarray
    event_type: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    ip: np.ndarray
    city: np.ndarray
    success: np.ndarray
    auth: np.ndarray
    feature: np.ndarray
    latency: np.ndarray
    fraud: np.ndarray
    genuine: np.ndarray

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "feature": -1,
        "latency": 300,
        "fraud": -1,
        "genuine": False,
        "success": True,
        "event_type": EVENT_TYPE["login"],
        "auth": AUTH["password"],
    }


@dataclass(slots=True)
class ChangeBatch(_Columns):
    """Changes to contact details, credentials, limits and payee details."""

    customer: np.ndarray
    time: np.ndarray
    field: np.ndarray
    channel: np.ndarray
    payee: np.ndarray
    device: np.ndarray
    ip: np.ndarray
    initiator: np.ndarray
    fraud: np.ndarray

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "payee": -1,
        "fraud": -1,
        "initiator": INITIATOR["customer"],
        "device": -1,
        "ip": -1,
    }


@dataclass(slots=True)
class PayeeBatch(_Columns):
    """Payees registered during the window by the simulation (appended after the drawn ones)."""

    customer: np.ndarray
    name: np.ndarray
    number: np.ndarray
    bank: np.ndarray
    kind: np.ndarray
    added_at: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    fraud: np.ndarray

    DEFAULTS: ClassVar[dict[str, Any]] = {"fraud": -1}
