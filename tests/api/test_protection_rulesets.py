"""Rule sets, lists and snoozes over HTTP: a second analyst's approval, and changes the engine
applies to the very next event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from protection_api import Headers, machine_key, signed_in

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api import create_app
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.protection.reloading import DEFAULT_TTL_SECONDS
from tenure.settings import Settings

ErrorOf = Callable[[object, str], dict[str, object]]

RULESET: dict[str, Any] = {
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
def second_analyst(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> Headers:
    return signed_in(uow_factory, settings, clock, "second-analyst", Role.FRAUD_ANALYST)


@pytest.fixture
def channel(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    return machine_key(uow_factory, clock)


def transfer(event_id: str, payee_id: str = "P1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": "C000001",
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "channel": "mobile",
        "account_id": "A000001",
        "amount_minor": 50_000,
        "payee_id": payee_id,
    }


def draft(client: Any, headers: Headers, document: dict[str, Any] = RULESET) -> dict[str, Any]:
    response = client.post("/v1/rulesets/default/drafts", json=document, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_rule_set_becomes_active_only_after_a_second_analyst_approves(
    client: Any, analyst_headers: Headers, second_analyst: Headers, error_of: ErrorOf
) -> None:
    created = draft(client, analyst_headers)
    assert (created["version"], created["status"]) == (1, "draft")
    versions = "/v1/rulesets/default/versions/1"

    early = client.post(f"{versions}/activate", headers=analyst_headers)
    assert early.status_code == 409
    error_of(early.json(), "conflict")

    own = client.post(f"{versions}/approve", headers=analyst_headers)
    assert own.status_code == 403
    assert "second user" in str(error_of(own.json(), "permission_denied")["message"])

    approved = client.post(f"{versions}/approve", headers=second_analyst)
    assert approved.status_code == 200
    assert approved.json()["approved_by"] != created["author"]

    activated = client.post(f"{versions}/activate", headers=analyst_headers)
    assert activated.status_code == 200
    history = client.get("/v1/rulesets/default", headers=analyst_headers).json()
    assert [(v["version"], v["status"]) for v in history] == [(1, "active")]


def test_the_running_engine_applies_an_activated_rule_set_to_the_next_transfer(
    client: Any, analyst_headers: Headers, second_analyst: Headers, channel: Headers
) -> None:
    before = client.post("/v1/events/transfer", json=transfer("t-1", "P9"), headers=channel)
    assert before.json()["ruleset"] is None  # the engine is running, without rules
    draft(client, analyst_headers)
    client.post("/v1/rulesets/default/versions/1/approve", headers=second_analyst)
    client.post("/v1/rulesets/default/versions/1/activate", headers=analyst_headers)

    after = client.post("/v1/events/transfer", json=transfer("t-2", "P9"), headers=channel).json()
    assert after["ruleset"] == "default@1"
    assert {"source": "rule", "code": "payee_p9", "text": "Money to payee P9."} in after["reasons"]


def test_another_worker_applies_an_activation_within_seconds(
    client: Any,
    settings: Settings,
    clock: FixedClock,
    analyst_headers: Headers,
    second_analyst: Headers,
    channel: Headers,
) -> None:
    # a second server process on the same store (``uvicorn --workers 2``): it never hears of
    # the activation made through the first, so it must find it in the store by itself
    with TestClient(create_app(settings, clock=clock)) as other:
        before = other.post("/v1/events/transfer", json=transfer("t-1", "P9"), headers=channel)
        assert before.json()["ruleset"] is None
        draft(client, analyst_headers)
        client.post("/v1/rulesets/default/versions/1/approve", headers=second_analyst)
        client.post("/v1/rulesets/default/versions/1/activate", headers=analyst_headers)

        clock.advance(timedelta(seconds=DEFAULT_TTL_SECONDS - 1))
        stale = other.post("/v1/events/transfer", json=transfer("t-2", "P9"), headers=channel)
        assert stale.json()["ruleset"] is None  # within the reload interval: the old book
        clock.advance(timedelta(seconds=1))
        fresh = other.post("/v1/events/transfer", json=transfer("t-3", "P9"), headers=channel)
        assert fresh.json()["ruleset"] == "default@1"
        assert "payee_p9" in [reason["code"] for reason in fresh.json()["reasons"]]


def test_a_shadow_version_is_evaluated_beside_the_decision(
    client: Any, analyst_headers: Headers, channel: Headers
) -> None:
    draft(client, analyst_headers)
    body = {"enabled": True}
    shadow = client.post(
        "/v1/rulesets/default/versions/1/shadow", json=body, headers=analyst_headers
    )
    assert shadow.json()["shadow"] is True
    decided = client.post("/v1/events/transfer", json=transfer("t-1", "P9"), headers=channel).json()
    assert decided["shadow"] == [
        {"ruleset": "default", "version": 1, "outcome": "step_up", "rule_ids": ["payee_p9"]}
    ]
    assert all(reason["source"] != "rule" for reason in decided["reasons"])


def test_a_bad_rule_is_refused_naming_its_path(
    client: Any, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    rule = {**RULESET["rules"][0], "when": {"field": "event.payee_id", "op": "bigger", "value": 1}}
    response = client.post(
        "/v1/rulesets/default/drafts", json={**RULESET, "rules": [rule]}, headers=analyst_headers
    )
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == "rules[0].when.op"
    assert client.get("/v1/rulesets/default", headers=analyst_headers).status_code == 404


def test_a_document_with_an_unknown_key_or_another_name_is_refused(
    client: Any, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    typo = client.post(
        "/v1/rulesets/default/drafts", json={**RULESET, "rulez": []}, headers=analyst_headers
    )
    assert error_of(typo.json(), "validation_error")["field"] == "rulez"
    other = client.post(
        "/v1/rulesets/default/drafts", json={**RULESET, "name": "other"}, headers=analyst_headers
    )
    assert error_of(other.json(), "validation_error")["field"] == "name"


def test_the_channel_may_not_manage_rules(client: Any, channel: Headers, error_of: ErrorOf) -> None:
    response = client.post("/v1/rulesets/default/drafts", json=RULESET, headers=channel)
    assert response.status_code == 403
    assert "rules:manage" in str(error_of(response.json(), "permission_denied")["message"])


def test_a_blocked_payee_declines_the_next_transfer_until_removed(
    client: Any, analyst_headers: Headers, channel: Headers
) -> None:
    first = client.post("/v1/events/transfer", json=transfer("t-1", "P666"), headers=channel)
    assert first.json()["outcome"] != "decline"
    entry = {"kind": "block", "reason": "confirmed mule account"}
    put = client.put("/v1/lists/blocked_payees/entries/P666", json=entry, headers=analyst_headers)
    assert put.status_code == 200
    assert put.json()["added_by"]

    blocked = client.post("/v1/events/transfer", json=transfer("t-2", "P666"), headers=channel)
    assert blocked.json()["outcome"] == "decline"
    assert ("list", "blocked_payees") in {
        (r["source"], r["code"]) for r in blocked.json()["reasons"]
    }
    listed = client.get("/v1/lists/blocked_payees", headers=analyst_headers).json()
    assert [e["value"] for e in listed] == ["P666"]

    removed = client.delete("/v1/lists/blocked_payees/entries/P666", headers=analyst_headers)
    assert removed.status_code == 204
    again = client.post("/v1/events/transfer", json=transfer("t-3", "P666"), headers=channel)
    assert all(r["source"] != "list" for r in again.json()["reasons"])


def test_list_edits_are_checked(client: Any, analyst_headers: Headers, error_of: ErrorOf) -> None:
    url = "/v1/lists/blocked_payees/entries/P1"
    client.put(url, json={"kind": "block", "reason": "mule"}, headers=analyst_headers)
    allow = client.put(url, json={"kind": "allow", "reason": "x"}, headers=analyst_headers)
    assert allow.status_code == 409
    past = {"kind": "block", "reason": "x", "expires_at": "2020-01-01T00:00:00+00:00"}
    assert error_of(client.put(url, json=past, headers=analyst_headers).json(), "validation_error")
    gone = client.delete("/v1/lists/blocked_payees/entries/P2", headers=analyst_headers)
    assert gone.status_code == 404


def test_a_snooze_is_added_listed_and_lifted(
    client: Any, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    url = "/v1/snoozes/payee_p9/customer:C000001"
    body = {"until": "2025-03-08T09:00:00+00:00", "reason": "pays rent to P9 monthly"}
    put = client.put(url, json=body, headers=analyst_headers)
    assert put.status_code == 200, put.text
    assert put.json()["entity"] == "customer:C000001"
    listed = client.get("/v1/snoozes/customer:C000001", headers=analyst_headers).json()
    assert [s["rule_id"] for s in listed] == ["payee_p9"]
    assert client.delete(url, headers=analyst_headers).status_code == 204
    assert client.delete(url, headers=analyst_headers).status_code == 404
    too_long = {**body, "until": "2026-03-01T09:00:00+00:00"}
    response = client.put(url, json=too_long, headers=analyst_headers)
    assert error_of(response.json(), "validation_error")["field"] == "until"
    bad = client.put("/v1/snoozes/payee_p9/planet:earth", json=body, headers=analyst_headers)
    assert error_of(bad.json(), "validation_error")["field"] == "entity"
