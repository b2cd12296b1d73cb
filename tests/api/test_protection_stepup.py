"""Step-up challenges, authenticator enrolment and limit changes over HTTP.

A rule set that steps up every transfer of customer C1 is active in the store, so the channel
gets ``step_up`` decisions to challenge. SMS codes are read from the outbox, as the SMS sender
would, never from a response.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from fastapi import FastAPI
from protection_api import Headers, activate_ruleset, machine_key

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api.state import ApiState, LoggingAuditSink
from tenure.core.clock import FixedClock
from tenure.settings import Settings

ErrorOf = Callable[[object, str], dict[str, object]]

STEP_UP_C1 = {
    "name": "default",
    "rules": [
        {
            "id": "step_up_c1",
            "description": "Customer C1 proves it is them.",
            "events": ["transfer"],
            "when": {"field": "event.customer_id", "op": "eq", "value": "C1"},
            "score": 0.05,
            "outcome": "step_up",
        }
    ],
}


@pytest.fixture
def channel(settings: Settings, uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    activate_ruleset(settings, clock, STEP_UP_C1)
    return machine_key(uow_factory, clock)


def state_of(app: FastAPI) -> ApiState:
    state: ApiState = app.state.tenure
    return state


def decide(client: Any, channel: Headers, event_id: str, customer_id: str = "C1") -> str:
    body = {
        "event_id": event_id,
        "customer_id": customer_id,
        "occurred_at": "2025-03-01T08:59:00+00:00",
        "account_id": "A1",
        "amount_minor": 50_000,
        "payee_id": "P1",
    }
    decision = client.post("/v1/events/transfer", json=body, headers=channel).json()
    assert decision["outcome"] == ("step_up" if customer_id == "C1" else "allow")
    return str(decision["decision_id"])


def sms_codes(app: FastAPI) -> list[str]:
    with state_of(app).stepup_uow() as uow:
        return [message.params["code"] for message in uow.outbox.pending()]


def challenge_of(decision_id: str, method: str = "sms") -> dict[str, str]:
    return {"decision_id": decision_id, "method": method}


def start(client: Any, channel: Headers, decision_id: str, method: str = "sms") -> dict[str, Any]:
    response = client.post(
        "/v1/challenges", json=challenge_of(decision_id, method), headers=channel
    )
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


def passed_sms_challenge(app: FastAPI, client: Any, channel: Headers, event_id: str) -> str:
    challenge = start(client, channel, decide(client, channel, event_id))
    code = sms_codes(app)[-1]
    url = f"/v1/challenges/{challenge['challenge_id']}/verify"
    assert client.post(url, json={"code": code}, headers=channel).json()["status"] == "verified"
    return str(challenge["challenge_id"])


def failed_sms_challenge(
    app: FastAPI, client: Any, channel: Headers, event_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A step-up challenge answered wrong three times, and the three answers."""
    challenge = start(client, channel, decide(client, channel, event_id))
    (code,) = sms_codes(app)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/challenges/{challenge['challenge_id']}/verify"
    answers = [client.post(url, json={"code": wrong}, headers=channel).json() for _ in range(3)]
    return challenge, answers


def test_an_sms_challenge_is_verified_with_the_code_from_the_outbox(
    app: FastAPI, client: Any, channel: Headers
) -> None:
    body = {"decision_id": decide(client, channel, "t-1"), "method": "sms"}
    response = client.post("/v1/challenges", json=body, headers=channel)
    challenge = response.json()
    (code,) = sms_codes(app)
    assert code not in response.text
    assert (challenge["status"], challenge["customer_id"]) == ("pending", "C1")
    url = f"/v1/challenges/{challenge['challenge_id']}/verify"

    wrong = "000000" if code != "000000" else "111111"
    missed = client.post(url, json={"code": wrong}, headers=channel)
    assert missed.json() == {"status": "pending", "outcome": None, "attempts_left": 2}
    assert code not in missed.text

    passed = client.post(url, json={"code": code}, headers=channel)
    assert passed.json() == {"status": "verified", "outcome": "allow", "attempts_left": 2}
    again = client.post(url, json={"code": code}, headers=channel)
    assert again.status_code == 409


def test_the_log_records_how_a_step_up_ended(
    app: FastAPI, client: Any, channel: Headers, analyst_headers: Headers, clock: FixedClock
) -> None:
    passed_sms_challenge(app, client, channel, "t-1")
    logged = client.get("/v1/decisions/transfer:t-1", headers=analyst_headers).json()
    assert logged["outcome"] == "step_up"  # the answer the channel got stays as it was
    assert logged["resolution"] == {
        "outcome": "allow",
        "reason": "step_up_verified",
        "resolved_at": clock.now().isoformat(),
    }
    untouched = decide(client, channel, "t-2")
    listed = client.get("/v1/decisions?customer_id=C1", headers=analyst_headers).json()
    ended = {d["decision_id"]: d["resolution"] for d in listed}
    assert ended[untouched] is None  # no challenge answered yet
    assert ended[logged["decision_id"]]["outcome"] == "allow"
    assert client.get("/v1/alerts", headers=analyst_headers).json() == []


def test_three_wrong_codes_fail_the_challenge_and_decline(
    app: FastAPI, client: Any, channel: Headers, analyst_headers: Headers
) -> None:
    challenge, answers = failed_sms_challenge(app, client, channel, "t-1")
    assert answers[-1] == {"status": "failed", "outcome": "decline", "attempts_left": 0}
    read = client.get(f"/v1/challenges/{challenge['challenge_id']}", headers=channel).json()
    assert read["status"] == "failed"
    # the password without the phone: the decision ends as a decline an analyst looks at
    logged = client.get("/v1/decisions/transfer:t-1", headers=analyst_headers).json()
    assert (logged["resolution"]["outcome"], logged["resolution"]["reason"]) == (
        "decline",
        "step_up_failed",
    )
    alerts = client.get("/v1/alerts", headers=analyst_headers).json()
    assert [(a["decision_id"], a["outcome"]) for a in alerts] == [
        (challenge["decision_id"], "decline")
    ]


def test_a_decision_that_ended_takes_no_new_challenge(
    app: FastAPI, client: Any, channel: Headers, error_of: ErrorOf
) -> None:
    challenge, _ = failed_sms_challenge(app, client, channel, "t-1")
    resend = client.post(
        "/v1/challenges", json=challenge_of(challenge["decision_id"]), headers=channel
    )
    assert resend.status_code == 409
    message = str(error_of(resend.json(), "conflict")["message"])
    assert message == "the decision already ended as decline (step_up_failed)"
    assert len(sms_codes(app)) == 1  # no second code went out


def test_a_step_up_starts_within_its_time_and_a_resend_later_still_works(
    client: Any, channel: Headers, clock: FixedClock, error_of: ErrorOf
) -> None:
    late, in_time = decide(client, channel, "t-late"), decide(client, channel, "t-in-time")
    first = start(client, channel, in_time)
    clock.advance(timedelta(minutes=16))  # past step_up.start_within (15 minutes)
    refused = client.post("/v1/challenges", json=challenge_of(late), headers=channel)
    assert refused.status_code == 409
    assert "within 15 minutes" in str(error_of(refused.json(), "conflict")["message"])
    resent = start(client, channel, in_time)  # its first challenge started in time
    assert resent["challenge_id"] != first["challenge_id"]


def test_a_challenge_needs_a_known_step_up_decision(
    client: Any, channel: Headers, error_of: ErrorOf
) -> None:
    unknown = client.post("/v1/challenges", json=challenge_of("nope"), headers=channel)
    assert unknown.status_code == 404
    assert error_of(unknown.json(), "not_found")["field"] == "decision_id"
    allowed = decide(client, channel, "t-1", customer_id="C2")
    response = client.post("/v1/challenges", json=challenge_of(allowed), headers=channel)
    assert response.status_code == 409
    assert "step_up" in str(error_of(response.json(), "conflict")["message"])
    email = challenge_of(allowed, method="email")
    malformed = client.post("/v1/challenges", json=email, headers=channel)
    assert error_of(malformed.json(), "validation_error")["field"] == "method"


def test_an_enrolled_authenticator_answers_a_totp_challenge(
    client: Any, channel: Headers, clock: FixedClock, error_of: ErrorOf
) -> None:
    enrolled = client.post("/v1/customers/C1/totp", headers=channel)
    assert enrolled.status_code == 201
    uri = enrolled.json()["provisioning_uri"]
    assert uri.startswith("otpauth://totp/")
    totp = pyotp.TOTP(parse_qs(urlsplit(uri).query)["secret"][0])
    confirm_url = "/v1/customers/C1/totp/confirm"
    wrong = client.post(confirm_url, json={"code": "12345"}, headers=channel)
    assert error_of(wrong.json(), "validation_error")["field"] == "code"
    confirmed = client.post(confirm_url, json={"code": totp.at(clock.now())}, headers=channel)
    assert confirmed.json()["status"] == "active"

    challenge = start(client, channel, decide(client, channel, "t-1"), method="totp")
    clock.advance(timedelta(seconds=30))  # a code is used once: the next time step's
    url = f"/v1/challenges/{challenge['challenge_id']}/verify"
    passed = client.post(url, json={"code": totp.at(clock.now())}, headers=channel)
    assert passed.json()["outcome"] == "allow"


def test_limits_show_the_policy_defaults(client: Any, channel: Headers) -> None:
    limits = client.get("/v1/customers/C1/limits", headers=channel).json()
    assert [(lim["product"], lim["is_default"]) for lim in limits] == [
        ("card_payment_daily", True),
        ("single_transfer", True),
        ("transfer_daily", True),
    ]


def test_a_customer_raise_needs_a_recent_step_up(
    app: FastAPI, client: Any, channel: Headers, clock: FixedClock, error_of: ErrorOf
) -> None:
    url = "/v1/customers/C1/limits/transfer_daily"
    refused = client.put(url, json={"amount_minor": 240_000_000}, headers=channel)
    assert refused.status_code == 403
    assert "step-up" in str(error_of(refused.json(), "permission_denied")["message"])
    lowered = client.put(url, json={"amount_minor": 40_000_000}, headers=channel)
    assert lowered.json()["actor_kind"] == "customer"

    challenge_id = passed_sms_challenge(app, client, channel, "t-1")
    raise_body = {"amount_minor": 240_000_000, "step_up_challenge_id": challenge_id}
    raised = client.put(url, json=raise_body, headers=channel)
    assert raised.status_code == 200, raised.text
    assert (raised.json()["old_amount_minor"], raised.json()["new_amount_minor"]) == (
        40_000_000,
        240_000_000,
    )
    clock.advance(timedelta(minutes=11))
    stale = client.put(url, json={**raise_body, "amount_minor": 280_000_000}, headers=channel)
    assert stale.status_code == 403
    audit = state_of(app).protection_audit
    assert isinstance(audit, LoggingAuditSink)
    actions = [entry.action for entry in audit.recent]
    assert actions.count("protection.limit_changed") == 2


def test_another_customers_challenge_does_not_raise_a_limit(
    app: FastAPI, client: Any, channel: Headers, error_of: ErrorOf
) -> None:
    challenge_id = passed_sms_challenge(app, client, channel, "t-1")
    body = {"amount_minor": 6_000_000, "step_up_challenge_id": challenge_id}
    response = client.put("/v1/customers/C2/limits/transfer_daily", json=body, headers=channel)
    assert response.status_code == 404
    error_of(response.json(), "not_found")


def test_staff_set_a_limit_within_the_product_maximum(
    client: Any, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    url = "/v1/customers/C1/limits/single_transfer"
    raised = client.put(url, json={"amount_minor": 500_000_000}, headers=analyst_headers)
    assert raised.json()["actor_kind"] == "staff"
    above = client.put(url, json={"amount_minor": 3_000_000_000}, headers=analyst_headers)
    assert error_of(above.json(), "validation_error")["field"] == "amount_minor"
    unknown = client.put(
        "/v1/customers/C1/limits/moon_travel", json={"amount_minor": 1}, headers=analyst_headers
    )
    assert error_of(unknown.json(), "validation_error")["field"] == "product"
