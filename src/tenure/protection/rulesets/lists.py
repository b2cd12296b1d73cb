"""Block and allow lists: named sets of values that rules test with ``in_list``.

A list holds one kind of entry: every live entry of ``blocked_payees`` is a block, so an
analyst cannot "unblock" a payee by adding an allow entry to it (remove the entry instead).
Values match exactly, as text: the rule engine turns a numeric feature into its decimal text.
"""

from __future__ import annotations

from datetime import datetime

from tenure.core.clock import Clock
from tenure.core.errors import Conflict, NotFound, ValidationError
from tenure.core.rules import is_snake_name
from tenure.protection.rulesets.model import ListEntry, ListKind
from tenure.protection.rulesets.ports import ListRepository

__all__ = ["add_list_entry", "remove_list_entry"]

_KINDS: frozenset[str] = frozenset({"block", "allow"})


def _text(value: str, field: str) -> str:
    if not value.strip():
        raise ValidationError(f"{field} must be non-empty text", field=field)
    return value.strip()


def add_list_entry(
    repo: ListRepository,
    *,
    list_name: str,
    value: str,
    kind: ListKind,
    reason: str,
    added_by: str,
    clock: Clock,
    expires_at: datetime | None = None,
) -> ListEntry:
    """Put ``value`` on ``list_name`` until ``expires_at``, replacing its earlier entry."""
    if not is_snake_name(list_name):
        raise ValidationError("a list name is lower_snake text", field="list_name")
    if kind not in _KINDS:
        raise ValidationError("kind must be block or allow", field="kind")
    now = clock.now()
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise ValidationError("expires_at must be a timezone-aware future time", field="expires_at")
    clash = next((e for e in repo.entries(list_name, now) if e.kind != kind), None)
    if clash is not None:
        raise Conflict(f"list {list_name!r} holds {clash.kind} entries, not {kind}")
    entry = ListEntry(
        list_name=list_name,
        value=_text(value, "value"),
        kind=kind,
        reason=_text(reason, "reason"),
        added_by=_text(added_by, "added_by"),
        added_at=now,
        expires_at=expires_at,
    )
    repo.add(entry)
    return entry


def remove_list_entry(repo: ListRepository, *, list_name: str, value: str) -> None:
    """Take ``value`` off ``list_name``; ``NotFound`` if it was not there."""
    if not repo.remove(list_name, value.strip()):
        raise NotFound(f"list {list_name!r} has no such entry")
