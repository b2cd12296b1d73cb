"""Data-subject requests on SQLite and PostgreSQL: the store, and export / correction / erasure
run end to end on the real vault, ledger, audit trail and a DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql.audit import AUDIT_HEAD, AUDIT_LOG, SqlAuditLog
from tenure.adapters.sql.consent import CONSENT_EVENTS, SqlConsentLedger
from tenure.adapters.sql.identity import CUSTOMER_IDENTITY, SqlIdentityVault
from tenure.adapters.sql.subject_requests import (
    SUBJECT_REQUEST_HISTORY,
    SUBJECT_REQUESTS,
    SqlSubjectRequestStore,
    StoreSubjectRecords,
)
from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound
from tenure.data.ingest.protection import KeyedPiiProtector
from tenure.privacy.audit import GENESIS_HASH
from tenure.privacy.consent import Channel, ConsentService, ConsentSource, Purpose
from tenure.privacy.identity import CustomerIdentity, IdentityNotFound
from tenure.privacy.keys import generate_key_ring
from tenure.privacy.subject_requests import (
    ERASURE_POLICY,
    OutcomeAction,
    RequestKind,
    RequestStatus,
    StatusChange,
    SubjectRequest,
    SubjectRequestService,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ANN = CustomerIdentity(
    "C1", full_name="张三丰", phone="13812341234", email="ann@example.com",
    id_number="11010119900307123X",
)  # fmt: skip


def _reset(engine: Engine) -> None:
    # The PostgreSQL database lives for the whole session: leave these tables as migrated.
    with engine.begin() as connection:
        for table in (SUBJECT_REQUEST_HISTORY, SUBJECT_REQUESTS, CONSENT_EVENTS, CUSTOMER_IDENTITY):
            connection.execute(sa.delete(table))
        connection.execute(sa.delete(AUDIT_LOG))
        connection.execute(sa.delete(AUDIT_HEAD))
        connection.execute(sa.insert(AUDIT_HEAD).values(id=1, seq=0, hash=GENESIS_HASH, at=None))


@pytest.fixture
def store_engine(engine: Engine) -> Iterator[Engine]:
    _reset(engine)
    yield engine
    _reset(engine)


@pytest.fixture
def store(store_engine: Engine) -> SqlSubjectRequestStore:
    return SqlSubjectRequestStore(store_engine)


def request(
    request_id: str = "SR-1", *, customer_id: str = "C1", due_days: int = 15
) -> SubjectRequest:
    return SubjectRequest(
        request_id=request_id,
        customer_id=customer_id,
        kind=RequestKind.EXPORT,
        status=RequestStatus.RECEIVED,
        received_at=T0,
        due_at=T0 + timedelta(days=due_days),
        received_by="dpo",
        history=(StatusChange(RequestStatus.RECEIVED, T0, "dpo", "letter at branch 12"),),
        note="letter at branch 12",
    )


def test_a_stored_request_reads_back_whole(store: SqlSubjectRequestStore) -> None:
    store.add(request())

    assert store.get("SR-1") == request()
    with pytest.raises(NotFound):
        store.get("SR-404")


def test_moves_append_to_the_history_and_a_stale_move_conflicts(
    store: SqlSubjectRequestStore,
) -> None:
    store.add(request())
    started = request().moved(RequestStatus.IN_PROGRESS, at=T0 + timedelta(1), actor="amy")
    store.save(started, expected=RequestStatus.RECEIVED)
    rejected = request().moved(RequestStatus.REJECTED, at=T0 + timedelta(2), actor="bob")

    with pytest.raises(Conflict):
        store.save(rejected, expected=RequestStatus.RECEIVED)
    with pytest.raises(NotFound):
        store.save(request("SR-9"), expected=RequestStatus.RECEIVED)

    stored = store.get("SR-1")
    assert stored == started
    assert [(c.status, c.actor) for c in stored.history] == [
        (RequestStatus.RECEIVED, "dpo"), (RequestStatus.IN_PROGRESS, "amy"),
    ]  # fmt: skip


def test_list_filters_and_orders_soonest_due_first(store: SqlSubjectRequestStore) -> None:
    store.add(request("SR-late", due_days=2))
    store.add(request("SR-soon", customer_id="C2", due_days=1))
    store.add(request("SR-later", due_days=30))
    done = request("SR-done", due_days=1).moved(RequestStatus.REJECTED, at=T0, actor="dpo")
    store.add(request("SR-done", due_days=1))
    store.save(done, expected=RequestStatus.RECEIVED)

    every = [r.request_id for r in store.list()]
    overdue = [r.request_id for r in store.list(overdue_at=T0 + timedelta(days=5))]

    assert every == ["SR-done", "SR-soon", "SR-late", "SR-later"]
    assert overdue == ["SR-soon", "SR-late"]
    assert [r.request_id for r in store.list(customer_id="C2")] == ["SR-soon"]
    assert [r.request_id for r in store.list(status=RequestStatus.REJECTED)] == ["SR-done"]


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        warehouse.execute(
            "INSERT INTO customers (customer_id, customer_type, full_name, region, kyc_risk, "
            "channel_preference, opened_at) VALUES "
            "('C1', 'retail', 'pseudo-name-C1', 'SH', 'low', 'mobile', ?), "
            "('C2', 'retail', 'pseudo-name-C2', 'BJ', 'low', 'web', ?)",
            [T0 - timedelta(days=400), T0 - timedelta(days=300)],
        )
        warehouse.execute("CREATE TABLE customer_retention (customer_id VARCHAR, p_churn DOUBLE)")
        warehouse.execute("INSERT INTO customer_retention VALUES ('C1', 0.7), ('C2', 0.1)")
    return path


@pytest.fixture
def service(store_engine: Engine, warehouse_path: Path) -> SubjectRequestService:
    clock = FixedClock(T0)
    audit = SqlAuditLog(store_engine)
    consents = ConsentService(SqlConsentLedger(store_engine), clock=clock, audit=audit)
    return SubjectRequestService(
        SqlSubjectRequestStore(store_engine),
        consents=consents,
        records=StoreSubjectRecords(store_engine, warehouse_path),
        audit=audit,
        clock=clock,
    )


def test_export_holds_identity_warehouse_rows_consents_and_audit_of_the_customer_only(
    service: SubjectRequestService, store_engine: Engine
) -> None:
    vault = SqlIdentityVault(store_engine, ring=generate_key_ring())
    vault.upsert([ANN, CustomerIdentity("C2", full_name="Bob")])
    service.consents.record(customer_id="C1", purpose=Purpose.MARKETING, channel=Channel.SMS,
                            granted=True, source=ConsentSource.AGENT, actor="agent-7")  # fmt: skip
    opened = service.open(customer_id="C1", kind=RequestKind.EXPORT, actor="dpo")

    result = service.export(request_id=opened.request_id, actor="dpo", vault=vault)

    document = result.document
    assert document["identity"] == {"status": "held", "fields": ANN.values()}
    tables = document["warehouse"]["tables"]
    assert [row["full_name"] for row in tables["customers"]] == ["pseudo-name-C1"]
    assert tables["customer_retention"] == [{"customer_id": "C1", "p_churn": 0.7}]
    assert [e["status"] for e in document["consents"]["history"]] == ["given"]
    actions = [entry["action"] for entry in document["audit_entries"]]
    assert actions == ["consent.given", "subject_request.opened"]
    assert result.request.status is RequestStatus.COMPLETED
    (item,) = result.request.outcome
    assert item.action is OutcomeAction.EXPORTED
    assert str(item.reference).startswith("sha256:")


def test_correction_changes_only_the_named_fields_and_audits_their_names(
    service: SubjectRequestService, store_engine: Engine
) -> None:
    vault = SqlIdentityVault(store_engine, ring=generate_key_ring())
    vault.upsert([ANN])
    opened = service.open(customer_id="C1", kind=RequestKind.CORRECTION, actor="dpo")

    done = service.correct(
        request_id=opened.request_id, actor="dpo", vault=vault,
        changes={"email": "new@example.com", "full_name": ANN.full_name},
    )  # fmt: skip

    assert vault.reveal("C1") == {**ANN.values(), "email": "new@example.com"}
    assert [item.what for item in done.outcome] == ["identity.email"]
    last = list(SqlAuditLog(store_engine).entries())[-1]
    assert (last.action, dict(last.details)["fields"]) == ("subject_request.corrected", ["email"])
    assert "new@example.com" not in str(dict(last.details))


def test_erasure_shreds_the_identity_keeps_what_the_law_requires_and_survives_a_reload(
    service: SubjectRequestService, store_engine: Engine, warehouse_path: Path
) -> None:
    ring = generate_key_ring()
    vault = SqlIdentityVault(store_engine, ring=ring)
    vault.upsert([ANN, CustomerIdentity("C2", full_name="Bob")])
    service.consents.record(customer_id="C1", purpose=Purpose.MARKETING, channel=Channel.EMAIL,
                            granted=True, source=ConsentSource.API, actor="app")  # fmt: skip
    opened = service.open(customer_id="C1", kind=RequestKind.ERASURE, actor="dpo")

    done = service.erase(request_id=opened.request_id, actor="dpo", vault=vault)

    with pytest.raises(IdentityNotFound) as raised:
        vault.reveal("C1")
    assert raised.value.erased is True
    assert vault.reveal("C2")["full_name"] == "Bob"
    outcome = {item.what: item for item in done.outcome}
    assert [item.what for item in done.outcome] == [rule.what for rule in ERASURE_POLICY]
    assert outcome["identity_vault"].action is OutcomeAction.ERASED
    assert outcome["profiling_scores"].records == 1
    kept = [item for item in done.outcome if item.action is OutcomeAction.KEPT]
    assert {item.what for item in kept} >= {"consent_history", "audit_trail", "warehouse_records"}
    assert all(item.legal_reason for item in kept)
    assert service.consents.may_contact("C1", Purpose.MARKETING, Channel.EMAIL).allowed is False
    assert outcome["consent_history"].records == 2  # the grant, and the erasure's withdrawal

    KeyedPiiProtector(ring=ring, vault=vault).keep_identities([ANN])  # the next extract
    with pytest.raises(IdentityNotFound):
        vault.reveal("C1")
    document = service.export_document("C1", vault=vault)
    assert document["identity"] == {"status": "erased", "fields": None}
    assert "张三丰" not in str(document)
    assert (
        "customer_retention" not in document["warehouse"]["tables"]
        or not (document["warehouse"]["tables"]["customer_retention"])
    )
    assert SqlAuditLog(store_engine).verify().intact
    with pytest.raises(Conflict):
        service.erase(request_id=opened.request_id, actor="dpo", vault=vault)


def test_a_request_of_another_kind_cannot_be_fulfilled_as_an_erasure(
    service: SubjectRequestService, store_engine: Engine
) -> None:
    vault = SqlIdentityVault(store_engine, ring=generate_key_ring())
    vault.upsert([ANN])
    opened = service.open(customer_id="C1", kind=RequestKind.EXPORT, actor="dpo")

    with pytest.raises(Conflict):
        service.erase(request_id=opened.request_id, actor="dpo", vault=vault)

    assert vault.reveal("C1") == ANN.values()
    assert service.store.get(opened.request_id).status is RequestStatus.RECEIVED
