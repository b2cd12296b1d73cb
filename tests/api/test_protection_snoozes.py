"""Snoozes and mandates over HTTP reach the running engine at once: a rule snoozed for a customer
or a payee loses its hit on the next transfer, and a published mandate sets the floor of the
customer's next transfer, which the channel then submits to the approval queue."""

from __future__ import annotations

from typing import Any

import pytest
from protection_api import Headers, machine_key, signed_in

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

RULESET: dict[str, Any] = {
    "name": "default",
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
SNOOZE = {"until": "2025-03-08T09:00:00+00:00", "reason": "pays rent to P9 monthly"}
# 2025-03-01 09:00 UTC is a Saturday, 17:00 in Shanghai: every day is a business day here.
MANDATE = {
    "tiers": [{"above_minor": 1_000_000, "approvers": 2}],
    "business_hours": {"weekdays": [0, 1, 2, 3, 4, 5, 6]},
}


@pytest.fixture
def second_analyst(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> Headers:
    return signed_in(uow_factory, settings, clock, "second-analyst", Role.FRAUD_ANALYST)


@pytest.fixture
def staff(uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock) -> Headers:
    return signed_in(uow_factory, settings, clock, "corporate-desk", Role.CORPORATE_ADMIN)


@pytest.fixture
def channel(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    return machine_key(uow_factory, clock)


@pytest.fixture
def active_rules(client: Any, analyst_headers: Headers, second_analyst: Headers) -> None:
    """Version 1 of ``RULESET`` drafted, approved by a second analyst and active."""
    drafted = client.post("/v1/rulesets/default/drafts", json=RULESET, headers=analyst_headers)
    assert drafted.status_code == 201, drafted.text
    versions = "/v1/rulesets/default/versions/1"
    assert client.post(f"{versions}/approve", headers=second_analyst).status_code == 200
    assert client.post(f"{versions}/activate", headers=analyst_headers).status_code == 200


def transfer(
    client: Any,
    channel: Headers,
    event_id: str,
    *,
    customer_id: str = "C000001",
    payee_id: str = "P9",
    amount_minor: int = 50_000,
) -> dict[str, Any]:
    body = {
        "event_id": event_id,
        "customer_id": customer_id,
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "channel": "mobile",
        "account_id": "A000001",
        "amount_minor": amount_minor,
        "payee_id": payee_id,
    }
    response = client.post("/v1/events/transfer", json=body, headers=channel)
    assert response.status_code == 200, response.text
    decided: dict[str, Any] = response.json()
    return decided


def codes(decision: dict[str, Any], source: str) -> list[str]:
    return [reason["code"] for reason in decision["reasons"] if reason["source"] == source]


@pytest.mark.usefixtures("active_rules")
def test_a_rule_snoozed_for_a_customer_loses_its_hit_on_that_customers_next_transfer(
    client: Any, analyst_headers: Headers, channel: Headers
) -> None:
    before = transfer(client, channel, "t-1")  # the engine runs, its snoozes cached
    url = "/v1/snoozes/payee_p9/customer:C000001"
    assert client.put(url, json=SNOOZE, headers=analyst_headers).status_code == 200

    snoozed = transfer(client, channel, "t-2")
    other = transfer(client, channel, "t-3", customer_id="C000002")
    assert client.delete(url, headers=analyst_headers).status_code == 204
    lifted = transfer(client, channel, "t-4")

    assert (codes(before, "rule"), before["rule_score"]) == (["payee_p9"], 0.2)
    assert before["outcome"] == "step_up"
    assert (codes(snoozed, "rule"), snoozed["rule_score"]) == ([], 0.0)
    assert snoozed["outcome"] == "allow"  # the step-up was the snoozed rule's
    assert codes(other, "rule") == ["payee_p9"]
    assert codes(lifted, "rule") == ["payee_p9"]


@pytest.mark.usefixtures("active_rules")
def test_a_rule_snoozed_for_a_payee_loses_its_hit_for_every_customer_paying_it(
    client: Any, analyst_headers: Headers, channel: Headers
) -> None:
    transfer(client, channel, "t-1")
    url = "/v1/snoozes/payee_p9/payee:P9"
    assert client.put(url, json=SNOOZE, headers=analyst_headers).status_code == 200

    first = transfer(client, channel, "t-2")
    second = transfer(client, channel, "t-3", customer_id="C000002")

    assert codes(first, "rule") == codes(second, "rule") == []


def test_a_published_mandate_sets_the_floor_of_the_customers_next_transfer(
    client: Any, staff: Headers, channel: Headers
) -> None:
    before = transfer(client, channel, "t-1", customer_id="K1", amount_minor=2_000_000)
    published = client.put("/v1/corporate/K1/mandate", json=MANDATE, headers=staff)
    assert published.status_code == 200, published.text
    for operator_id in ("ini", "ap1", "ap2"):
        role = "initiator" if operator_id == "ini" else "approver"
        body = {
            "id": operator_id,
            "name_ref": f"ref-{operator_id}",
            "roles": [role],
            "single_limit_minor": 10_000_000,
            "daily_limit_minor": 50_000_000,
        }
        added = client.post("/v1/corporate/K1/operators", json=body, headers=staff)
        assert added.status_code == 201, added.text

    decided = transfer(client, channel, "t-2", customer_id="K1", amount_minor=2_000_000)
    payment = {
        "operator_id": "ini",
        "account_id": "A000001",
        "payee_id": "P9",
        "amount_minor": 2_000_000,
        "decision_id": decided["decision_id"],
    }
    queued = client.post("/v1/corporate/K1/payments", json=payment, headers=channel)

    assert codes(before, "mandate") == []
    assert decided["outcome"] == "dual_approval"
    assert {
        "source": "mandate",
        "code": "dual_approval",
        "text": "payments over 10,000 CNY need 2 approvers (mandate version 1)",
    } in decided["reasons"]
    assert queued.status_code == 201, queued.text
    assert (queued.json()["status"], queued.json()["required_approvers"]) == (
        "pending_approval",
        2,
    )
