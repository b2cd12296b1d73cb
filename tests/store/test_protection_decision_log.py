"""The decision log: the same behaviour in memory, on SQLite and on PostgreSQL; alerts in SQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from protection_store import BACKENDS, open_store
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from tenure.adapters.sql import Base, alembic_config, create_store_engine, upgrade_to_head
from tenure.adapters.sql.decision_log import SqlDecisionLog, sqlite_utc_text
from tenure.adapters.sql.tables import UtcDateTime
from tenure.core.decision import ActionCost
from tenure.core.errors import Conflict
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision, Reason, ShadowResult
from tenure.protection.engine import Engine as DecisionEngine
from tenure.protection.events import Event, EventKind
from tenure.protection.memory import InMemoryDecisionLog, MappingCustomerValues
from tenure.protection.state.memory import MemoryKeyedState

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

Log = InMemoryDecisionLog | SqlDecisionLog


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture(params=BACKENDS[1:])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def log(store: Engine | None) -> Iterator[Log]:
    if store is None:
        yield InMemoryDecisionLog()
        return
    sql = SqlDecisionLog(store)
    yield sql
    sql.close()  # the log keeps its writing connection open between appends


@pytest.fixture
def sql_log(engine: Engine) -> Iterator[SqlDecisionLog]:
    log = SqlDecisionLog(engine)
    yield log
    log.close()


def make_event(event_id: str = "e1", *, customer_id: str = "c1", minutes: int = 0) -> Event:
    return Event(
        kind=EventKind.TRANSFER,
        event_id=event_id,
        customer_id=customer_id,
        occurred_at=AT + timedelta(minutes=minutes),
        device_id="d1",
        ip="10.0.0.1",
        lat=31.2304,
        lon=121.4737,
        amount_minor=1_250_000,
        payee_id="p1",
    )


def make_decision(
    key: str = "transfer:e1",
    *,
    event: Event | None = None,
    outcome: Outcome = Outcome.ALLOW,
    decision_id: str | None = None,
) -> Decision:
    event = event or make_event()
    return Decision(
        decision_id=decision_id or f"d-{key}",
        idempotency_key=key,
        event=event,
        outcome=outcome,
        risk=0.4321,
        model_risk=0.25,
        rule_score=0.2,
        reasons=(Reason("rule", "large", "a large transfer"),),
        costs=(ActionCost(Outcome.ALLOW, 1234.5, 0.0, 0.0), ActionCost(outcome, 10.0, 2.5, 1.0)),
        decided_at=event.occurred_at + timedelta(milliseconds=5),
        policy="expected_cost",
        ruleset="default@3",
        model_version="m-2025-03",
        flags=frozenset({"unknown_customer"}),
        shadow=(ShadowResult("candidate", 4, Outcome.STEP_UP, ("large", "new_device")),),
    )


def test_finds_an_appended_decision_exactly_as_it_was(log: Log) -> None:
    decision = make_decision()
    log.append(decision)
    found = log.find("transfer:e1")
    assert found == decision
    assert found is not None
    assert found.to_json() == decision.to_json()
    assert found.event == decision.event


def test_an_unknown_key_finds_nothing(log: Log) -> None:
    assert log.find("transfer:nope") is None


def test_a_second_decision_under_a_stored_key_conflicts_and_the_first_stays(log: Log) -> None:
    first = make_decision()
    log.append(first)
    with pytest.raises(Conflict):
        log.append(make_decision(decision_id="another", outcome=Outcome.DECLINE))
    assert log.find("transfer:e1") == first


def test_decided_since_streams_logged_events_by_event_time_with_their_outcomes(log: Log) -> None:
    for minutes, key, outcome in (
        (20, "c", Outcome.HOLD),
        (-5, "old", Outcome.ALLOW),
        (0, "a", Outcome.DECLINE),
        (10, "b", Outcome.STEP_UP),
    ):
        log.append(make_decision(key, event=make_event(key, minutes=minutes), outcome=outcome))
    decided = list(log.decided_since(AT))
    assert [(event.event_id, outcome) for event, outcome in decided] == [
        ("a", Outcome.DECLINE),
        ("b", Outcome.STEP_UP),
        ("c", Outcome.HOLD),
    ]
    assert decided[0][0] == make_event("a")


def test_engine_answers_a_retry_with_the_stored_decision(log: Log) -> None:
    engine = DecisionEngine(state=MemoryKeyedState(), log=log, values=MappingCustomerValues({}))
    first = engine.decide(make_event())
    again = engine.decide(make_event())
    assert again.replayed
    assert again.to_json() == first.to_json()


def test_the_stored_payload_is_the_decisions_json(sql_log: SqlDecisionLog, engine: Engine) -> None:
    decision = make_decision(outcome=Outcome.STEP_UP)
    sql_log.append(decision)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM protection_decisions")).mappings().one()
    assert orjson.loads(row["payload"]) == decision.to_json()
    assert row["action"] == "step_up"
    assert (row["customer_id"], row["event_kind"], row["ruleset"]) == (
        "c1",
        "transfer",
        "default@3",
    )


@pytest.mark.parametrize("outcome", [Outcome.HOLD, Outcome.DECLINE])
def test_holds_and_declines_open_an_alert(sql_log: SqlDecisionLog, outcome: Outcome) -> None:
    sql_log.append(make_decision(outcome=outcome))
    sql_log.append(make_decision("transfer:e2", event=make_event("e2"), outcome=Outcome.STEP_UP))
    [alert] = sql_log.open_alerts()
    assert (alert.decision_id, alert.customer_id) == ("d-transfer:e1", "c1")
    assert (alert.outcome, alert.status, alert.risk) == (outcome, "open", 0.4321)
    assert alert.created_at == AT + timedelta(milliseconds=5)


def test_a_conflicting_decline_leaves_no_alert(sql_log: SqlDecisionLog) -> None:
    sql_log.append(make_decision())
    with pytest.raises(Conflict):
        sql_log.append(make_decision(decision_id="again", outcome=Outcome.DECLINE))
    assert sql_log.open_alerts() == []


def test_lists_a_customers_newest_decisions_first(sql_log: SqlDecisionLog) -> None:
    for minutes in range(4):
        event = make_event(f"e{minutes}", minutes=minutes)
        sql_log.append(make_decision(f"k{minutes}", event=event))
    sql_log.append(make_decision("other", event=make_event("x", customer_id="c2")))
    listed = sql_log.decisions(customer_id="c1", since=AT + timedelta(minutes=1), limit=2)
    assert [d.idempotency_key for d in listed] == ["k3", "k2"]
    assert len(sql_log.decisions()) == 5


def test_timestamps_come_back_timezone_aware_utc(sql_log: SqlDecisionLog) -> None:
    sql_log.append(make_decision())
    [(event, _)] = sql_log.decided_since(AT - timedelta(days=1))
    decision = sql_log.decisions()[0]
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert decision.decided_at.utcoffset() == timedelta(0)


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_drops_the_protection_tables_and_upgrade_restores_them(
    engine: Engine,
) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001_auth")
        assert not any(
            name.startswith("protection_") for name in sa.inspect(connection).get_table_names()
        )
        command.upgrade(config, "head")
        assert "protection_decisions" in sa.inspect(connection).get_table_names()


def test_the_write_ahead_log_starts_again_under_a_steady_stream_of_appends(
    tmp_path: Path,
) -> None:
    # A checkpoint beside a writer that never pauses never copies the whole log, so without the
    # held second pass SQLite never starts it again and it grows by every page of every commit.
    path = tmp_path / "log.sqlite3"
    upgrade_to_head(f"sqlite:///{path}")
    store = create_store_engine(f"sqlite:///{path}")
    log = SqlDecisionLog(store, checkpoint_seconds=0.02)
    try:
        started = time.monotonic()
        appended = 0
        while time.monotonic() - started < 1.5:  # about 75 checkpoint rounds
            event = make_event(f"e{appended}", customer_id=f"c{appended % 97}")
            log.append(make_decision(f"transfer:e{appended}", event=event))
            appended += 1
        wal = path.with_name(path.name + "-wal").stat().st_size
        with store.connect() as connection:
            page = int(connection.exec_driver_sql("PRAGMA page_size").scalar_one())
    finally:
        log.close()
        store.dispose()
    # every append rewrites several pages (five or so); a log that never starts again holds them
    # all, one that does holds a few rounds' worth
    assert wal < appended * page, (wal, appended)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset_minutes=st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_the_fast_sqlite_timestamp_is_what_sqlalchemy_would_store(
    moment: datetime, offset_minutes: int
) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    dialect = sqlite.dialect()
    sqlalchemys = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert sqlalchemys is not None
    assert sqlite_utc_text(aware) == sqlalchemys(aware)


def test_the_fast_sqlite_timestamp_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sqlite_utc_text(datetime(2025, 3, 1, 9, 30))
    assert sqlite_utc_text(None) is None
