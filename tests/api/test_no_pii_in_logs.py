"""With every logger at DEBUG, no secret or personal value sent to the API reaches a log record.

A sign-in (good and bad), a user creation, an event decision and failing requests are driven
through the app; passwords, tokens, API keys and their secrets, and a customer's ID number and
phone number must not appear in any record's message, arguments or traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from log_capture import leaks

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.roles import Role

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.store_backends  # on SQLite and on PostgreSQL

Headers = dict[str, str]
NEW_PASSWORD = "Zebra-Quartz-Lantern-77"
WRONG_PASSWORD = "Wrong-Guess-Opal-31"
ID_NUMBER = "110101199003074514"  # a resident identity card number, used as the customer id
PHONE = "13800138000"
BAD_PHONE = "+86 139-1234-5678"


@pytest.fixture
def channel_key(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> str:
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="mobile channel", roles=[Role.SYSTEM], clock=clock
    )
    return plaintext


def _drive(client: TestClient, admin_headers: Headers, channel_key: str) -> list[str]:
    """Exercise the API; the secret and personal values it sent."""
    body = {"username": "dora", "password": NEW_PASSWORD, "roles": ["fraud_analyst"]}
    assert client.post("/v1/users", json=body, headers=admin_headers).status_code == 201
    weak = {"username": "eve", "password": "eve-password-1", "roles": ["fraud_analyst"]}
    assert client.post("/v1/users", json=weak, headers=admin_headers).status_code == 422
    bad = client.post("/v1/auth/token", data={"username": "dora", "password": WRONG_PASSWORD})
    assert bad.status_code == 401
    good = client.post("/v1/auth/token", data={"username": "dora", "password": NEW_PASSWORD})
    assert good.status_code == 200
    token = good.json()["access_token"]
    assert (
        client.get(
            "/v1/warehouse/summary", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )

    event = {
        "event_id": "e-1",
        "customer_id": ID_NUMBER,
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "account_id": f"acct-{ID_NUMBER}",
        "amount_minor": 500_000,
        "payee_id": PHONE,
        "device_id": f"phone-{PHONE}",
    }
    channel = {"X-API-Key": channel_key}
    assert client.post("/v1/events/transfer", json=event, headers=channel).status_code == 200
    invalid = {**event, "event_id": "e-2", "customer_id": BAD_PHONE}
    assert client.post("/v1/events/transfer", json=invalid, headers=channel).status_code == 422
    forged = f"{channel_key[:-4]}AAAA"
    assert (
        client.post("/v1/events/transfer", json=event, headers={"X-API-Key": forged}).status_code
        == 401
    )
    assert client.get("/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    key_secret = channel_key.split("_", 2)[2]
    admin_token = admin_headers["Authorization"].removeprefix("Bearer ")
    return [
        NEW_PASSWORD, WRONG_PASSWORD, "eve-password-1", token, admin_token, channel_key,
        key_secret, forged, ID_NUMBER, PHONE, BAD_PHONE,
    ]  # fmt: skip


def test_no_password_token_key_or_customer_identifier_is_logged(
    every_logger_at_debug: pytest.LogCaptureFixture,
    client: TestClient,
    admin_headers: Headers,
    channel_key: str,
) -> None:
    sent = _drive(client, admin_headers, channel_key)
    records = every_logger_at_debug.records
    assert any(record.name == "tenure.audit" for record in records)  # the logs were captured
    # A non-secret value of the same requests (the username) is logged: the check can see it.
    assert leaks(records, ["dora"])
    assert leaks(records, sent) == []


def test_list_entry_values_stay_out_of_the_sql_log(
    every_logger_at_debug: pytest.LogCaptureFixture, client: TestClient, admin_headers: Headers
) -> None:
    entry = {"kind": "block", "reason": "fraud ring"}
    url = f"/v1/lists/blocked_phones/entries/{PHONE}"
    assert client.put(url, json=entry, headers=admin_headers).status_code == 200
    # the test's own HTTP client logs the URL it called; what matters is what Tenure logs
    records = [r for r in every_logger_at_debug.records if not r.name.startswith("httpx")]
    assert any(r.name.startswith("sqlalchemy") for r in records), "the SQL log was captured"
    assert leaks(records, [PHONE]) == []
