"""Customer limits acting on decisions over HTTP: a change through the API acts on the very next
decision of the same app, without waiting for the limits cache to expire (the clock is fixed, so
it never would).

A rule set that steps up every login of customer C1 is active, so the customer can pass the
step-up a raise needs; SMS codes are read from the outbox, as the SMS sender would.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from protection_api import Headers, activate_ruleset, machine_key

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api import create_app
from tenure.api.state import ApiState
from tenure.core.clock import FixedClock
from tenure.settings import Settings

STEP_UP_C1_LOGINS = {
    "name": "default",
    "rules": [
        {
            "id": "step_up_c1_logins",
            "description": "Customer C1 proves it is them when signing in.",
            "events": ["login"],
            "when": {"field": "event.customer_id", "op": "eq", "value": "C1"},
            "score": 0.05,
            "outcome": "step_up",
        }
    ],
}


@pytest.fixture
def channel(settings: Settings, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    activate_ruleset(settings, clock, STEP_UP_C1_LOGINS)
    return machine_key(uow_factory, clock)


def transfer(client: Any, channel: Headers, event_id: str, amount_minor: int) -> dict[str, Any]:
    body = {
        "event_id": event_id,
        "customer_id": "C1",
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "account_id": "A1",
        "amount_minor": amount_minor,
        "payee_id": "P1",
    }
    response = client.post("/v1/events/transfer", json=body, headers=channel)
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


def limit_codes(decision: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in decision["reasons"] if reason["source"] == "limit"]


def passed_step_up(app: FastAPI, client: Any, channel: Headers) -> str:
    """The id of an SMS challenge C1 passed after a login the rules stepped up."""
    body = {
        "event_id": "login-1",
        "customer_id": "C1",
        "occurred_at": "2025-03-01T08:59:30+00:00",
        "success": True,
    }
    login = client.post("/v1/events/login", json=body, headers=channel).json()
    assert login["outcome"] == "step_up"
    started = client.post(
        "/v1/challenges",
        json={"decision_id": login["decision_id"], "method": "sms"},
        headers=channel,
    )
    assert started.status_code == 201, started.text
    state: ApiState = app.state.tenure
    with state.stepup_uow() as uow:
        code = uow.outbox.pending()[-1].params["code"]
    challenge_id = str(started.json()["challenge_id"])
    verified = client.post(
        f"/v1/challenges/{challenge_id}/verify", json={"code": code}, headers=channel
    )
    assert verified.json()["status"] == "verified"
    return challenge_id


def test_a_raised_single_transfer_limit_lets_a_declined_transfer_pass_at_once(
    app: FastAPI, client: Any, channel: Headers
) -> None:
    url = "/v1/customers/C1/limits/single_transfer"
    # the customer first lowers their limit to 20,000 CNY (lowering needs no step-up)
    lowered = client.put(url, json={"amount_minor": 2_000_000}, headers=channel)
    assert lowered.status_code == 200, lowered.text
    declined = transfer(client, channel, "t-1", 3_000_000)
    assert declined["outcome"] == "decline"
    assert limit_codes(declined) == ["single_transfer"]

    body = {
        "amount_minor": 4_000_000,
        "step_up_challenge_id": passed_step_up(app, client, channel),
    }
    raised = client.put(url, json=body, headers=channel)
    assert raised.status_code == 200, raised.text

    again = transfer(client, channel, "t-2", 3_000_000)
    assert again["outcome"] != "decline"
    assert limit_codes(again) == []


def test_the_banks_protection_config_sets_the_limit_products_the_engine_checks(
    settings: Settings, clock: FixedClock, channel: Headers, analyst_headers: Headers
) -> None:
    # a bank whose daily transfer default is 10,000 CNY and whose limits hold rather than decline
    (settings.data_dir / "protection.yaml").write_text(
        "limits:\n"
        "  exceeded_outcome: hold\n"
        "  products:\n"
        "    transfer_daily: {default_minor: 1000000, maximum_minor: 5000000,"
        " event_kind: transfer}\n",
        encoding="utf-8",
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        limits = client.get("/v1/customers/C1/limits", headers=analyst_headers).json()
        daily = next(limit for limit in limits if limit["product"] == "transfer_daily")
        assert daily["amount_minor"] == 1_000_000
        within = transfer(client, channel, "t-1", 900_000)
        assert limit_codes(within) == []
        over = transfer(client, channel, "t-2", 200_000)  # 11,000 CNY in the day
        assert limit_codes(over) == ["transfer_daily"]
        assert over["outcome"] == "hold"
