"""The consent ledger on SQLite and PostgreSQL, and its in-memory double, behave the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from protection_store import BACKENDS, open_store
from sqlalchemy.engine import Engine

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql.consent import (
    CONSENT_EVENTS,
    SqlConsentLedger,
    import_warehouse_consents,
)
from tenure.core.clock import FixedClock
from tenure.core.errors import ValidationError
from tenure.privacy.consent import (
    Channel,
    ConsentEvent,
    ConsentLedger,
    ConsentSource,
    MemoryConsentLedger,
    Purpose,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _empty(engine: Engine) -> None:
    # The PostgreSQL database lives for the whole session: leave the ledger empty.
    with engine.begin() as connection:
        connection.execute(sa.delete(CONSENT_EVENTS))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path, (CONSENT_EVENTS,))


@pytest.fixture
def ledger(backend: Engine | None) -> ConsentLedger:
    return MemoryConsentLedger() if backend is None else SqlConsentLedger(backend)


def event(
    event_id: str,
    customer_id: str = "C1",
    *,
    granted: bool = True,
    at: datetime = T0,
    channel: Channel = Channel.SMS,
    consent_id: str | None = None,
    note: str | None = None,
    purpose: Purpose = Purpose.MARKETING,
) -> ConsentEvent:
    return ConsentEvent(
        event_id=event_id,
        customer_id=customer_id,
        purpose=purpose,
        channel=channel,
        granted=granted,
        at=at,
        source=ConsentSource.API,
        actor="app",
        recorded_at=at,
        note=note,
        consent_id=consent_id,
    )


def test_history_returns_every_event_as_recorded_oldest_first(ledger: ConsentLedger) -> None:
    later = event("e2", granted=False, at=T0 + timedelta(days=1), note="客户来电撤回")
    earlier = event("e1", channel=Channel.APP_PUSH, consent_id="K1")

    assert ledger.append([later, earlier, event("e3", "C2")]) == 3

    assert ledger.history("C1") == [earlier, later]
    assert ledger.count() == 3


def test_an_event_or_warehouse_row_already_held_is_not_added_again(
    ledger: ConsentLedger,
) -> None:
    ledger.append([event("e1", consent_id="K1")])

    added = ledger.append([event("e1"), event("e2", consent_id="K1"), event("e3")])

    assert added == 1
    assert [e.event_id for e in ledger.history("C1")] == ["e1", "e3"]


def test_deciding_picks_the_latest_event_before_the_moment_per_customer(
    ledger: ConsentLedger,
) -> None:
    ledger.append([
        event("a1", "A"), event("a2", "A", granted=False, at=T0 + timedelta(days=2)),
        event("b1", "B", granted=False), event("b2", "B", at=T0 + timedelta(days=1)),
        event("c1", "C", channel=Channel.EMAIL),
    ])  # fmt: skip

    now = ledger.deciding(["A", "B", "C", "D"], Purpose.MARKETING, Channel.SMS, T0 + timedelta(3))
    before = ledger.deciding(["A", "B"], Purpose.MARKETING, Channel.SMS, T0 + timedelta(hours=1))

    assert {cid: e.event_id for cid, e in now.items()} == {"A": "a2", "B": "b2"}
    assert {cid: e.event_id for cid, e in before.items()} == {"A": "a1", "B": "b1"}


def test_withdrawn_names_customers_whose_last_word_on_a_purpose_is_a_withdrawal(
    ledger: ConsentLedger,
) -> None:
    profiling = Purpose.PROFILING
    day = timedelta(days=1)
    ledger.append([
        # A withdrew on SMS and still grants on e-mail (granted earlier): A refused profiling
        event("a1", "A", purpose=profiling), event("a2", "A", purpose=profiling,
              channel=Channel.EMAIL),
        event("a3", "A", purpose=profiling, granted=False, at=T0 + day),
        # B withdrew, then granted again on another channel: B's last word is a grant
        event("b1", "B", purpose=profiling, granted=False),
        event("b2", "B", purpose=profiling, channel=Channel.EMAIL, at=T0 + day),
        # C withdrew marketing only; D withdrew profiling only after the moment asked about
        event("c1", "C", granted=False),
        event("d1", "D", purpose=profiling, granted=False, at=T0 + 5 * day),
    ])  # fmt: skip

    assert ledger.withdrawn(profiling, T0 + 2 * day) == {"A"}
    assert ledger.withdrawn(profiling, T0 + 6 * day) == {"A", "D"}
    assert ledger.withdrawn(profiling, T0 + timedelta(hours=1)) == {"B"}
    assert ledger.withdrawn(Purpose.MARKETING, T0 + 2 * day) == {"C"}


def test_deciding_handles_more_customers_than_one_statement_takes(ledger: ConsentLedger) -> None:
    ids = [f"C{n:05d}" for n in range(2_500)]
    ledger.append(event(f"e{n}", cid, granted=n % 2 == 0) for n, cid in enumerate(ids))

    found = ledger.deciding(ids, Purpose.MARKETING, Channel.SMS, T0)

    assert len(found) == 2_500
    assert sum(e.granted for e in found.values()) == 1_250


@pytest.fixture
def sql_ledger(engine: Engine) -> Iterator[SqlConsentLedger]:
    yield SqlConsentLedger(engine)
    _empty(engine)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(tmp_path / "warehouse.duckdb") as warehouse:
        yield warehouse


def _consent_row(warehouse: DuckDBWarehouse, consent_id: str, status: str, day: int) -> None:
    warehouse.execute(
        "INSERT INTO consents VALUES (?, ?, 'marketing', 'email', ?, ?)",
        [consent_id, "C1", status, T0 + timedelta(days=day)],
    )


def test_import_maps_warehouse_rows_and_a_second_run_adds_nothing(
    sql_ledger: SqlConsentLedger, warehouse: DuckDBWarehouse
) -> None:
    ledger = sql_ledger
    _consent_row(warehouse, "K1", "given", 0)
    _consent_row(warehouse, "K2", "withdrawn", 5)
    seen: list[tuple[int, int]] = []

    first = import_warehouse_consents(
        ledger,
        warehouse,
        actor="etl",
        clock=FixedClock(T0),
        progress=lambda d, t: seen.append((d, t)),
    )
    second = import_warehouse_consents(ledger, warehouse, actor="etl", clock=FixedClock(T0))
    _consent_row(warehouse, "K3", "given", 9)
    third = import_warehouse_consents(ledger, warehouse, actor="etl", clock=FixedClock(T0))

    assert (first.read, first.added) == (2, 2)
    assert (second.read, second.added, second.already_held) == (2, 0, 2)
    assert (third.read, third.added) == (3, 1)
    assert seen[-1] == (2, 2)
    history = ledger.history("C1")
    assert [(e.consent_id, e.granted, e.source) for e in history] == [
        ("K1", True, ConsentSource.INGEST),
        ("K2", False, ConsentSource.INGEST),
        ("K3", True, ConsentSource.INGEST),
    ]
    assert history[1].at == T0 + timedelta(days=5)
    decided = ledger.deciding(["C1"], Purpose.MARKETING, Channel.EMAIL, T0 + timedelta(days=6))
    assert decided["C1"].consent_id == "K2"


def test_import_refuses_a_row_with_an_unknown_status(
    sql_ledger: SqlConsentLedger, warehouse: DuckDBWarehouse
) -> None:
    _consent_row(warehouse, "K1", "maybe", 0)

    with pytest.raises(ValidationError):
        import_warehouse_consents(sql_ledger, warehouse, actor="etl", clock=FixedClock(T0))

    assert sql_ledger.count() == 0
