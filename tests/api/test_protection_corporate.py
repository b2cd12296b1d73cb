"""Corporate dual approval over HTTP: staff set up the mandate and operators, operators act
through the channel, and every step is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from protection_api import Headers, signed_in

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api.state import LoggingAuditSink
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

ErrorOf = Callable[[object, str], dict[str, object]]

# 2025-03-01 09:00 UTC is 17:00 in Shanghai: inside these hours, so no after-hours approver.
MANDATE = {
    "tiers": [{"above_minor": 1_000_000, "approvers": 2}],
    "business_hours": {"weekdays": [0, 1, 2, 3, 4, 5, 6]},
}


@pytest.fixture
def staff(uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock) -> Headers:
    return signed_in(uow_factory, settings, clock, "corporate-desk", Role.CORPORATE_ADMIN)


@pytest.fixture
def channel(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="corporate-portal", roles=[Role.SYSTEM], clock=clock
    )
    return {"X-API-Key": plaintext}


def operator(operator_id: str, *roles: str, acting: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": operator_id,
        "name_ref": f"ref-{operator_id}",
        "roles": list(roles),
        "single_limit_minor": 10_000_000,
        "daily_limit_minor": 50_000_000,
    }
    if acting is not None:
        body["operator_id"] = acting
    return body


@pytest.fixture
def company(client: Any, staff: Headers) -> str:
    """Corporate customer K1: a mandate, an initiator and three approvers."""
    published = client.put("/v1/corporate/K1/mandate", json=MANDATE, headers=staff)
    assert published.status_code == 200, published.text
    for body in (
        operator("ini", "initiator"),
        operator("ap1", "approver"),
        operator("ap2", "approver"),
        operator("adm", "admin", "approver"),
    ):
        response = client.post("/v1/corporate/K1/operators", json=body, headers=staff)
        assert response.status_code == 201, response.text
    return "K1"


def submit(client: Any, channel: Headers, amount_minor: int) -> dict[str, Any]:
    body = {
        "operator_id": "ini",
        "account_id": "A1",
        "payee_id": "P1",
        "amount_minor": amount_minor,
    }
    response = client.post("/v1/corporate/K1/payments", json=body, headers=channel)
    assert response.status_code == 201, response.text
    submitted: dict[str, Any] = response.json()
    return submitted


def test_a_large_payment_is_released_only_by_two_distinct_approvers_other_than_its_initiator(
    app: FastAPI, client: Any, channel: Headers, company: str, error_of: ErrorOf
) -> None:
    payment = submit(client, channel, 2_000_000)
    assert (payment["status"], payment["required_approvers"]) == ("pending_approval", 2)
    queue = client.get("/v1/corporate/K1/payments?status=pending_approval", headers=channel)
    assert [p["id"] for p in queue.json()] == [payment["id"]]
    url = f"/v1/corporate/payments/{payment['id']}/approve"

    own = client.post(url, json={"operator_id": "ini"}, headers=channel)
    assert own.status_code == 403
    assert "initiator" in str(error_of(own.json(), "permission_denied")["message"])

    first = client.post(url, json={"operator_id": "ap1"}, headers=channel)
    assert (first.json()["status"], first.json()["approver_ids"]) == ("pending_approval", ["ap1"])
    twice = client.post(url, json={"operator_id": "ap1"}, headers=channel)
    assert twice.status_code == 409
    error_of(twice.json(), "conflict")

    second = client.post(url, json={"operator_id": "ap2"}, headers=channel)
    assert second.json()["status"] == "released"
    assert client.get("/v1/corporate/K1/payments", headers=channel).json() == []

    audit = app.state.tenure.protection_audit
    assert isinstance(audit, LoggingAuditSink)
    actions = [entry.action for entry in audit.recent if entry.subject == payment["id"]]
    assert actions == [
        "corporate.payment_submitted",
        "corporate.payment_approve_refused",
        "corporate.payment_approved",
        "corporate.payment_approve_refused",
        "corporate.payment_approved",
        "corporate.payment_released",
    ]


def test_the_decision_that_asked_for_dual_approval_ends_as_its_payment_does(
    client: Any, channel: Headers, company: str, analyst_headers: Headers
) -> None:
    event = {
        "event_id": "big-1",
        "customer_id": "K1",
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "account_id": "A1",
        "amount_minor": 2_000_000,
        "payee_id": "P1",
        "operator_id": "ini",
    }
    decided = client.post("/v1/events/transfer", json=event, headers=channel).json()
    assert decided["outcome"] == "dual_approval"
    body = {
        "operator_id": "ini",
        "account_id": "A1",
        "payee_id": "P1",
        "amount_minor": 2_000_000,
        "decision_id": decided["decision_id"],
    }
    payment = client.post("/v1/corporate/K1/payments", json=body, headers=channel).json()
    url = f"/v1/corporate/payments/{payment['id']}/approve"
    client.post(url, json={"operator_id": "ap1"}, headers=channel)
    logged = client.get("/v1/decisions/transfer:big-1", headers=analyst_headers).json()
    assert logged["resolution"] is None  # one approval of two: still waiting
    assert client.post(url, json={"operator_id": "ap2"}, headers=channel).json()["status"] == (
        "released"
    )
    logged = client.get("/v1/decisions/transfer:big-1", headers=analyst_headers).json()
    assert (logged["outcome"], logged["resolution"]["outcome"]) == ("dual_approval", "allow")
    assert logged["resolution"]["reason"] == "dual_approval_released"


def test_a_payment_may_name_only_the_decision_that_sent_it_for_approval(
    client: Any, channel: Headers, company: str, error_of: ErrorOf
) -> None:
    def decide(event_id: str, amount_minor: int) -> dict[str, Any]:
        event = {
            "event_id": event_id, "customer_id": "K1", "occurred_at": "2025-03-01T08:59:00+00:00",
            "account_id": "A1", "amount_minor": amount_minor, "payee_id": "P1",
            "operator_id": "ini",
        }  # fmt: skip
        decided: dict[str, Any] = client.post(
            "/v1/events/transfer", json=event, headers=channel
        ).json()
        return decided

    big, small = decide("big-2", 2_000_000), decide("small-2", 500_000)
    assert (big["outcome"], small["outcome"]) == ("dual_approval", "allow")

    def pay(amount_minor: int, decision_id: str) -> Any:
        body = {"operator_id": "ini", "account_id": "A1", "payee_id": "P1",
                "amount_minor": amount_minor, "decision_id": decision_id}  # fmt: skip
        return client.post("/v1/corporate/K1/payments", json=body, headers=channel)

    unknown = pay(2_000_000, "no-such-decision")
    assert unknown.status_code == 422
    assert error_of(unknown.json(), "validation_error")["field"] == "decision_id"
    for amount_minor, decision_id in [
        (500_000, small["decision_id"]),  # allowed: not waiting
        (2_500_000, big["decision_id"]),
    ]:  # another amount
        refused = pay(amount_minor, decision_id)
        assert refused.status_code == 409, refused.text
        assert error_of(refused.json(), "conflict")["field"] == "decision_id"
    assert client.get("/v1/corporate/K1/payments", headers=channel).json() == []
    assert pay(2_000_000, big["decision_id"]).json()["status"] == "pending_approval"


def test_a_payment_within_the_mandate_is_released_at_once(
    client: Any, channel: Headers, company: str
) -> None:
    assert submit(client, channel, 500_000)["status"] == "released"


def test_an_approver_rejects_a_pending_payment_with_a_reason(
    client: Any, channel: Headers, company: str, error_of: ErrorOf
) -> None:
    payment = submit(client, channel, 2_000_000)
    url = f"/v1/corporate/payments/{payment['id']}/reject"
    blank = client.post(url, json={"operator_id": "ap1", "reason": ""}, headers=channel)
    assert error_of(blank.json(), "validation_error")["field"] == "reason"
    reason = {"operator_id": "ap1", "reason": "unknown payee"}
    rejected = client.post(url, json=reason, headers=channel)
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == (
        "rejected",
        "unknown payee",
    )
    approve = f"/v1/corporate/payments/{payment['id']}/approve"
    late = client.post(approve, json={"operator_id": "ap2"}, headers=channel)
    assert late.status_code == 409


def test_an_admin_operator_adds_a_colleague_through_the_channel(
    client: Any, channel: Headers, company: str, error_of: ErrorOf
) -> None:
    url = "/v1/corporate/K1/operators"
    added = client.post(url, json=operator("ap3", "approver", acting="adm"), headers=channel)
    assert added.status_code == 201
    not_admin = client.post(url, json=operator("ap4", "approver", acting="ap1"), headers=channel)
    assert not_admin.status_code == 403
    anonymous = client.post(url, json=operator("ap5", "approver"), headers=channel)
    assert error_of(anonymous.json(), "validation_error")["field"] == "operator_id"
    ids = [o["id"] for o in client.get("/v1/corporate/K1/operators", headers=channel).json()]
    assert ids == ["adm", "ap1", "ap2", "ap3", "ini"]


def test_only_staff_publish_a_mandate_and_only_the_channel_submits(
    client: Any, channel: Headers, staff: Headers, company: str, error_of: ErrorOf
) -> None:
    by_channel = client.put("/v1/corporate/K1/mandate", json=MANDATE, headers=channel)
    assert by_channel.status_code == 403
    assert "corporate:manage" in str(error_of(by_channel.json(), "permission_denied")["message"])
    body = {"operator_id": "ini", "account_id": "A1", "payee_id": "P1", "amount_minor": 1}
    by_staff = client.post("/v1/corporate/K1/payments", json=body, headers=staff)
    assert by_staff.status_code == 403
    mandate = client.get("/v1/corporate/K1/mandate", headers=staff).json()
    assert (mandate["version"], mandate["tiers"]) == (
        1,
        [{"above_minor": 1_000_000, "approvers": 2}],
    )


def test_a_mandate_body_is_strict(client: Any, staff: Headers, error_of: ErrorOf) -> None:
    typo = client.put("/v1/corporate/K1/mandate", json={**MANDATE, "tier": []}, headers=staff)
    assert error_of(typo.json(), "validation_error")["field"] == "tier"
    zone = {**MANDATE, "business_hours": {"timezone": "Mars/Olympus"}}
    bad_zone = client.put("/v1/corporate/K1/mandate", json=zone, headers=staff)
    assert error_of(bad_zone.json(), "validation_error")["field"] == "timezone"
    missing = client.get("/v1/corporate/K9/mandate", headers=staff)
    assert missing.status_code == 404
