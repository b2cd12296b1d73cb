"""The decision log, open alerts and the engine's status, read by analysts over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api import create_app
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

ErrorOf = Callable[[object, str], dict[str, object]]
Headers = dict[str, str]


@pytest.fixture
def channel(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="mobile-app", roles=[Role.SYSTEM], clock=clock
    )
    return {"X-API-Key": plaintext}


def transfer(event_id: str, customer_id: str = "C1", payee_id: str = "P1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer_id,
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "account_id": "A1",
        "amount_minor": 50_000,
        "payee_id": payee_id,
    }


def test_decisions_are_listed_per_customer_newest_first_with_their_event(
    client: Any, channel: Headers, analyst_headers: Headers
) -> None:
    for event_id, customer_id in [("t-1", "C1"), ("t-2", "C2"), ("t-3", "C1")]:
        client.post("/v1/events/transfer", json=transfer(event_id, customer_id), headers=channel)
    response = client.get("/v1/decisions?customer_id=C1&limit=10", headers=analyst_headers)
    assert response.status_code == 200
    found = response.json()
    assert {d["event_id"] for d in found} == {"t-1", "t-3"}
    assert found[0]["event"]["amount_minor"] == 50_000
    assert found[0]["event"]["kind"] == "transfer"
    everyone = client.get("/v1/decisions?limit=2", headers=analyst_headers).json()
    assert len(everyone) == 2


def test_a_decision_is_found_by_its_idempotency_key(
    client: Any, channel: Headers, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    headers = {**channel, "Idempotency-Key": "retry/42"}
    decided = client.post("/v1/events/transfer", json=transfer("t-1"), headers=headers).json()
    found = client.get("/v1/decisions/retry/42", headers=analyst_headers)
    assert found.status_code == 200
    assert found.json()["decision_id"] == decided["decision_id"]
    by_default_key = client.get("/v1/decisions/transfer:t-1", headers=analyst_headers)
    assert by_default_key.status_code == 404
    error_of(by_default_key.json(), "not_found")


def test_a_declined_transfer_opens_an_alert(
    client: Any, channel: Headers, analyst_headers: Headers
) -> None:
    entry = {"kind": "block", "reason": "confirmed mule"}
    client.put("/v1/lists/blocked_payees/entries/P666", json=entry, headers=analyst_headers)
    client.post("/v1/events/transfer", json=transfer("t-1", payee_id="P1"), headers=channel)
    declined = client.post(
        "/v1/events/transfer", json=transfer("t-2", payee_id="P666"), headers=channel
    ).json()
    alerts = client.get("/v1/alerts", headers=analyst_headers).json()
    assert [(a["decision_id"], a["outcome"], a["status"]) for a in alerts] == [
        (declined["decision_id"], "decline", "open")
    ]


def test_the_status_names_the_rules_model_and_state_the_engine_runs_with(
    client: Any, channel: Headers, analyst_headers: Headers
) -> None:
    client.post("/v1/events/transfer", json=transfer("t-1"), headers=channel)
    response = client.get("/v1/protection/status", headers=channel)
    assert response.status_code == 200
    assert response.json() == {
        "model_version": None,
        "ruleset_name": "default",
        "active_ruleset": None,
        "shadow_rulesets": [],
        "state_backend": "memory",
        "rebuilt_events": 0,
        "policy": "expected_cost",
    }
    assert client.get("/v1/protection/status", headers=analyst_headers).status_code == 200


def test_a_restarted_api_reports_the_events_it_folded_back_in(
    app: Any, client_class: Any, channel: Headers, settings: Settings, clock: FixedClock
) -> None:
    with client_class(app) as first:
        for event_id in ("t-1", "t-2"):
            first.post("/v1/events/transfer", json=transfer(event_id), headers=channel)
    with client_class(create_app(settings, clock=clock)) as second:
        status = second.get("/v1/protection/status", headers=channel).json()
    assert status["rebuilt_events"] == 2


def test_the_channel_may_not_read_the_decision_log(
    client: Any, channel: Headers, error_of: ErrorOf
) -> None:
    for path in ("/v1/decisions", "/v1/alerts", "/v1/decisions/x"):
        response = client.get(path, headers=channel)
        assert response.status_code == 403, path
        assert "cases:work" in str(error_of(response.json(), "permission_denied")["message"])


def test_an_analyst_asking_too_much_is_422(
    client: Any, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    response = client.get("/v1/decisions?limit=100000", headers=analyst_headers)
    assert error_of(response.json(), "validation_error")["field"] == "limit"
