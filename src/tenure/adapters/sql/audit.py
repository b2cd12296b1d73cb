"""The hash-chained audit trail in the operational store: ``audit_log`` and its head.

::

    audit_log    one row per record, keyed by seq (1, 2, 3, ...); details as canonical JSON text
    audit_head   exactly one row (id 1): the last seq, its hash and time (seq 0 while empty)

Appends are serialised across threads and processes by the head row itself: the first statement
of every append is ``UPDATE audit_head SET seq = seq + 1 ... RETURNING seq, hash``, a write that
claims the next seq and the hash to chain to. On PostgreSQL it takes the row lock (a concurrent
append waits, then sees the committed head); on SQLite it takes the database's write lock, waiting
out the busy timeout. The record's row and the head's new hash go in the same transaction, so the
head always names the last committed record, and removing records from the end shows as a head
the chain no longer reaches.

``append_record`` does the same inside a caller's own transaction, for a change that must be
audited atomically with itself. On SQLite, callers that record while their own unit of work holds
the database's only write lock go through ``QueuedAuditLog`` (``audit_trail_for`` picks it).

``verify`` reads the head and the records in one snapshot (REPEATABLE READ on PostgreSQL, one
read transaction on SQLite), so appends made while it walks neither count as tampering nor hide
any. Records are read in keyset-paged batches: a million of them never sit in memory at once.
Exceptions and log lines name tables and seqs, never the content of a record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.tables import Base, UtcDateTime
from tenure.core.errors import StoreUnavailable
from tenure.privacy.audit import (
    Anchor,
    AuditRecord,
    ChainBreak,
    ChainHead,
    ChainReport,
    canonical_details,
    checked_details,
    parse_details,
    seal,
    verify_chain,
)

__all__ = [
    "AUDIT_HEAD",
    "AUDIT_LOG",
    "AUDIT_TABLES",
    "UNREADABLE_DETAILS",
    "QueuedAuditLog",
    "SqlAuditLog",
    "append_record",
    "audit_trail_for",
]

AUDIT_LOG = sa.Table(
    "audit_log",
    Base.metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

AUDIT_HEAD = sa.Table(
    "audit_head",
    Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("id = 1", name="one_row"),
)

AUDIT_TABLES: tuple[sa.Table, ...] = (AUDIT_LOG, AUDIT_HEAD)

# Stands in for details that are no longer valid JSON (edited by hand): the record then fails its
# hash check and is reported, instead of the walk stopping on a parse error.
UNREADABLE_DETAILS = "__unreadable_details__"
_HEAD_ID = 1
_MAX_RETRY_SECONDS = 5.0
_logger = logging.getLogger(__name__)
_BATCH = 1_000
_NO_HEAD = "the audit log's head row is missing; run `tenure audit verify`"
_PAST_HEAD = "the audit log holds an entry past its head; run `tenure audit verify`"

Progress = Callable[[int], None]


def _details(text: str) -> Mapping[str, object]:
    try:
        return parse_details(text)
    except ValueError:
        return {UNREADABLE_DETAILS: text}


def _record(row: sa.Row[Any]) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=_details(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _row(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "subject": record.subject,
        "details": canonical_details(record.details),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _counted(records: Iterator[AuditRecord], progress: Progress) -> Iterator[AuditRecord]:
    done = 0
    for record in records:
        yield record
        done += 1
        if done % _BATCH == 0:
            progress(done)
    progress(done)


_CLAIM = (
    sa.update(AUDIT_HEAD)
    .where(AUDIT_HEAD.c.id == _HEAD_ID)
    .values(seq=AUDIT_HEAD.c.seq + 1)
    .returning(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash)
)


def append_record(
    connection: Connection,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
    at: datetime,
) -> AuditRecord:
    """Append one record inside the caller's transaction (it commits, or not, with the caller's).

    Claiming the seq is the transaction's first write to the head, and holds the head's lock
    until the caller commits: keep such transactions short.
    """
    claimed = connection.execute(_CLAIM).first()
    if claimed is None:
        raise StoreUnavailable(_NO_HEAD)
    record = seal(
        seq=claimed.seq,
        prev_hash=claimed.hash,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
    )
    connection.execute(sa.insert(AUDIT_LOG), _row(record))
    connection.execute(
        sa.update(AUDIT_HEAD)
        .where(AUDIT_HEAD.c.id == _HEAD_ID)
        .values(hash=record.hash, at=record.at)
    )
    return record


class SqlAuditLog:
    """The audit trail in ``audit_log``; an ``AuditSink``, safe across threads and processes."""

    def __init__(self, engine: Engine, *, batch_size: int = _BATCH) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._batch_size = batch_size
        self._read_head = sa.select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash, AUDIT_HEAD.c.at).where(
            AUDIT_HEAD.c.id == _HEAD_ID
        )
        self._page = (
            sa.select(AUDIT_LOG)
            .where(AUDIT_LOG.c.seq > sa.bindparam("after"))
            .order_by(AUDIT_LOG.c.seq)
            .limit(sa.bindparam("size"))
        )

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        """Append one record durably (committed before this returns), chained to the head."""
        checked_details(at=at, actor=actor, action=action, details=details)  # before the lock
        with translate_errors(conflict=_PAST_HEAD), self._engine.begin() as connection:
            append_record(
                connection, actor=actor, action=action, subject=subject, details=details, at=at
            )

    def head(self) -> ChainHead | None:
        """The recorded head (seq 0 while empty); None only if its row was deleted."""
        with translate_errors(), self._engine.connect() as connection:
            return self._head(connection)

    def entries(self, after_seq: int = 0, limit: int | None = None) -> Iterator[AuditRecord]:
        """Records after ``after_seq`` in seq order (at most ``limit``), read in batches."""
        with translate_errors(), self._engine.connect() as connection:
            yield from self._pages(connection, after_seq=after_seq, limit=limit)

    def verify(
        self, anchor: Anchor | None = None, *, progress: Progress | None = None
    ) -> ChainReport:
        """Walk the whole chain against the recorded head (and ``anchor``); see ``verify_chain``.

        ``progress`` is called with the number of records read so far, once per batch.
        """
        with translate_errors(), self._snapshot() as connection:
            head = self._head(connection)
            records = self._pages(connection, after_seq=0, limit=None)
            if progress is not None:
                records = _counted(records, progress)
            report = verify_chain(records, expected_head=head, anchor=anchor)
        if head is None and report.intact:
            return replace(report, first_break=ChainBreak(None, "the recorded head is missing"))
        return report

    def _head(self, connection: Connection) -> ChainHead | None:
        row = connection.execute(self._read_head).first()
        return None if row is None else ChainHead(row.seq, row.hash, row.at)

    def _pages(
        self, connection: Connection, *, after_seq: int, limit: int | None
    ) -> Iterator[AuditRecord]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = self._batch_size if remaining is None else min(self._batch_size, remaining)
            rows = connection.execute(self._page, {"after": after_seq, "size": size}).all()
            yield from (_record(row) for row in rows)
            if len(rows) < size:
                return
            after_seq = rows[-1].seq
            if remaining is not None:
                remaining -= len(rows)

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see the store at one moment, rolled back afterwards."""
        with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                # pysqlite opens no transaction for reads, so each select would see its own
                # moment; an explicit BEGIN keeps one WAL snapshot until the rollback.
                connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()


@dataclass(frozen=True, slots=True)
class _Accepted:
    actor: str
    action: str
    subject: str
    details: Mapping[str, object]
    at: datetime


class QueuedAuditLog:
    """An ``AuditSink`` whose records one writer thread appends, in the order they were accepted.

    For SQLite, where callers record while their own unit of work holds the database's only write
    lock (the corporate steps record before they commit): an append made there could only wait
    for a lock its caller holds. Here it waits in the writer instead, until that commit. Records
    are checked when accepted; an append that fails is retried (with backoff, logged without the
    record's content), never skipped. The writer is not a daemon, so the interpreter waits for it
    to drain before exiting; a record accepted but not yet written is lost only if the process
    is killed. ``flush`` waits for everything accepted so far to be written.
    """

    def __init__(self, log: SqlAuditLog, *, retry_seconds: float = 0.05) -> None:
        self._log = log
        self._retry_seconds = retry_seconds
        self._pending: deque[_Accepted] = deque()
        self._drained = threading.Condition()
        self._writing = False

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        """Check the record and queue it for the writer (started when none is running)."""
        # A copy as it will read back, so later changes to the caller's objects do not leak in.
        stored = checked_details(at=at, actor=actor, action=action, details=details)
        with self._drained:
            self._pending.append(_Accepted(actor, action, subject, stored, at))
            if not self._writing:
                self._writing = True
                # Not a daemon, even when started from one (a server's worker threads often are).
                writer = threading.Thread(target=self._drain, name="audit-writer", daemon=False)
                writer.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every accepted record is written; False if ``timeout`` ran out first."""
        with self._drained:
            return self._drained.wait_for(lambda: not self._writing, timeout)

    def _drain(self) -> None:
        delay = self._retry_seconds
        while True:
            with self._drained:
                if not self._pending:
                    self._writing = False
                    self._drained.notify_all()
                    return
                accepted = self._pending[0]
            try:
                self._log.record(
                    actor=accepted.actor,
                    action=accepted.action,
                    subject=accepted.subject,
                    details=accepted.details,
                    at=accepted.at,
                )
            except Exception as exc:  # a writer thread that died would strand every later record
                _logger.warning("audit append failed (%s); retrying", type(exc).__name__)
                time.sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_SECONDS)
                continue
            delay = self._retry_seconds
            with self._drained:
                self._pending.popleft()


def audit_trail_for(engine: Engine) -> SqlAuditLog | QueuedAuditLog:
    """The trail an application records to: queued on SQLite (``QueuedAuditLog``), else direct."""
    log = SqlAuditLog(engine)
    return QueuedAuditLog(log) if engine.dialect.name == "sqlite" else log
