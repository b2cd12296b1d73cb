"""Consents and data-subject requests through the API: permissions, the ledger, the audit trail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from pydantic import SecretStr

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.auth import service, tokens
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.privacy.audit import AuditRecord
from tenure.privacy.identity import CustomerIdentity, IdentityNotFound
from tenure.privacy.keys import KeyRing, generate_key_ring
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
Headers = dict[str, str]
ANN = CustomerIdentity(
    "C1", full_name="张三丰", phone="13812341234", email="ann@example.com",
    id_number="11010119900307123X",
)  # fmt: skip


@pytest.fixture
def ring() -> KeyRing:
    return generate_key_ring()


@pytest.fixture
def settings(data_dir: Path, ring: KeyRing) -> Settings:
    settings = Settings(
        data_dir=data_dir, jwt_secret=SecretStr("test-secret-" * 4), keys=SecretStr(ring.to_json())
    )
    upgrade_to_head(settings.operational_url)
    return settings


@pytest.fixture
def vault(settings: Settings, ring: KeyRing) -> Iterator[SqlIdentityVault]:
    engine = create_store_engine(settings.operational_url)
    vault = SqlIdentityVault(engine, ring=ring)
    vault.upsert([ANN])
    yield vault
    engine.dispose()


@pytest.fixture
def trail(settings: Settings) -> Iterator[SqlAuditLog]:
    engine = create_store_engine(settings.operational_url)
    yield SqlAuditLog(engine)
    engine.dispose()


@pytest.fixture
def warehouse(settings: Settings) -> Path:
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("CREATE TABLE customers (customer_id VARCHAR, full_name VARCHAR)")
        connection.execute("INSERT INTO customers VALUES ('C1', 'pseudo-C1'), ('C2', 'pseudo-C2')")
        connection.execute("CREATE TABLE customer_retention (customer_id VARCHAR, p_churn DOUBLE)")
        connection.execute("INSERT INTO customer_retention VALUES ('C1', 0.8)")
    return settings.warehouse_path


def headers_for(
    role: Role, uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> Headers:
    user = service.create_user(
        uow=uow_factory(), username=f"{role.value}-p", password=PASSWORD, roles=[role]
    )
    assert settings.jwt_secret is not None
    token = tokens.issue_token(
        principal=service.principal_for(user), secret=settings.jwt_secret, clock=clock,
        ttl=timedelta(minutes=settings.jwt_ttl_minutes),
    )  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def officer(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    """A privacy officer's machine key: it does not expire when a test moves the clock on."""
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="privacy desk", roles=[Role.PRIVACY_OFFICER], clock=clock
    )
    return {"X-API-Key": plaintext}


@pytest.fixture
def marketer(uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock) -> Headers:
    return headers_for(Role.MARKETING_MANAGER, uow_factory, settings, clock)


def written(trail: SqlAuditLog, count: int) -> list[AuditRecord]:
    """The trail once it holds ``count`` entries (on SQLite a writer thread appends them)."""
    deadline = time.monotonic() + 10
    while (head := trail.head()) is not None and head.seq < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(trail.entries())


def give(client: TestClient, headers: Headers, body: dict[str, Any], cid: str = "C1") -> Any:
    response = client.post(f"/v1/customers/{cid}/consents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_consent_given_then_withdrawn_is_checked_kept_in_history_and_audited(
    client: TestClient, officer: Headers, clock: FixedClock, trail: SqlAuditLog
) -> None:
    check = {"customer_id": "C1", "purpose": "marketing", "channel": "sms"}
    before = client.get("/v1/consents/check", params=check, headers=officer).json()
    given = give(client, officer, {"purpose": "marketing", "channel": "sms", "status": "given"})
    allowed = client.get("/v1/consents/check", params=check, headers=officer).json()
    clock.advance(timedelta(days=1))
    give(client, officer, {"purpose": "marketing", "channel": "sms", "status": "withdrawn",
                           "source": "agent", "note": "said so on the phone"})  # fmt: skip
    denied = client.get("/v1/consents/check", params=check, headers=officer).json()
    listing = client.get("/v1/customers/C1/consents", headers=officer).json()

    assert (before["allowed"], allowed["allowed"], denied["allowed"]) == (False, True, False)
    assert allowed["event_id"] == given["event_id"]
    assert [(e["status"], e["source"]) for e in listing["history"]] == [
        ("given", "api"), ("withdrawn", "agent"),
    ]  # fmt: skip
    assert len(listing["current"]) == 12
    assert not any(state["allowed"] for state in listing["current"])
    entries = written(trail, 2)
    assert [(e.action, e.subject) for e in entries] == [
        ("consent.given", "customer:C1"), ("consent.withdrawn", "customer:C1"),
    ]  # fmt: skip
    assert trail.verify().intact


def test_roles_without_the_permission_are_refused(
    client: TestClient,
    marketer: Headers,
    analyst_headers: Headers,
    error_of: Any,
) -> None:
    body = {"purpose": "marketing", "channel": "sms", "status": "given"}

    refused_record = client.post("/v1/customers/C1/consents", json=body, headers=marketer)
    refused_read = client.get("/v1/customers/C1/consents", headers=analyst_headers)
    refused_request = client.post(
        "/v1/subject-requests", json={"customer_id": "C1", "kind": "export"}, headers=marketer
    )

    for response in (refused_record, refused_read, refused_request):
        assert response.status_code == 403
        error_of(response.json(), "permission_denied")
    assert client.get("/v1/customers/C1/consents", headers=marketer).status_code == 200


def test_a_check_at_a_time_without_a_zone_or_far_outside_the_range_is_refused(
    client: TestClient, officer: Headers
) -> None:
    base = {"customer_id": "C1", "purpose": "marketing", "channel": "sms"}
    naive = client.get("/v1/consents/check", params={**base, "at": "2025-03-01T09:00:00"},
                       headers=officer)  # fmt: skip
    ancient = client.get("/v1/consents/check", params={**base, "at": "0001-01-01T00:00:00+05:00"},
                         headers=officer)  # fmt: skip

    assert (naive.status_code, ancient.status_code) == (422, 422)


def open_request(client: TestClient, headers: Headers, kind: str, cid: str = "C1") -> Any:
    response = client.post(
        "/v1/subject-requests", json={"customer_id": cid, "kind": kind}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_requests_are_due_in_15_days_and_listed_as_overdue_after(
    client: TestClient, officer: Headers, clock: FixedClock
) -> None:
    opened = open_request(client, officer, "export")
    clock.advance(timedelta(days=16))

    overdue = client.get("/v1/subject-requests", params={"overdue": True}, headers=officer).json()
    fetched = client.get(f"/v1/subject-requests/{opened['request_id']}", headers=officer).json()

    assert opened["status"] == "received"
    assert opened["due_at"].startswith("2025-03-16T09:00")
    assert [r["request_id"] for r in overdue] == [opened["request_id"]]
    assert fetched["overdue"] is True


def test_export_answers_with_the_subjects_data_and_is_audited(
    client: TestClient, officer: Headers, vault: SqlIdentityVault, warehouse: Path,
    trail: SqlAuditLog,
) -> None:  # fmt: skip
    opened = open_request(client, officer, "export")

    response = client.post(f"/v1/subject-requests/{opened['request_id']}/fulfil", json={},
                           headers=officer)  # fmt: skip

    assert response.status_code == 200, response.text
    body = response.json()
    document = body["document"]
    assert document["identity"] == {"status": "held", "fields": ANN.values()}
    assert document["warehouse"]["tables"]["customers"] == [
        {"customer_id": "C1", "full_name": "pseudo-C1"}
    ]
    assert body["request"]["status"] == "completed"
    assert [c["status"] for c in body["request"]["history"]] == [
        "received", "in_progress", "completed",
    ]  # fmt: skip
    actions = [e.action for e in written(trail, 2)]
    assert actions == ["subject_request.opened", "subject_request.exported"]


def test_correction_through_the_api_changes_the_vault_and_audits_field_names_only(
    client: TestClient, officer: Headers, vault: SqlIdentityVault, trail: SqlAuditLog
) -> None:
    opened = open_request(client, officer, "correction")
    url = f"/v1/subject-requests/{opened['request_id']}/fulfil"

    empty = client.post(url, json={}, headers=officer)
    done = client.post(url, json={"changes": {"phone": "13900001111"}}, headers=officer)

    assert empty.status_code == 422
    assert done.status_code == 200, done.text
    assert vault.reveal("C1")["phone"] == "13900001111"
    last = written(trail, 2)[-1]
    assert (last.action, dict(last.details)["fields"]) == ("subject_request.corrected", ["phone"])
    assert "13900001111" not in str(dict(last.details))


def test_erasure_through_the_api_shreds_the_identity_and_lists_what_is_kept_and_why(
    client: TestClient, officer: Headers, vault: SqlIdentityVault, warehouse: Path,
    trail: SqlAuditLog,
) -> None:  # fmt: skip
    give(client, officer, {"purpose": "profiling", "channel": "app_push", "status": "given"})
    opened = open_request(client, officer, "erasure")

    response = client.post(f"/v1/subject-requests/{opened['request_id']}/fulfil", json={},
                           headers=officer)  # fmt: skip

    assert response.status_code == 200, response.text
    outcome = {item["what"]: item for item in response.json()["request"]["outcome"]}
    assert outcome["identity_vault"]["action"] == "erased"
    assert outcome["profiling_scores"] == {**outcome["profiling_scores"], "action": "deleted",
                                           "records": 1}  # fmt: skip
    kept = [item for item in outcome.values() if item["action"] == "kept"]
    assert {"consent_history", "audit_trail", "warehouse_records"} <= {i["what"] for i in kept}
    assert all(item["legal_reason"] for item in kept)
    with pytest.raises(IdentityNotFound) as raised:
        vault.reveal("C1")
    assert raised.value.erased
    vault.upsert([ANN])  # the next extract still lists the customer
    with pytest.raises(IdentityNotFound):
        vault.reveal("C1")
    check = {"customer_id": "C1", "purpose": "profiling", "channel": "app_push"}
    assert (
        client.get("/v1/consents/check", params=check, headers=officer).json()["allowed"] is False
    )

    export = open_request(client, officer, "export")
    document = client.post(f"/v1/subject-requests/{export['request_id']}/fulfil", json={},
                           headers=officer).json()["document"]  # fmt: skip
    assert document["identity"] == {"status": "erased", "fields": None}
    assert ANN.full_name not in str(document)
    actions = [e.action for e in written(trail, 7)]
    assert "subject_request.erased" in actions
    assert "consent.withdrawn_all" in actions


def test_a_rejected_request_keeps_its_reason_and_cannot_be_fulfilled(
    client: TestClient, officer: Headers
) -> None:
    opened = open_request(client, officer, "erasure")
    url = f"/v1/subject-requests/{opened['request_id']}"

    rejected = client.post(f"{url}/reject", json={"reason": "identity not verified"},
                           headers=officer)  # fmt: skip
    again = client.post(f"{url}/fulfil", json={}, headers=officer)

    assert rejected.status_code == 200
    last = rejected.json()["history"][-1]
    assert (last["status"], last["note"]) == ("rejected", "identity not verified")
    assert again.status_code == 409
    assert client.get("/v1/subject-requests/SR-unknown", headers=officer).status_code == 404
