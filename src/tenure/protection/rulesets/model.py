"""The values of rule set governance: versions, list entries and snoozes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

__all__ = ["ListEntry", "ListKind", "RuleSetStatus", "RuleSetVersion", "Snooze"]

ListKind = Literal["block", "allow"]


class RuleSetStatus(StrEnum):
    """Where a version stands: draft -> approved -> active -> retired, never backwards."""

    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class RuleSetVersion:
    """One immutable version of a named rule set, with who did what to it and when.

    ``document`` is the dict as written (a private deep copy); ``content_hash`` is the hash of
    its normalized form (``tenure.core.rules.content_hash``). ``shadow`` marks a draft or
    approved version that runs beside the active one without affecting decisions.
    """

    name: str
    version: int
    status: RuleSetStatus
    document: Mapping[str, Any]
    content_hash: str
    author: str
    created_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    activated_by: str | None = None
    activated_at: datetime | None = None
    shadow: bool = False
    retired_by: str | None = None
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A value on a named block or allow list, until ``expires_at`` (None = until removed)."""

    list_name: str
    value: str
    kind: ListKind
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None = None

    def live_at(self, at: datetime) -> bool:
        """Whether the entry still matches at ``at`` (it stops matching at ``expires_at``)."""
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True, slots=True)
class Snooze:
    """Rule ``rule_id`` does not fire for ``entity`` (e.g. ``customer:C1``) before ``until``."""

    rule_id: str
    entity: str
    until: datetime
    reason: str
    added_by: str
    added_at: datetime

    def live_at(self, at: datetime) -> bool:
        """Whether the snooze still silences its rule at ``at``."""
        return at < self.until
