"""The consent ledger in the operational store: ``privacy_consent_events``, append-only.

::

    privacy_consent_events   event_id (key), consent_id (unique: the warehouse row, when ingested),
                             customer_id, purpose, channel, granted, at, recorded_at, source,
                             actor, note; indexed on (customer_id, purpose, channel, at)

Rows are only ever inserted: nothing here updates or deletes one, so the history of a customer's
consent is the table itself. Inserts skip rows whose ``event_id`` or ``consent_id`` is stored
already (``ON CONFLICT DO NOTHING``), which makes the warehouse import idempotent: running
:func:`import_warehouse_consents` again adds nothing. The deciding event (see
:mod:`tenure.privacy.consent`) is chosen from one indexed select per chunk of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.tables import Base, UtcDateTime
from tenure.core.clock import Clock
from tenure.core.errors import ValidationError
from tenure.privacy.consent import (
    CANONICAL_STATUS,
    Channel,
    ConsentEvent,
    ConsentSource,
    Purpose,
    deciding_event,
    event_order,
    new_event_id,
)

__all__ = [
    "CONSENT_EVENTS",
    "ConsentImportReport",
    "SqlConsentLedger",
    "WarehouseRows",
    "import_warehouse_consents",
]

CHUNK = 5_000
_IN_LIST = 1_000  # SQLite and PostgreSQL both cap the parameters of one statement

CONSENT_EVENTS = sa.Table(
    "privacy_consent_events",
    Base.metadata,
    sa.Column("event_id", sa.String(64), primary_key=True, autoincrement=False),
    sa.Column("consent_id", sa.String(64), nullable=True, unique=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("granted", sa.Boolean(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Index("ix_privacy_consent_events_lookup", "customer_id", "purpose", "channel", "at"),
)
_T = CONSENT_EVENTS


def _row(event: ConsentEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "consent_id": event.consent_id,
        "customer_id": event.customer_id,
        "purpose": event.purpose.value,
        "channel": event.channel.value,
        "granted": event.granted,
        "at": event.at,
        "recorded_at": event.recorded_at,
        "source": event.source.value,
        "actor": event.actor,
        "note": event.note,
    }


def _event(row: sa.Row[Any]) -> ConsentEvent:
    return ConsentEvent(
        event_id=row.event_id,
        customer_id=row.customer_id,
        purpose=Purpose(row.purpose),
        channel=Channel(row.channel),
        granted=bool(row.granted),
        at=row.at,
        source=ConsentSource(row.source),
        actor=row.actor,
        recorded_at=row.recorded_at,
        note=row.note,
        consent_id=row.consent_id,
    )


def _chunks(items: Iterable[ConsentEvent], size: int) -> Iterator[list[ConsentEvent]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SqlConsentLedger:
    """The consent ledger on SQLite or PostgreSQL (the ``ConsentLedger`` port)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, events: Iterable[ConsentEvent]) -> int:
        """Store each event; ones already stored (same event or warehouse row) are skipped."""
        added = 0
        for chunk in _chunks(events, CHUNK):
            with translate_errors(), self._engine.begin() as connection:
                statement = self._insert(connection).on_conflict_do_nothing()
                result = connection.execute(
                    statement.returning(_T.c.event_id), [_row(e) for e in chunk]
                )
                added += len(result.all())
        return added

    def history(self, customer_id: str) -> list[ConsentEvent]:
        """Every event of one customer, oldest first."""
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(sa.select(_T).where(_T.c.customer_id == customer_id)).all()
        return sorted((_event(row) for row in rows), key=event_order)

    def deciding(
        self, customer_ids: Sequence[str], purpose: Purpose, channel: Channel, at: datetime
    ) -> dict[str, ConsentEvent]:
        """The deciding event at ``at`` of each customer that has one."""
        ids = list(dict.fromkeys(customer_ids))
        by_customer: dict[str, list[ConsentEvent]] = {}
        with translate_errors(), self._engine.connect() as connection:
            for start in range(0, len(ids), _IN_LIST):
                rows = connection.execute(
                    sa.select(_T).where(
                        _T.c.customer_id.in_(ids[start : start + _IN_LIST]),
                        _T.c.purpose == purpose.value,
                        _T.c.channel == channel.value,
                        _T.c.at <= at,
                    )
                )
                for row in rows:
                    by_customer.setdefault(row.customer_id, []).append(_event(row))
        found = {cid: deciding_event(events, at) for cid, events in by_customer.items()}
        return {cid: event for cid, event in found.items() if event is not None}

    def withdrawn(self, purpose: Purpose, at: datetime) -> frozenset[str]:
        """Customers whose last word on ``purpose`` at ``at`` was a withdrawal (only customers
        who ever withdrew it are read)."""
        withdrew = (
            sa.select(_T.c.customer_id)
            .where(_T.c.purpose == purpose.value, ~_T.c.granted, _T.c.at <= at)
            .distinct()
        )
        query = sa.select(_T).where(
            _T.c.purpose == purpose.value, _T.c.at <= at, _T.c.customer_id.in_(withdrew)
        )
        by_customer: dict[str, list[ConsentEvent]] = {}
        with translate_errors(), self._engine.connect() as connection:
            for row in connection.execution_options(yield_per=CHUNK).execute(query):
                by_customer.setdefault(row.customer_id, []).append(_event(row))
        return frozenset(
            customer_id
            for customer_id, events in by_customer.items()
            if (word := deciding_event(events, at)) is not None and not word.granted
        )

    def count(self) -> int:
        """Events held."""
        with translate_errors(), self._engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(_T)).scalar_one())

    def _insert(self, connection: Connection) -> Any:
        if connection.dialect.name == "postgresql":
            return postgresql.insert(_T)
        return sqlite.insert(_T)


class WarehouseRows(Protocol):
    """What the import reads the warehouse through (``DuckDBWarehouse`` fits)."""

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def stream(
        self, sql: str, params: Sequence[object] = (), *, batch_rows: int = 10_000
    ) -> Iterator[list[tuple[Any, ...]]]: ...


@dataclass(frozen=True, slots=True)
class ConsentImportReport:
    """What an import did: warehouse rows read, events added, rows already in the ledger."""

    read: int
    added: int

    @property
    def already_held(self) -> int:
        """Rows skipped because an earlier import brought them in."""
        return self.read - self.added


ImportProgress = Callable[[int, int], None]
"""Called with (rows read so far, rows in the warehouse table)."""

_SELECT = (
    "SELECT consent_id, customer_id, purpose, channel, status, recorded_at "
    "FROM consents ORDER BY consent_id"
)


def _canonical_event(row: tuple[Any, ...], *, actor: str, recorded_at: datetime) -> ConsentEvent:
    consent_id, customer_id, purpose, channel, status, at = row
    if status not in CANONICAL_STATUS:
        raise ValidationError("a warehouse consent row has an unknown status", field="status")
    try:
        mapped_purpose, mapped_channel = Purpose(purpose), Channel(channel)
    except ValueError as exc:
        raise ValidationError(
            "a warehouse consent row has an unknown purpose or channel", field="consents"
        ) from exc
    return ConsentEvent(
        event_id=new_event_id(),
        customer_id=str(customer_id),
        purpose=mapped_purpose,
        channel=mapped_channel,
        granted=CANONICAL_STATUS[status],
        at=at,
        source=ConsentSource.INGEST,
        actor=actor,
        recorded_at=recorded_at,
        consent_id=str(consent_id),
    )


def import_warehouse_consents(
    ledger: SqlConsentLedger,
    warehouse: WarehouseRows,
    *,
    actor: str,
    clock: Clock,
    progress: ImportProgress | None = None,
) -> ConsentImportReport:
    """Append every row of the warehouse ``consents`` table not imported before.

    Rows are keyed on the canonical ``consent_id``: running it again adds nothing, and a later
    extract adds only its new rows. Rows are read in ``consent_id`` order, in batches.
    """
    (total_row,) = warehouse.fetch_all("SELECT count(*) FROM consents")
    total = int(total_row[0])
    now = clock.now()
    read = added = 0
    for batch in warehouse.stream(_SELECT, batch_rows=CHUNK):
        events = [_canonical_event(row, actor=actor, recorded_at=now) for row in batch]
        added += ledger.append(events)
        read += len(batch)
        if progress is not None:
            progress(read, max(total, read))
    return ConsentImportReport(read=read, added=added)
