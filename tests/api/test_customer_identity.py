"""A customer's identity over the API: masked by role, clear and audited for pii:read with a reason.

Runs on SQLite and on PostgreSQL; the vault is filled through ``SqlIdentityVault.upsert`` under a
test key ring handed to the app as ``TENURE_KEYS``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from log_capture import leaks
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import AUDIT_HEAD, AUDIT_LOG, SqlAuditLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.api import create_app
from tenure.auth import service, tokens
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.privacy.audit import GENESIS_HASH, AuditRecord
from tenure.privacy.identity import CustomerIdentity
from tenure.privacy.keys import KeyRing, generate_key_ring
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Headers = dict[str, str]
PASSWORD = "correct horse battery"
REASON = "complaint CMP-42: caller asked to confirm her details"
ANN = CustomerIdentity(
    "C1", full_name="张三丰", phone="13812341234", email="ann@example.com",
    id_number="110101199003071234",
)  # fmt: skip
BOB = CustomerIdentity(
    "C2", full_name="Bob Lee", phone="13812341234", id_number="310101198505052345"
)
GONE = CustomerIdentity("C3", full_name="Erased Person", phone="13900000000")
CLEAR_VALUES = [
    "张三丰", "13812341234", "ann@example.com", "110101199003071234", "Bob Lee",
    "310101198505052345", "1381234", "110101199003",
]  # fmt: skip
ANN_MASKED = {
    "customer_id": "C1",
    "masked": True,
    "full_name": "张**",
    "phone": "138****1234",
    "email": "a***@example.com",
    "id_number": "1101**********1234",
}
_OWN_TABLES = ("customer_identity", "api_keys", "users", "instance_secrets")


def _reset(engine: Engine) -> None:
    # The PostgreSQL database lives for the whole session: leave what this module wrote empty.
    with engine.begin() as connection:
        for table in _OWN_TABLES:
            connection.execute(sa.text(f"DELETE FROM {table}"))
        connection.execute(AUDIT_LOG.delete())
        connection.execute(AUDIT_HEAD.delete())
        connection.execute(AUDIT_HEAD.insert().values(id=1, seq=0, hash=GENESIS_HASH, at=None))


@pytest.fixture
def ring() -> KeyRing:
    return generate_key_ring()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, data_dir: Path, ring: KeyRing) -> Iterator[Settings]:
    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        jwt_secret=SecretStr("test-secret-" * 4),
        keys=SecretStr(ring.to_json()),
    )
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    _reset(engine)
    try:
        yield settings
    finally:
        _reset(engine)
        engine.dispose()


@pytest.fixture
def store(settings: Settings) -> Iterator[Engine]:
    engine = create_store_engine(settings.operational_url)
    yield engine
    engine.dispose()


@pytest.fixture
def vault(store: Engine, ring: KeyRing) -> SqlIdentityVault:
    vault = SqlIdentityVault(store, ring=ring)
    vault.upsert([ANN, BOB, GONE])
    vault.erase("C3")
    return vault


@pytest.fixture
def headers_for(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> dict[Role, Headers]:
    """Bearer headers of one user per role, created on first use."""

    class _Headers(dict[Role, Headers]):
        def __missing__(self, role: Role) -> Headers:
            user = service.create_user(
                uow=uow_factory(), username=f"{role.value}-id", password=PASSWORD, roles=[role]
            )
            assert settings.jwt_secret is not None
            token = tokens.issue_token(
                principal=service.principal_for(user),
                secret=settings.jwt_secret,
                clock=clock,
                ttl=timedelta(minutes=settings.jwt_ttl_minutes),
            )
            self[role] = {"Authorization": f"Bearer {token}"}
            return self[role]

    return _Headers()


def _trail(store: Engine, count: int) -> list[AuditRecord]:
    """The trail once it holds ``count`` entries (on SQLite a writer thread appends them)."""
    log = SqlAuditLog(store)
    deadline = time.monotonic() + 10
    while (head := log.head()) is not None and head.seq < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(log.entries())


def _raw_trail(store: Engine) -> str:
    with store.connect() as connection:
        rows = connection.execute(sa.select(AUDIT_LOG)).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def _identity(client: TestClient, headers: Headers, customer_id: str = "C1", **query: str) -> Any:
    return client.get(f"/v1/customers/{customer_id}/identity", params=query, headers=headers)


@pytest.mark.usefixtures("vault")
def test_masks_the_identity_for_a_role_without_pii_read(
    client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    response = _identity(client, headers_for[Role.RETENTION_ANALYST])

    assert response.status_code == 200, response.text
    assert response.json() == ANN_MASKED
    assert _identity(client, headers_for[Role.FRAUD_ANALYST], "C2").json()["full_name"] == "B. Lee"
    assert [r for r in _trail(store, 0) if r.action == "pii.view"] == []


@pytest.mark.usefixtures("vault")
def test_a_pii_reader_sees_masked_values_unless_asking_to_reveal(
    client: TestClient, headers_for: dict[Role, Headers]
) -> None:
    response = _identity(client, headers_for[Role.SERVICE_AGENT])

    assert response.json() == ANN_MASKED


@pytest.mark.usefixtures("vault")
def test_reveals_in_clear_with_pii_read_and_a_reason_and_audits_the_view(
    client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    response = _identity(client, headers_for[Role.SERVICE_AGENT], reveal="true", reason=REASON)

    assert response.status_code == 200, response.text
    assert response.json() == {**ANN.values(), "customer_id": "C1", "masked": False}
    (view,) = [r for r in _trail(store, 1) if r.action == "pii.view"]
    assert view.subject == "customer:C1"
    assert view.actor != "anonymous"
    assert dict(view.details) == {
        "fields": ["full_name", "phone", "email", "id_number"],
        "reason": REASON,
    }
    assert not [value for value in CLEAR_VALUES if value in _raw_trail(store)]


@pytest.mark.usefixtures("vault")
def test_the_audit_names_only_the_fields_that_were_shown(
    client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    response = _identity(client, headers_for[Role.PRIVACY_OFFICER], "C2", reveal="1", reason=REASON)

    assert response.json()["email"] is None
    (view,) = [r for r in _trail(store, 1) if r.action == "pii.view"]
    assert view.details["fields"] == ["full_name", "phone", "id_number"]


@pytest.mark.usefixtures("vault")
@pytest.mark.parametrize("role", [Role.RETENTION_ANALYST, Role.FRAUD_ANALYST])
def test_reveal_without_pii_read_is_refused_and_not_audited(
    role: Role,
    client: TestClient,
    headers_for: dict[Role, Headers],
    store: Engine,
    error_of: object,
) -> None:
    response = _identity(client, headers_for[role], reveal="true", reason=REASON)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "pii:read" in response.json()["error"]["message"]
    assert "张" not in response.text
    assert [r for r in _trail(store, 0) if r.action == "pii.view"] == []


@pytest.mark.usefixtures("vault")
@pytest.mark.parametrize("reason", [None, "because"])
def test_reveal_without_a_reason_is_refused(
    reason: str | None, client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    query = {"reveal": "true"} | ({} if reason is None else {"reason": reason})

    response = _identity(client, headers_for[Role.SERVICE_AGENT], **query)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason"
    assert [r for r in _trail(store, 0) if r.action == "pii.view"] == []


@pytest.mark.usefixtures("vault")
def test_roles_that_do_not_look_customers_up_are_refused(
    client: TestClient, headers_for: dict[Role, Headers]
) -> None:
    for role in (Role.PLATFORM_ENGINEER, Role.CORPORATE_ADMIN, Role.SYSTEM):
        assert _identity(client, headers_for[role]).status_code == 403
        lookup = client.post(
            "/v1/customers/lookup", json={"phone": ANN.phone}, headers=headers_for[role]
        )
        assert lookup.status_code == 403


@pytest.mark.usefixtures("vault")
def test_an_unknown_customer_is_404_naming_the_customer_id(
    client: TestClient, headers_for: dict[Role, Headers]
) -> None:
    response = _identity(client, headers_for[Role.SERVICE_AGENT], "C404")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["field"] == "customer_id"
    assert "C404" in error["message"]
    assert "not in the identity vault" in error["message"]


@pytest.mark.usefixtures("vault")
def test_an_erased_customer_is_404_saying_the_identity_was_erased(
    client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    headers = headers_for[Role.PRIVACY_OFFICER]

    masked = _identity(client, headers, "C3")
    clear = _identity(client, headers, "C3", reveal="true", reason=REASON)

    for response in (masked, clear):
        assert response.status_code == 404
        assert "C3" in response.json()["error"]["message"]
        assert "was erased" in response.json()["error"]["message"]
    assert "Erased" not in masked.text + clear.text
    assert [r for r in _trail(store, 0) if r.action == "pii.view"] == []


@pytest.mark.usefixtures("vault")
def test_looks_customers_up_by_id_number_and_by_phone_in_the_body(
    client: TestClient, headers_for: dict[Role, Headers], store: Engine
) -> None:
    headers = headers_for[Role.SERVICE_AGENT]

    by_id = client.post(
        "/v1/customers/lookup", json={"id_number": "110101 19900307 1234"}, headers=headers
    )
    by_phone = client.post(
        "/v1/customers/lookup", json={"phone": "+86 138-1234-1234"}, headers=headers
    )
    nobody = client.post("/v1/customers/lookup", json={"phone": "13900000000"}, headers=headers)

    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == {"searched": "id_number", "matches": [ANN_MASKED], "truncated": False}
    assert [m["customer_id"] for m in by_phone.json()["matches"]] == ["C1", "C2"]
    assert all(m["masked"] for m in by_phone.json()["matches"])
    assert nobody.json()["matches"] == []  # the erased customer's indexes were shredded
    lookups = [r for r in _trail(store, 3) if r.action == "pii.lookup"]
    assert [(dict(r.details), r.subject) for r in lookups] == [
        ({"searched": "id_number", "matches": 1, "customer_ids": ["C1"]}, "customers:id_number"),
        ({"searched": "phone", "matches": 2, "customer_ids": ["C1", "C2"]}, "customers:phone"),
        ({"searched": "phone", "matches": 0, "customer_ids": []}, "customers:phone"),
    ]
    raw = _raw_trail(store)
    assert not [v for v in [*CLEAR_VALUES, "13900000000", "138-1234"] if v in raw]


@pytest.mark.usefixtures("vault")
@pytest.mark.parametrize(
    "body",
    [{}, {"id_number": "110101199003071234", "phone": "13812341234"}, {"email": "a@b.c"},
     {"phone": ""}, {"phone": " - "}],
)  # fmt: skip
def test_a_lookup_needs_exactly_one_usable_identifier(
    body: dict[str, str], client: TestClient, headers_for: dict[Role, Headers]
) -> None:
    response = client.post("/v1/customers/lookup", json=body, headers=headers_for[Role.ADMIN])

    assert response.status_code == 422
    assert not [value for value in body.values() if len(value) > 4 and value in response.text]


def test_no_key_ring_is_a_503_naming_the_fix(
    settings: Settings,
    clock: FixedClock,
    client_class: type[TestClient],
    headers_for: dict[Role, Headers],
    vault: SqlIdentityVault,
) -> None:
    keyless = settings.model_copy(update={"keys": None})
    app: FastAPI = create_app(keyless, clock=clock)
    with client_class(app) as client:
        headers = headers_for[Role.SERVICE_AGENT]
        identity = _identity(client, headers)
        lookup = client.post("/v1/customers/lookup", json={"phone": "138"}, headers=headers)
        unknown = _identity(client, headers, "C404")

    for response in (identity, lookup):
        assert response.status_code == 503
        message = response.json()["error"]["message"]
        assert "tenure keys init" in message
        assert "TENURE_KEYS" in message
        assert str(settings.data_dir) not in message
    assert unknown.status_code == 404


@pytest.mark.usefixtures("vault")
def test_no_clear_identity_or_searched_value_reaches_a_log(
    client: TestClient,
    headers_for: dict[Role, Headers],
    every_logger_at_debug: pytest.LogCaptureFixture,
    store: Engine,
) -> None:
    agent, analyst = headers_for[Role.SERVICE_AGENT], headers_for[Role.RETENTION_ANALYST]
    every_logger_at_debug.clear()

    assert _identity(client, agent, reveal="true", reason=REASON).status_code == 200
    assert _identity(client, analyst, reveal="true", reason=REASON).status_code == 403
    assert _identity(client, agent, "C2", reveal="true", reason=REASON).status_code == 200
    for body in ({"id_number": ANN.id_number}, {"phone": ANN.phone}, {"phone": "+86 138"}):
        assert client.post("/v1/customers/lookup", json=body, headers=agent).status_code in (
            200,
            422,
        )
    _trail(store, 5)

    records = [r for r in every_logger_at_debug.records if not r.name.startswith("httpx")]
    assert any(r.name == "tenure.audit" and "pii.view" in r.getMessage() for r in records)
    assert leaks(records, CLEAR_VALUES) == []
