"""Step-up storage: the same behaviour in memory, on SQLite and on PostgreSQL; sealed secrets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from protection_store import BACKENDS, open_store
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tenure.adapters.sql.stepup import SecretCipher, SqlStepUpUnitOfWork, SqlStepUpUnitOfWorkFactory
from tenure.core.clock import FixedClock
from tenure.core.errors import ConfigurationError, Conflict, NotFound
from tenure.protection.stepup import (
    ChallengeStatus,
    confirm_totp_enrolment,
    enroll_totp,
    start_challenge,
    verify_challenge,
)
from tenure.protection.stepup.memory import InMemoryStepUpUnitOfWork
from tenure.protection.stepup.model import Challenge, OutboxMessage, TotpEnrolment

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
CIPHER = SecretCipher(SecretStr("a-test-key-of-enough-length"))
CODE_KEY = SecretStr("test-hmac-key")

StepUp = InMemoryStepUpUnitOfWork | SqlStepUpUnitOfWork


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture(params=BACKENDS[1:])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def uow(store: Engine | None) -> StepUp:
    """One unit of work, entered once per transaction, as the services use it."""
    if store is None:
        return InMemoryStepUpUnitOfWork()
    return SqlStepUpUnitOfWorkFactory(store, CIPHER)()


def make_enrolment(customer_id: str = "c1", *, counter: int | None = None) -> TotpEnrolment:
    return TotpEnrolment(
        customer_id=customer_id, status="active", created_at=AT, last_used_counter=counter
    )


def make_challenge(challenge_id: str = "ch1", *, minutes: int = 0) -> Challenge:
    return Challenge(
        id=challenge_id,
        decision_id="d1",
        customer_id="c1",
        method="sms",
        status=ChallengeStatus.PENDING,
        created_at=AT + timedelta(minutes=minutes),
        expires_at=AT + timedelta(minutes=minutes + 5),
        attempts_left=3,
    )


def make_message(message_id: str = "m1", *, minutes: int = 0) -> OutboxMessage:
    return OutboxMessage(
        id=message_id,
        channel="sms",
        customer_id="c1",
        template="stepup_code",
        params={"code": "123456", "expires_in_minutes": "5"},
        created_at=AT + timedelta(minutes=minutes),
    )


def test_an_enrolment_keeps_its_secret(uow: StepUp) -> None:
    with uow:
        uow.totp_secrets.add(make_enrolment(), secret="JBSWY3DPEHPK3PXP")
        uow.commit()
    with uow:
        assert uow.totp_secrets.get("c1") == make_enrolment()
        assert uow.totp_secrets.secret("c1") == "JBSWY3DPEHPK3PXP"
        assert uow.totp_secrets.get("c2") is None
        assert uow.totp_secrets.secret("c2") is None


def test_a_customer_has_one_enrolment(uow: StepUp) -> None:
    with uow:
        uow.totp_secrets.add(make_enrolment(), secret="A")
        with pytest.raises(Conflict):
            uow.totp_secrets.add(make_enrolment(), secret="B")


def test_enrolment_update_is_a_compare_and_set(uow: StepUp) -> None:
    with uow:
        uow.totp_secrets.add(make_enrolment(), secret="A")
        used = make_enrolment(counter=41)
        uow.totp_secrets.update(used, expected=make_enrolment())
        with pytest.raises(Conflict):
            uow.totp_secrets.update(make_enrolment(counter=42), expected=make_enrolment())
        with pytest.raises(NotFound):
            uow.totp_secrets.update(make_enrolment("c9"), expected=make_enrolment("c9"))
        assert uow.totp_secrets.get("c1") == used
        assert uow.totp_secrets.secret("c1") == "A"


def test_removing_then_adding_in_one_transaction_replaces_the_secret(uow: StepUp) -> None:
    with uow:
        uow.totp_secrets.add(make_enrolment(), secret="A")
        uow.commit()
    with uow:
        uow.totp_secrets.remove("c1")
        uow.totp_secrets.remove("c1")
        uow.totp_secrets.add(make_enrolment(), secret="B")
        uow.commit()
    with uow:
        assert uow.totp_secrets.secret("c1") == "B"


def test_challenges_keep_their_code_hash_and_decision_order(uow: StepUp) -> None:
    with uow:
        uow.challenges.add(make_challenge("ch1"), code_hash=None)
        uow.challenges.add(make_challenge("ch2", minutes=1), code_hash="h2")
        uow.commit()
    with uow:
        assert uow.challenges.get("ch2") == make_challenge("ch2", minutes=1)
        assert uow.challenges.code_hash("ch2") == "h2"
        assert uow.challenges.code_hash("ch1") is None
        assert uow.challenges.get("nope") is None
        listed = uow.challenges.list_for_decision("d1")
    assert [challenge.id for challenge in listed] == ["ch1", "ch2"]


def test_a_challenge_id_is_taken_once(uow: StepUp) -> None:
    with uow:
        uow.challenges.add(make_challenge(), code_hash=None)
        with pytest.raises(Conflict):
            uow.challenges.add(make_challenge(), code_hash=None)


def test_challenge_update_is_a_compare_and_set(uow: StepUp) -> None:
    first = make_challenge()
    tried = replace(first, attempts_left=2)
    missing = make_challenge("ch9")
    with uow:
        uow.challenges.add(first, code_hash="h")
        uow.challenges.update(tried, expected=first)
        with pytest.raises(Conflict):
            uow.challenges.update(replace(first, attempts_left=1), expected=first)
        with pytest.raises(NotFound):
            uow.challenges.update(missing, expected=missing)
        assert uow.challenges.get("ch1") == tried


def test_overdue_lists_pending_challenges_past_expiry_soonest_first(uow: StepUp) -> None:
    answered = replace(make_challenge("ch0"), status=ChallengeStatus.VERIFIED, finished_at=AT)
    with uow:
        for challenge in (make_challenge("ch2", minutes=2), make_challenge("ch1"), answered,
                          make_challenge("ch3", minutes=30)):  # fmt: skip
            uow.challenges.add(challenge, code_hash=None)
        uow.commit()
    with uow:
        due = uow.challenges.overdue(AT + timedelta(minutes=7), limit=10)
        first = uow.challenges.overdue(AT + timedelta(minutes=7), limit=1)
        none = uow.challenges.overdue(AT + timedelta(minutes=4), limit=10)
    assert [challenge.id for challenge in due] == ["ch1", "ch2"]
    assert [challenge.id for challenge in first] == ["ch1"]
    assert none == []


def test_last_verified_at_is_the_latest_verified_finish(uow: StepUp) -> None:
    with uow:
        assert uow.challenges.last_verified_at("c1") is None
        for minutes, status in ((1, ChallengeStatus.VERIFIED), (9, ChallengeStatus.FAILED)):
            challenge = make_challenge(f"ch{minutes}", minutes=minutes)
            finished = replace(challenge, status=status, finished_at=challenge.created_at)
            uow.challenges.add(finished, code_hash=None)
        assert uow.challenges.last_verified_at("c1") == AT + timedelta(minutes=1)
        assert uow.challenges.last_verified_at("c2") is None


def test_the_outbox_lists_pending_messages_oldest_first(uow: StepUp) -> None:
    with uow:
        uow.outbox.add(make_message("m1"))
        uow.outbox.add(make_message("m2", minutes=1))
        uow.commit()
    with uow:
        pending = uow.outbox.pending()
    assert pending == [make_message("m1"), make_message("m2", minutes=1)]
    assert pending[0].params["code"] == "123456"


def test_nothing_outlives_a_transaction_without_commit(uow: StepUp) -> None:
    with uow:
        uow.totp_secrets.add(make_enrolment(), secret="A")
        uow.challenges.add(make_challenge(), code_hash="h")
        uow.outbox.add(make_message())
    with uow:
        assert uow.totp_secrets.get("c1") is None
        assert uow.challenges.get("ch1") is None
        assert uow.outbox.pending() == []


def test_totp_enrolment_and_challenge_run_end_to_end(uow: StepUp) -> None:
    clock = FixedClock(AT)
    secret = enroll_totp(uow=uow, customer_id="c1", clock=clock).secret.get_secret_value()
    confirm_totp_enrolment(uow=uow, customer_id="c1", code=pyotp.TOTP(secret).at(AT), clock=clock)
    clock.advance(timedelta(seconds=60))
    challenge = start_challenge(
        uow=uow, decision_id="d1", customer_id="c1", method="totp", code_key=CODE_KEY, clock=clock
    )
    code = pyotp.TOTP(secret).at(clock.now())
    result = verify_challenge(
        uow=uow, challenge_id=challenge.id, code=code, code_key=CODE_KEY, clock=clock
    )
    assert result.verified
    with uow:
        assert uow.challenges.last_verified_at("c1") == clock.now()


def test_sms_challenge_verifies_with_the_code_from_the_outbox(uow: StepUp) -> None:
    clock = FixedClock(AT)
    challenge = start_challenge(
        uow=uow, decision_id="d1", customer_id="c1", method="sms", code_key=CODE_KEY, clock=clock
    )
    with uow:
        [message] = uow.outbox.pending()
    result = verify_challenge(
        uow=uow,
        challenge_id=challenge.id,
        code=message.params["code"],
        code_key=CODE_KEY,
        clock=clock,
    )
    assert result.verified


def test_totp_secrets_are_sealed_at_rest(engine: Engine) -> None:
    with SqlStepUpUnitOfWorkFactory(engine, CIPHER)() as uow:
        uow.totp_secrets.add(make_enrolment(), secret="JBSWY3DPEHPK3PXP")
        uow.commit()
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT secret FROM protection_totp")).scalar_one()
    assert "JBSWY3DPEHPK3PXP" not in stored
    other = SecretCipher(SecretStr("another-key-of-enough-length"))
    with SqlStepUpUnitOfWorkFactory(engine, other)() as uow, pytest.raises(ConfigurationError):
        uow.totp_secrets.secret("c1")


def test_a_sealed_secret_does_not_open_for_another_customer() -> None:
    sealed = CIPHER.seal("JBSWY3DPEHPK3PXP", context="c1")
    assert CIPHER.open(sealed, context="c1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ConfigurationError):
        CIPHER.open(sealed, context="c2")


def test_a_delivered_message_leaves_the_outbox_without_its_code(engine: Engine) -> None:
    factory = SqlStepUpUnitOfWorkFactory(engine, CIPHER)
    with factory() as uow:
        uow.outbox.add(make_message())
        assert uow.outbox.mark_delivered("m1", at=AT)
        assert not uow.outbox.mark_delivered("m1", at=AT)
        uow.commit()
    with factory() as uow:
        assert uow.outbox.pending() == []
    with engine.connect() as connection:
        params = connection.execute(sa.text("SELECT params FROM protection_outbox")).scalar_one()
    assert "123456" not in str(params)
