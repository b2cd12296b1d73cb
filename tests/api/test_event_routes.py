"""The event endpoints: strict schemas, decisions with reasons and costs, idempotent retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

OUTCOMES = {"allow", "step_up", "confirm", "dual_approval", "hold", "decline"}


@pytest.fixture
def channel(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> dict[str, str]:
    """A channel's machine key (the system role may ask for decisions)."""
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="mobile-app", roles=[Role.SYSTEM], clock=clock
    )
    return {"X-API-Key": plaintext}


def transfer(event_id: str = "t-1", **changes: Any) -> dict[str, Any]:
    body = {
        "event_id": event_id,
        "customer_id": "C000001",
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "channel": "mobile",
        "device_id": "d-1",
        "ip": "10.0.0.1",
        "account_id": "A000001",
        "amount_minor": 1_250_000,
        "payee_id": "P1",
    }
    body.update(changes)
    return body


def logged(settings: Settings) -> list[tuple[Any, ...]]:
    engine = create_store_engine(settings.operational_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT idempotency_key, action, customer_id FROM protection_decisions"
            )))  # fmt: skip
    finally:
        engine.dispose()


def test_a_transfer_gets_a_well_formed_decision(client: Any, channel: dict[str, str]) -> None:
    response = client.post("/v1/events/transfer", json=transfer(), headers=channel)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] in OUTCOMES
    assert 0.0 <= body["risk"] <= 1.0
    assert body["event_kind"] == "transfer"
    assert body["replayed"] is False
    assert body["costs"], "every decision shows the expected cost of the actions it weighed"
    totals = [c["total_minor"] for c in body["costs"]]
    assert totals == sorted(totals)
    assert "unknown_customer" in body["flags"]  # no retention values: decided on defaults


def test_a_one_off_transfer_without_a_saved_payee_is_decided(
    client: Any, channel: dict[str, str], settings: Settings
) -> None:
    body = transfer("one-off")
    del body["payee_id"]
    response = client.post("/v1/events/transfer", json=body, headers=channel)
    assert response.status_code == 200, response.text
    assert response.json()["event_kind"] == "transfer"
    assert [row[0] for row in logged(settings)] == ["transfer:one-off"]


def test_a_retry_returns_the_same_decision_and_is_logged_once(
    client: Any, channel: dict[str, str], settings: Settings
) -> None:
    headers = {**channel, "Idempotency-Key": "retry-42"}
    first = client.post("/v1/events/transfer", json=transfer(), headers=headers).json()
    again = client.post("/v1/events/transfer", json=transfer(), headers=headers).json()
    assert again["decision_id"] == first["decision_id"]
    assert again["replayed"] is True
    assert [row[0] for row in logged(settings)] == ["retry-42"]


def test_without_a_key_the_event_id_makes_retries_idempotent(
    client: Any, channel: dict[str, str], settings: Settings
) -> None:
    for _ in range(3):
        client.post("/v1/events/transfer", json=transfer("same"), headers=channel)
    assert len(logged(settings)) == 1


def test_every_kind_has_an_endpoint(client: Any, channel: dict[str, str]) -> None:
    base = {"customer_id": "C9", "occurred_at": "2025-03-01T08:00:00Z"}
    bodies = {
        "login": {**base, "event_id": "l1", "success": False, "device_id": "d9"},
        "card_payment": {**base, "event_id": "c1", "account_id": "A9", "amount_minor": 990},
        "payee_add": {**base, "event_id": "p1", "payee_id": "P9"},
        "profile_change": {**base, "event_id": "x1", "changed_field": "phone"},
    }
    for kind, body in bodies.items():
        response = client.post(f"/v1/events/{kind}", json=body, headers=channel)
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["event_kind"] == kind


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_minor": -5}, "amount_minor"),
        ({"occurred_at": "2025-03-01T08:59:00"}, "occurred_at"),
        ({"ip": "999.1.1.1"}, "ip"),
        ({"surprise": 1}, "surprise"),
        ({"currency": "XXX"}, "currency"),
    ],
)
def test_schema_violations_name_the_field(
    client: Any,
    channel: dict[str, str],
    error_of: Callable[[object, str], dict[str, object]],
    changes: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/v1/events/transfer", json=transfer(**changes), headers=channel)
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == field


def test_a_caller_without_the_permission_is_refused(
    client: Any, analyst_headers: dict[str, str]
) -> None:
    response = client.post("/v1/events/transfer", json=transfer(), headers=analyst_headers)
    assert response.status_code == 403


def test_an_oversized_body_is_refused_before_it_is_read(
    client: Any, channel: dict[str, str], error_of: Callable[[object, str], dict[str, object]]
) -> None:
    body = transfer(merchant_note="x" * 70_000)
    response = client.post("/v1/events/transfer", json=body, headers=channel)
    assert response.status_code == 413
    error_of(response.json(), "payload_too_large")


def test_an_oversized_chunked_body_is_refused(
    client: Any, channel: dict[str, str], error_of: Callable[[object, str], dict[str, object]]
) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = client.post(
        "/v1/events/transfer",
        content=chunks(),
        headers={**channel, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    error_of(response.json(), "payload_too_large")


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        (b'{"event_id": "x"', "application/json", None),  # broken JSON
        (b"event_id=x", "application/x-www-form-urlencoded", None),  # not JSON at all
        (b"", "application/json", None),  # no body
        (b"[1, 2]", "application/json", None),  # JSON, but not an object
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_422(
    client: Any,
    channel: dict[str, str],
    error_of: Callable[[object, str], dict[str, object]],
    content: bytes,
    content_type: str,
    field: str | None,
) -> None:
    response = client.post(
        "/v1/events/transfer", content=content, headers={**channel, "Content-Type": content_type}
    )
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == field


def test_a_json_content_type_with_parameters_is_accepted(
    client: Any, channel: dict[str, str]
) -> None:
    response = client.post(
        "/v1/events/transfer",
        content=json.dumps(transfer("t-charset")).encode(),
        headers={**channel, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["event_id"] == "t-charset"


def test_an_idempotency_key_longer_than_128_characters_is_refused(
    client: Any, channel: dict[str, str], error_of: Callable[[object, str], dict[str, object]]
) -> None:
    headers = {**channel, "Idempotency-Key": "k" * 129}
    response = client.post("/v1/events/transfer", json=transfer(), headers=headers)
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == "Idempotency-Key"


def test_a_signed_in_person_with_the_permission_may_ask_for_a_decision(
    client: Any, admin_headers: dict[str, str]
) -> None:
    response = client.post("/v1/events/transfer", json=transfer("t-admin"), headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] in OUTCOMES


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "tnr_nope_nope"}, {"Authorization": "Bearer not-a-token"}],
    ids=["none", "bad-key", "bad-token"],
)
def test_without_valid_credentials_no_decision_is_made(
    client: Any, settings: Settings, headers: dict[str, str]
) -> None:
    response = client.post("/v1/events/transfer", json=transfer("t-anon"), headers=headers)
    assert response.status_code == 401
    assert [row for row in logged(settings) if row[0] == "transfer:t-anon"] == []
