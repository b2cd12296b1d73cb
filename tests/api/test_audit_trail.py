"""What the API audits lands in the hash-chained trail in the store, and the trail verifies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.auth import service
from tenure.core.roles import Role
from tenure.privacy.audit import AuditRecord
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.store_backends  # on SQLite and on PostgreSQL

PASSWORD = "correct horse battery"
Headers = dict[str, str]
RULESET = {
    "name": "default",
    "description": "Test rules.",
    "rules": [
        {
            "id": "payee_p9",
            "description": "Money to payee P9.",
            "events": ["transfer"],
            "when": {"field": "event.payee_id", "op": "eq", "value": "P9"},
            "score": 0.2,
            "outcome": "step_up",
        }
    ],
}


@pytest.fixture
def trail(settings: Settings) -> Iterator[SqlAuditLog]:
    engine = create_store_engine(settings.operational_url)
    yield SqlAuditLog(engine)
    engine.dispose()


def written(trail: SqlAuditLog, count: int) -> list[AuditRecord]:
    """The trail once it holds ``count`` entries (on SQLite a writer thread appends them)."""
    deadline = time.monotonic() + 10
    while (head := trail.head()) is not None and head.seq < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(trail.entries())


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Headers:
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_logins_succeeded_and_failed_are_chained_in_the_store(
    client: TestClient, uow_factory: SqlUnitOfWorkFactory, trail: SqlAuditLog
) -> None:
    user = service.create_user(
        uow=uow_factory(), username="ann", password=PASSWORD, roles=[Role.FRAUD_ANALYST]
    )
    sign_in(client, "ann")
    refused = client.post("/v1/auth/token", data={"username": " Ann ", "password": "wrong" * 3})
    assert refused.status_code == 401

    succeeded, failed = written(trail, 2)
    assert (succeeded.actor, succeeded.action, succeeded.subject) == (
        "ann",
        "auth.login_succeeded",
        f"user:{user.id}",
    )
    assert (failed.actor, failed.action, dict(failed.details)) == (
        "anonymous",
        "auth.login_failed",
        {"username": "ann"},
    )
    assert PASSWORD not in str(failed.details)
    assert trail.verify().intact


def test_a_rule_set_approval_leaves_verified_entries(
    client: TestClient, uow_factory: SqlUnitOfWorkFactory, trail: SqlAuditLog
) -> None:
    for name in ("author", "approver"):
        service.create_user(
            uow=uow_factory(), username=name, password=PASSWORD, roles=[Role.FRAUD_ANALYST]
        )
    author, approver = sign_in(client, "author"), sign_in(client, "approver")
    drafted = client.post("/v1/rulesets/default/drafts", json=RULESET, headers=author)
    assert drafted.status_code == 201, drafted.text
    approved = client.post("/v1/rulesets/default/versions/1/approve", headers=approver)
    assert approved.status_code == 200, approved.text

    records = written(trail, 4)
    actions = [record.action for record in records]
    assert actions == [
        "auth.login_succeeded",
        "auth.login_succeeded",
        "protection.ruleset_drafted",
        "protection.ruleset_approved",
    ]
    [approval] = [r for r in records if r.action == "protection.ruleset_approved"]
    assert approval.subject == "ruleset:default@1"
    assert approval.details["status"] == "approved"
    report = trail.verify()
    assert report.intact, report.summary()
    assert report.checked == 4


def test_a_corporate_step_recorded_inside_its_unit_of_work_reaches_the_trail(
    client: TestClient, uow_factory: SqlUnitOfWorkFactory, trail: SqlAuditLog
) -> None:
    service.create_user(
        uow=uow_factory(), username="desk", password=PASSWORD, roles=[Role.CORPORATE_ADMIN]
    )
    staff = sign_in(client, "desk")
    mandate = {"tiers": [{"above_minor": 1_000_000, "approvers": 2}]}
    published = client.put("/v1/corporate/K1/mandate", json=mandate, headers=staff)
    assert published.status_code == 200, published.text
    records = written(trail, 2)
    assert [r.action for r in records] == ["auth.login_succeeded", "corporate.mandate_published"]
    assert trail.verify().intact


def test_users_and_api_keys_created_revoked_and_rotated_are_audited_without_secrets(
    client: TestClient, uow_factory: SqlUnitOfWorkFactory, trail: SqlAuditLog
) -> None:
    root = service.create_user(
        uow=uow_factory(), username="root", password=PASSWORD, roles=[Role.ADMIN]
    )
    admin = sign_in(client, "root")
    made = client.post(
        "/v1/users",
        json={"username": "bob", "password": "a long enough pass 1", "roles": ["fraud_analyst"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    first = client.post("/v1/api-keys", json={"name": "core", "roles": ["system"]}, headers=admin)
    second = client.post("/v1/api-keys", json={"name": "app", "roles": ["system"]}, headers=admin)
    assert first.status_code == second.status_code == 201
    first_id, second_id = first.json()["id"], second.json()["id"]
    rotated = client.post(f"/v1/api-keys/{first_id}/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text
    assert client.delete(f"/v1/api-keys/{second_id}", headers=admin).status_code == 200

    entries = [e for e in written(trail, 6) if e.action != "auth.login_succeeded"]
    assert [(e.actor, e.action) for e in entries] == [
        (root.id, "user.created"),
        (root.id, "api_key.created"),
        (root.id, "api_key.created"),
        (root.id, "api_key.rotated"),
        (root.id, "api_key.revoked"),
    ]
    assert entries[0].subject == f"user:{made.json()['id']}"
    assert dict(entries[0].details) == {"username": "bob", "roles": ["fraud_analyst"]}
    assert entries[3].subject == f"api_key:{rotated.json()['id']}"
    assert dict(entries[3].details)["replaces"] == first_id
    assert entries[4].subject == f"api_key:{second_id}"
    written_text = " ".join(str(dict(e.details)) for e in entries)
    for secret in (first.json()["key"], second.json()["key"], rotated.json()["key"]):
        assert secret not in written_text
    assert "a long enough pass 1" not in written_text
    assert trail.verify().intact
