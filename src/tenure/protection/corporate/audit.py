"""The audit trail every corporate step writes to, and an in-memory one for tests.

Actions are named ``corporate.<noun>_<past tense>`` (``corporate.payment_approved``); a refused
request is recorded as ``corporate.<noun>_<verb>_refused`` with the error's code, field and
message. Details carry ids, amounts, statuses and plain-word reasons, never personal data (error
messages never contain any either). A hash-chained trail can stand behind the same Protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from tenure.core.errors import TenureError
from tenure.protection.corporate.model import Actor

__all__ = ["AuditEntry", "AuditSink", "InMemoryAuditSink", "refusals_recorded"]


class AuditSink(Protocol):
    """Somewhere audit records go; it must not lose one it accepted."""

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded step."""

    actor: str
    action: str
    subject: str
    details: Mapping[str, object]
    at: datetime


class InMemoryAuditSink:
    """Keeps every record in a list, in order (for tests)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        frozen = MappingProxyType(dict(details))
        self.entries.append(AuditEntry(actor, action, subject, frozen, at))

    def actions(self) -> list[str]:
        """The recorded actions, in order."""
        return [entry.action for entry in self.entries]


@contextmanager
def refusals_recorded(
    audit: AuditSink, *, actor: Actor, action: str, subject: str, at: datetime
) -> Iterator[None]:
    """Record any ``TenureError`` raised inside as ``<action>_refused``, then let it propagate."""
    try:
        yield
    except TenureError as exc:
        details = {"error": exc.code, "field": exc.field, "message": exc.message}
        audit.record(
            actor=str(actor), action=f"{action}_refused", subject=subject, details=details, at=at
        )
        raise
