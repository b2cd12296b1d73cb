"""The audit trail in the operational store (SQLite and PostgreSQL): appends chain, concurrent
appends still chain, and tampering done directly in SQL is found at the right entry."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.sql.audit import (
    AUDIT_HEAD,
    AUDIT_LOG,
    QueuedAuditLog,
    SqlAuditLog,
    append_record,
)
from tenure.core.errors import Conflict, StoreUnavailable, ValidationError
from tenure.privacy.audit import (
    GENESIS_HASH,
    Anchor,
    AuditRecord,
    ChainHead,
    canonical_details,
    seal,
)

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def reset_audit_tables(engine: Engine) -> None:
    """An empty trail with its head at seq 0, as the migration leaves it."""
    with engine.begin() as connection:
        connection.execute(AUDIT_LOG.delete())
        connection.execute(AUDIT_HEAD.delete())
        connection.execute(AUDIT_HEAD.insert().values(id=1, seq=0, hash=GENESIS_HASH, at=None))


@pytest.fixture
def log(engine: Engine) -> Iterator[SqlAuditLog]:
    # The PostgreSQL database lives for the whole session: start and leave the trail empty.
    reset_audit_tables(engine)
    yield SqlAuditLog(engine, batch_size=3)
    reset_audit_tables(engine)


def append(log: SqlAuditLog, count: int, *, actor: str = "ann") -> None:
    for n in range(1, count + 1):
        log.record(
            actor=actor,
            action="protection.ruleset_approved",
            subject=f"ruleset:default@{n}",
            details={"status": "approved", "n": n},
            at=AT + timedelta(minutes=n),
        )


def execute(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def first_break(log: SqlAuditLog) -> tuple[int | None, str]:
    report = log.verify()
    assert report.first_break is not None, report.summary()
    return report.first_break.seq, report.first_break.reason


def test_the_migration_leaves_an_empty_chain_that_verifies(log: SqlAuditLog) -> None:
    assert log.head() == ChainHead(0, GENESIS_HASH)
    report = log.verify()
    assert report.intact
    assert report.checked == 0


def test_appends_chain_one_after_another_and_move_the_head(log: SqlAuditLog) -> None:
    append(log, 5)
    records = list(log.entries())
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert log.head() == ChainHead(5, records[-1].hash, AT + timedelta(minutes=5))
    report = log.verify()
    assert report.intact
    assert report.summary() == f"intact: 5 entries, head seq 5 hash {records[-1].hash}"


def test_records_read_back_as_written_with_utc_timestamps(log: SqlAuditLog) -> None:
    log.record(
        actor="ann",
        action="protection.list_entry_added",
        subject="list:blocked_payees",
        details={"value": "P9", "until": AT, "roles": ("a", "b")},
        at=AT.astimezone(timezone(timedelta(hours=8))),
    )
    [record] = log.entries()
    assert record.at == AT
    assert record.at.utcoffset() == timedelta(0)
    assert dict(record.details) == {
        "value": "P9",
        "until": "2025-03-01T09:00:00.000000+00:00",
        "roles": ["a", "b"],
    }
    assert record.hash == record.content_hash()


def test_entries_stream_in_batches_after_a_seq_and_up_to_a_limit(log: SqlAuditLog) -> None:
    append(log, 10)
    assert [r.seq for r in log.entries(after_seq=4)] == [5, 6, 7, 8, 9, 10]
    assert [r.seq for r in log.entries(after_seq=2, limit=5)] == [3, 4, 5, 6, 7]
    assert list(log.entries(after_seq=10)) == []


def test_bad_details_and_naive_times_are_refused_and_nothing_is_written(log: SqlAuditLog) -> None:
    with pytest.raises(ValidationError):
        log.record(actor="a", action="b", subject="c", details={"x": object()}, at=AT)
    with pytest.raises(ValidationError):
        log.record(actor="a", action="b", subject="c", details={}, at=AT.replace(tzinfo=None))
    assert log.head() == ChainHead(0, GENESIS_HASH)
    assert log.verify().intact


def test_concurrent_appends_from_several_threads_give_one_valid_chain(log: SqlAuditLog) -> None:
    threads, each = 6, 15
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            append(log, each, actor=f"worker-{worker}")
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            failures.append(exc)

    started = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    assert failures == []
    records = list(log.entries())
    assert [r.seq for r in records] == list(range(1, threads * each + 1))
    for worker in range(threads):
        mine = [r.details["n"] for r in records if r.actor == f"worker-{worker}"]
        assert mine == list(range(1, each + 1))  # each thread's records keep its order
    report = log.verify()
    assert report.intact, report.summary()
    assert report.checked == threads * each


def test_verifying_while_others_append_never_reports_tampering(log: SqlAuditLog) -> None:
    done = threading.Event()

    def writer() -> None:
        try:
            append(log, 40, actor="writer")
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    while not done.is_set():
        reports.append(log.verify())
    thread.join()
    reports.append(log.verify())
    assert all(report.intact for report in reports), [r.summary() for r in reports]
    assert reports[-1].checked == 40


def test_an_edited_details_column_is_found_at_that_entry(log: SqlAuditLog, engine: Engine) -> None:
    append(log, 5)
    execute(engine, "UPDATE audit_log SET details = :d WHERE seq = 3", d='{"status":"rejected"}')
    assert first_break(log) == (3, "hash does not match its content")


@pytest.mark.parametrize("details", ["not json", '{"n":NaN}', "[1, 2]"])
def test_details_edited_into_non_canonical_json_are_found_at_that_entry(
    log: SqlAuditLog, engine: Engine, details: str
) -> None:
    append(log, 5)
    execute(engine, "UPDATE audit_log SET details = :d WHERE seq = 2", d=details)
    assert first_break(log) == (2, "hash does not match its content")


def test_a_deleted_middle_entry_is_found_as_a_gap(log: SqlAuditLog, engine: Engine) -> None:
    append(log, 5)
    execute(engine, "DELETE FROM audit_log WHERE seq = 3")
    assert first_break(log) == (3, "seq gap: entry 3 missing")


def forged_row(seq: int, prev_hash: str) -> dict[str, Any]:
    """A forger's row, hashed properly onto ``prev_hash`` (nothing in the chain is secret)."""
    forged = seal(
        seq=seq,
        prev_hash=prev_hash,
        at=AT,
        actor="mallory",
        action="corporate.payment_approved",
        subject="payment:p1",
        details={"amount_minor": 10_000_000},
    )
    return as_row(forged)


def as_row(record: AuditRecord) -> dict[str, Any]:
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


def test_a_forged_row_appended_past_the_head_is_found_and_blocks_appends(
    log: SqlAuditLog, engine: Engine
) -> None:
    append(log, 5)
    head = log.head()
    assert head is not None
    with engine.begin() as connection:
        connection.execute(AUDIT_LOG.insert().values(forged_row(6, head.hash)))
    assert first_break(log) == (6, "entry 6 is past the recorded head (seq 5)")
    with pytest.raises(Conflict):
        append(log, 1)


def test_a_forged_row_inserted_in_the_middle_is_found_at_the_link_it_breaks(
    log: SqlAuditLog, engine: Engine
) -> None:
    append(log, 5)
    [second] = log.entries(after_seq=1, limit=1)
    # Make room at seq 3 the way a forger would: shift 3..5 up by one (via negatives, because a
    # primary key is checked row by row on PostgreSQL).
    execute(engine, "UPDATE audit_log SET seq = -seq WHERE seq >= 3")
    execute(engine, "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0")
    with engine.begin() as connection:
        connection.execute(AUDIT_LOG.insert().values(forged_row(3, second.hash)))
    assert first_break(log) == (4, "prev_hash does not match entry 3")


def test_two_rows_with_swapped_content_are_found_at_the_first(
    log: SqlAuditLog, engine: Engine
) -> None:
    append(log, 5)
    rows = {r.seq: as_row(r) for r in log.entries()}
    with engine.begin() as connection:
        for seq, other in ((2, 4), (4, 2)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            connection.execute(AUDIT_LOG.update().where(AUDIT_LOG.c.seq == seq).values(values))
    assert first_break(log) == (2, "prev_hash does not match entry 1")


def test_deleting_the_last_rows_is_found_against_the_head(log: SqlAuditLog, engine: Engine) -> None:
    append(log, 5)
    execute(engine, "DELETE FROM audit_log WHERE seq >= 4")
    assert first_break(log) == (4, "chain ends at seq 3 but the recorded head is seq 5")


def test_a_deleted_head_row_is_found_and_blocks_appends(log: SqlAuditLog, engine: Engine) -> None:
    append(log, 2)
    execute(engine, "DELETE FROM audit_head")
    assert log.head() is None
    assert first_break(log) == (None, "the recorded head is missing")
    with pytest.raises(StoreUnavailable):
        append(log, 1)


def test_a_rewritten_history_passes_alone_but_not_against_an_earlier_anchor(
    log: SqlAuditLog, engine: Engine
) -> None:
    append(log, 4)
    head = log.head()
    assert head is not None
    anchor = Anchor(head.hash, head.seq)
    # A forger with full write access rebuilds the whole chain and its head consistently.
    reset_audit_tables(engine)
    append(log, 4, actor="mallory")
    assert log.verify().intact
    report = log.verify(anchor)
    assert report.first_break is not None
    assert report.first_break.seq == 4
    assert not log.verify(Anchor(head.hash)).intact


def test_verify_reports_progress_per_batch(log: SqlAuditLog) -> None:
    append(log, 7)
    seen: list[int] = []
    assert log.verify(progress=seen.append).intact
    assert seen[-1] == 7


def test_append_record_commits_or_rolls_back_with_the_callers_transaction(
    log: SqlAuditLog, engine: Engine
) -> None:
    entry: dict[str, Any] = {"actor": "ann", "action": "a.b", "subject": "s", "details": {}}

    def append_then_fail() -> None:
        with engine.begin() as connection:
            append_record(connection, at=AT, **entry)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        append_then_fail()
    assert log.head() == ChainHead(0, GENESIS_HASH)
    with engine.begin() as connection:
        record = append_record(connection, at=AT, **entry)
    assert log.head() == ChainHead.of(record)
    assert log.verify().intact


def test_a_queued_record_made_inside_an_open_write_transaction_lands_after_it_commits(
    log: SqlAuditLog, engine: Engine
) -> None:
    queued = QueuedAuditLog(log)
    with engine.begin() as connection:
        # On SQLite this transaction now holds the only write lock, as a unit of work would.
        connection.execute(
            sa.text(
                "INSERT INTO instance_secrets (name, value, created_at) VALUES ('k', 'v', :at)"
            ),
            {"at": AT},
        )
        queued.record(
            actor="desk", action="corporate.mandate_published", subject="m", details={}, at=AT
        )
    assert queued.flush(timeout=10)
    assert [r.action for r in log.entries()] == ["corporate.mandate_published"]
    assert log.verify().intact


def test_queued_records_are_written_in_the_order_they_were_accepted(log: SqlAuditLog) -> None:
    queued = QueuedAuditLog(log)
    for n in range(30):
        queued.record(actor="ann", action="a.b", subject=str(n), details={"n": n}, at=AT)
    assert queued.flush(timeout=10)
    assert [r.subject for r in log.entries()] == [str(n) for n in range(30)]
    assert log.verify().intact


def test_the_queue_refuses_bad_records_when_they_are_accepted(log: SqlAuditLog) -> None:
    queued = QueuedAuditLog(log)
    with pytest.raises(ValidationError):
        queued.record(actor="a", action="b", subject="c", details={}, at=AT.replace(tzinfo=None))
    with pytest.raises(ValidationError):
        queued.record(actor="", action="b", subject="c", details={}, at=AT)
    assert queued.flush(timeout=1)
    assert list(log.entries()) == []


def test_a_queued_record_whose_append_fails_is_retried_not_dropped(
    log: SqlAuditLog, engine: Engine
) -> None:
    execute(engine, "DELETE FROM audit_head")
    queued = QueuedAuditLog(log, retry_seconds=0.01)
    queued.record(actor="ann", action="a.b", subject="s", details={}, at=AT)
    assert not queued.flush(timeout=0.2)  # the writer keeps failing: no head to chain to
    reset_audit_tables(engine)
    assert queued.flush(timeout=10)
    assert [r.subject for r in log.entries()] == ["s"]
