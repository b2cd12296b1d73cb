"""Rule set versions, block/allow lists and snoozes in the operational store.

The governance services call these repositories without a unit of work, so each method is one
short transaction of its own (``engine.begin()``). ``replace`` is a compare-and-set on the status
(``UPDATE ... WHERE name, version, status = :expected``); a partial unique index keeps at most one
version of a name active, so two racing activations cannot both win. ``contains`` is one lookup
on the primary key ``(list_name, value)``: the engine calls it for every event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import LIST_ENTRIES, RULESETS, SNOOZES, upsert
from tenure.core.errors import Conflict, NotFound
from tenure.protection.rulesets.model import ListEntry, RuleSetStatus, RuleSetVersion, Snooze

__all__ = ["SqlListRepository", "SqlRuleSetRepository", "SqlSnoozeRepository"]

_VERSION_FIELDS = (
    "name",
    "version",
    "content_hash",
    "author",
    "created_at",
    "approved_by",
    "approved_at",
    "activated_by",
    "activated_at",
    "shadow",
    "retired_by",
    "retired_at",
)


def _version_row(version: RuleSetVersion) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(version, name) for name in _VERSION_FIELDS}
    row["status"] = version.status.value
    row["document"] = dict(version.document)
    return row


def _version(row: sa.Row[Any]) -> RuleSetVersion:
    values = {name: getattr(row, name) for name in _VERSION_FIELDS}
    return RuleSetVersion(status=RuleSetStatus(row.status), document=row.document, **values)


def _select_version(name: str, version: int) -> sa.Select[Any]:
    return sa.select(RULESETS).where(RULESETS.c.name == name, RULESETS.c.version == version)


def _entry(row: sa.Row[Any]) -> ListEntry:
    return ListEntry(
        list_name=row.list_name,
        value=row.value,
        kind=row.kind,
        reason=row.reason,
        added_by=row.added_by,
        added_at=row.added_at,
        expires_at=row.expires_at,
    )


def _snooze(row: sa.Row[Any]) -> Snooze:
    return Snooze(
        rule_id=row.rule_id,
        entity=row.entity,
        until=row.until,
        reason=row.reason,
        added_by=row.added_by,
        added_at=row.added_at,
    )


class SqlRuleSetRepository:
    """Every version of every rule set in ``protection_rulesets``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, version: RuleSetVersion) -> None:
        conflict = f"rule set {version.name!r} already has version {version.version}"
        with translate_errors(conflict=conflict, field="version"), self._engine.begin() as db:
            db.execute(sa.insert(RULESETS).values(_version_row(version)))

    def get(self, name: str, version: int) -> RuleSetVersion | None:
        with translate_errors(), self._engine.connect() as db:
            row = db.execute(_select_version(name, version)).first()
        return None if row is None else _version(row)

    def replace(self, version: RuleSetVersion, *, expected: RuleSetStatus) -> None:
        label = f"rule set {version.name!r} version {version.version}"
        with (
            translate_errors(conflict=f"{label} clashes with another active version"),
            self._engine.begin() as db,
        ):
            updated = db.execute(
                sa.update(RULESETS)
                .where(
                    RULESETS.c.name == version.name,
                    RULESETS.c.version == version.version,
                    RULESETS.c.status == expected.value,
                )
                .values(_version_row(version))
            )
            if updated.rowcount == 1:
                return
            stored = db.execute(_select_version(version.name, version.version)).first()
        if stored is None:
            raise NotFound(f"rule set {version.name!r} has no version {version.version}")
        raise Conflict(f"{label} is {stored.status}, not {expected}")

    def versions(self, name: str) -> list[RuleSetVersion]:
        query = sa.select(RULESETS).where(RULESETS.c.name == name).order_by(RULESETS.c.version)
        with translate_errors(), self._engine.connect() as db:
            return [_version(row) for row in db.execute(query)]

    def names(self) -> list[str]:
        query = sa.select(RULESETS.c.name).distinct().order_by(RULESETS.c.name)
        with translate_errors(), self._engine.connect() as db:
            return list(db.execute(query).scalars())


class SqlListRepository:
    """Block/allow lists in ``protection_list_entries``; usable directly as a ``ListLookup``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        entries = LIST_ENTRIES.c
        self._contains = sa.select(sa.literal(1)).where(
            entries.list_name == sa.bindparam("list_name"),
            entries.value == sa.bindparam("value"),
            sa.or_(entries.expires_at.is_(None), entries.expires_at > sa.bindparam("at")),
        )

    def add(self, entry: ListEntry) -> None:
        values = {
            "list_name": entry.list_name,
            "value": entry.value,
            "kind": entry.kind,
            "reason": entry.reason,
            "added_by": entry.added_by,
            "added_at": entry.added_at,
            "expires_at": entry.expires_at,
        }
        with translate_errors(), self._engine.begin() as db:
            db.execute(upsert(db, LIST_ENTRIES, values))

    def remove(self, list_name: str, value: str) -> bool:
        entries = LIST_ENTRIES.c
        statement = sa.delete(LIST_ENTRIES).where(
            entries.list_name == list_name, entries.value == value
        )
        with translate_errors(), self._engine.begin() as db:
            return db.execute(statement).rowcount > 0

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        params = {"list_name": list_name, "value": value, "at": at}
        with translate_errors(), self._engine.connect() as db:
            return db.execute(self._contains, params).first() is not None

    def entries(self, list_name: str, at: datetime) -> list[ListEntry]:
        entries = LIST_ENTRIES.c
        query = (
            sa.select(LIST_ENTRIES)
            .where(
                entries.list_name == list_name,
                sa.or_(entries.expires_at.is_(None), entries.expires_at > at),
            )
            .order_by(entries.value)
        )
        with translate_errors(), self._engine.connect() as db:
            return [_entry(row) for row in db.execute(query)]


class SqlSnoozeRepository:
    """Per-entity rule snoozes in ``protection_snoozes``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, snooze: Snooze) -> None:
        values = {
            "rule_id": snooze.rule_id,
            "entity": snooze.entity,
            "until": snooze.until,
            "reason": snooze.reason,
            "added_by": snooze.added_by,
            "added_at": snooze.added_at,
        }
        with translate_errors(), self._engine.begin() as db:
            db.execute(upsert(db, SNOOZES, values))

    def remove(self, rule_id: str, entity: str) -> bool:
        statement = sa.delete(SNOOZES).where(
            SNOOZES.c.rule_id == rule_id, SNOOZES.c.entity == entity
        )
        with translate_errors(), self._engine.begin() as db:
            return db.execute(statement).rowcount > 0

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool:
        query = sa.select(sa.literal(1)).where(
            SNOOZES.c.rule_id == rule_id, SNOOZES.c.entity == entity, SNOOZES.c.until > at
        )
        with translate_errors(), self._engine.connect() as db:
            return db.execute(query).first() is not None

    def snoozes(self, entity: str, at: datetime) -> list[Snooze]:
        query = (
            sa.select(SNOOZES)
            .where(SNOOZES.c.entity == entity, SNOOZES.c.until > at)
            .order_by(SNOOZES.c.rule_id)
        )
        with translate_errors(), self._engine.connect() as db:
            return [_snooze(row) for row in db.execute(query)]

    def live_snoozes(self, at: datetime) -> list[Snooze]:
        query = (
            sa.select(SNOOZES)
            .where(SNOOZES.c.until > at)
            .order_by(SNOOZES.c.rule_id, SNOOZES.c.entity)
        )
        with translate_errors(), self._engine.connect() as db:
            return [_snooze(row) for row in db.execute(query)]
