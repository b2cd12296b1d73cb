"""TOTP enrolment and verification: confirm with one code, ±1 step window, no replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from pydantic import SecretStr

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound, ValidationError
from tenure.protection.stepup import (
    ChallengeStatus,
    confirm_totp_enrolment,
    enroll_totp,
    remove_totp,
    start_challenge,
    verify_challenge,
)
from tenure.protection.stepup.codes import matching_totp_counter
from tenure.protection.stepup.memory import InMemoryStepUpUnitOfWork

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = SecretStr("test-hmac-key")


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _enrolled(uow: InMemoryStepUpUnitOfWork, clock: FixedClock, customer_id: str = "c1") -> str:
    provisioning = enroll_totp(uow=uow, customer_id=customer_id, clock=clock)
    secret = provisioning.secret.get_secret_value()
    confirm_totp_enrolment(
        uow=uow, customer_id=customer_id, code=_code(secret, clock.now()), clock=clock
    )
    clock.advance(timedelta(seconds=30))
    return secret


def test_enrolment_returns_a_base32_secret_and_a_tenure_provisioning_uri() -> None:
    uow = InMemoryStepUpUnitOfWork()
    provisioning = enroll_totp(
        uow=uow, customer_id="c1", account_name="li.wei", clock=FixedClock(START)
    )
    secret = provisioning.secret.get_secret_value()
    uri = urlparse(provisioning.provisioning_uri.get_secret_value())
    assert len(secret) == 32
    assert pyotp.TOTP(secret).now().isdigit()
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["issuer"] == ["Tenure"]
    assert query["secret"] == [secret]
    assert provisioning.enrolment.status == "pending"
    assert secret not in repr(provisioning)
    assert uow.totp_secrets.secret("c1") == secret


def test_enrolment_is_pending_until_a_code_is_confirmed() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    enroll_totp(uow=uow, customer_id="c1", clock=clock)
    with pytest.raises(Conflict):
        start_challenge(
            uow=uow, decision_id="d1", customer_id="c1", method="totp", code_key=KEY, clock=clock
        )


def test_confirming_with_a_valid_code_activates_the_enrolment() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    enrolment = confirm_totp_enrolment(
        uow=uow, customer_id="c1", code=_code(secret, START), clock=clock
    )
    assert enrolment.active
    assert enrolment.confirmed_at == START
    assert uow.totp_secrets.get("c1") == enrolment


def test_confirming_with_a_wrong_code_keeps_the_enrolment_pending() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    wrong = f"{(int(_code(secret, START)) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as raised:
        confirm_totp_enrolment(uow=uow, customer_id="c1", code=wrong, clock=clock)
    assert raised.value.field == "code"
    assert wrong not in str(raised.value)
    stored = uow.totp_secrets.get("c1")
    assert stored is not None
    assert stored.status == "pending"


def test_confirming_without_an_enrolment_is_not_found() -> None:
    with pytest.raises(NotFound):
        confirm_totp_enrolment(
            uow=InMemoryStepUpUnitOfWork(), customer_id="c1", code="123456", clock=FixedClock(START)
        )


def test_confirming_twice_is_a_conflict() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = _enrolled(uow, clock)
    with pytest.raises(Conflict):
        confirm_totp_enrolment(
            uow=uow, customer_id="c1", code=_code(secret, clock.now()), clock=clock
        )


def test_re_enrolling_replaces_a_pending_secret_but_not_an_active_one() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    first = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    second = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    assert first != second
    assert uow.totp_secrets.secret("c1") == second
    confirm_totp_enrolment(uow=uow, customer_id="c1", code=_code(second, START), clock=clock)
    with pytest.raises(Conflict):
        enroll_totp(uow=uow, customer_id="c1", clock=clock)
    remove_totp(uow=uow, customer_id="c1")
    assert uow.totp_secrets.get("c1") is None
    assert enroll_totp(uow=uow, customer_id="c1", clock=clock).enrolment.status == "pending"


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_accepts_codes_one_step_either_side(offset: int) -> None:
    secret = pyotp.random_base32()
    code = _code(secret, START + timedelta(seconds=offset))
    assert matching_totp_counter(secret, code, at=START, window=1, last_used=None) is not None


@pytest.mark.parametrize("offset", [-60, 60])
def test_rejects_codes_two_steps_away(offset: int) -> None:
    secret = pyotp.random_base32()
    code = _code(secret, START + timedelta(seconds=offset))
    assert matching_totp_counter(secret, code, at=START, window=1, last_used=None) is None


def test_rejects_a_step_already_used_or_older() -> None:
    secret = pyotp.random_base32()
    current = int(START.timestamp()) // 30
    code = _code(secret, START)
    assert matching_totp_counter(secret, code, at=START, window=1, last_used=current - 1) == current
    assert matching_totp_counter(secret, code, at=START, window=1, last_used=current) is None


def _totp_challenge(uow: InMemoryStepUpUnitOfWork, clock: FixedClock, decision_id: str) -> str:
    return start_challenge(
        uow=uow, decision_id=decision_id, customer_id="c1", method="totp", code_key=KEY, clock=clock
    ).id


def test_a_totp_challenge_verifies_with_the_current_code() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = _enrolled(uow, clock)
    challenge_id = _totp_challenge(uow, clock, "d1")
    result = verify_challenge(
        uow=uow,
        challenge_id=challenge_id,
        code=_code(secret, clock.now()),
        code_key=KEY,
        clock=clock,
    )
    assert result.verified


def test_a_totp_code_cannot_be_replayed_on_another_challenge() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = _enrolled(uow, clock)
    code = _code(secret, clock.now())
    first = _totp_challenge(uow, clock, "d1")
    assert verify_challenge(
        uow=uow, challenge_id=first, code=code, code_key=KEY, clock=clock
    ).verified
    second = _totp_challenge(uow, clock, "d2")
    replay = verify_challenge(uow=uow, challenge_id=second, code=code, code_key=KEY, clock=clock)
    assert not replay.verified
    assert replay.challenge.attempts_left == 2
    clock.advance(timedelta(seconds=30))
    fresh = verify_challenge(
        uow=uow, challenge_id=second, code=_code(secret, clock.now()), code_key=KEY, clock=clock
    )
    assert fresh.verified


def test_the_confirmation_code_cannot_be_replayed_on_a_challenge() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    code = _code(secret, START)
    confirm_totp_enrolment(uow=uow, customer_id="c1", code=code, clock=clock)
    challenge_id = _totp_challenge(uow, clock, "d1")
    result = verify_challenge(
        uow=uow, challenge_id=challenge_id, code=code, code_key=KEY, clock=clock
    )
    assert result.status is ChallengeStatus.PENDING
    assert not result.verified


def test_a_removed_authenticator_cannot_answer_its_challenge() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    secret = _enrolled(uow, clock)
    challenge_id = _totp_challenge(uow, clock, "d1")
    remove_totp(uow=uow, customer_id="c1")
    result = verify_challenge(
        uow=uow,
        challenge_id=challenge_id,
        code=_code(secret, clock.now()),
        code_key=KEY,
        clock=clock,
    )
    assert not result.verified
