"""The challenge lifecycle with the SMS stand-in: outbox, attempts, expiry, cancel, recency."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from tenure.core.clock import FixedClock
from tenure.core.errors import ConfigurationError, Conflict, NotFound, ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.stepup import (
    SMS_TEMPLATE,
    Challenge,
    ChallengeStatus,
    StepUpPolicy,
    cancel_challenge,
    expire_overdue,
    get_challenge,
    last_step_up_at,
    recent_step_up,
    start_challenge,
    verify_challenge,
)
from tenure.protection.stepup.memory import InMemoryStepUpUnitOfWork

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = SecretStr("test-hmac-key")


def _start(
    uow: InMemoryStepUpUnitOfWork,
    clock: FixedClock,
    *,
    decision_id: str = "d1",
    policy: StepUpPolicy | None = None,
    seed: int = 7,
) -> Challenge:
    return start_challenge(
        uow=uow,
        decision_id=decision_id,
        customer_id="c1",
        method="sms",
        code_key=KEY,
        clock=clock,
        random_source=random.Random(seed).randrange,
        policy=policy or StepUpPolicy(),
    )


def _sent_code(uow: InMemoryStepUpUnitOfWork) -> str:
    return uow.outbox.pending()[-1].params["code"]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_sms_challenge_queues_a_six_digit_code_in_the_outbox() -> None:
    uow = InMemoryStepUpUnitOfWork()
    challenge = _start(uow, FixedClock(START))
    [message] = uow.outbox.pending()
    code = message.params["code"]
    assert len(code) == 6
    assert code.isdigit()
    assert message.channel == "sms"
    assert message.customer_id == "c1"
    assert message.template == SMS_TEMPLATE
    assert message.created_at == START
    assert challenge.status is ChallengeStatus.PENDING
    assert challenge.expires_at == START + timedelta(minutes=5)
    assert challenge.attempts_left == 3


def test_the_code_appears_only_in_params_code() -> None:
    uow = InMemoryStepUpUnitOfWork()
    challenge = _start(uow, FixedClock(START))
    [message] = uow.outbox.pending()
    code = message.params["code"]
    other_fields = [message.id, message.channel, message.customer_id, message.template]
    other_fields += [value for name, value in message.params.items() if name != "code"]
    assert all(code not in value for value in other_fields)
    assert code not in repr(message)
    assert code not in repr(challenge)
    stored_hash = uow.challenges.code_hash(challenge.id)
    assert stored_hash is not None
    assert code not in stored_hash


def test_a_seeded_random_source_gives_the_same_code() -> None:
    first, second = InMemoryStepUpUnitOfWork(), InMemoryStepUpUnitOfWork()
    _start(first, FixedClock(START), seed=11)
    _start(second, FixedClock(START), seed=11)
    assert _sent_code(first) == _sent_code(second)


def test_the_right_code_verifies_and_resumes_as_allow() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    result = verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
    )
    assert result.verified
    assert result.outcome is Outcome.ALLOW
    assert result.challenge.finished_at == START


def test_a_code_with_spaces_is_accepted() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    code = _sent_code(uow)
    spaced = f"{code[:3]} {code[3:]}"
    result = verify_challenge(
        uow=uow, challenge_id=challenge.id, code=spaced, code_key=KEY, clock=clock
    )
    assert result.verified


def test_another_key_does_not_verify_the_code() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    result = verify_challenge(
        uow=uow,
        challenge_id=challenge.id,
        code=_sent_code(uow),
        code_key=SecretStr("another-key"),
        clock=clock,
    )
    assert not result.verified


def test_a_wrong_code_uses_one_attempt_and_keeps_the_decision_waiting() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    result = verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_wrong(_sent_code(uow)), code_key=KEY, clock=clock
    )
    assert result.status is ChallengeStatus.PENDING
    assert result.challenge.attempts_left == 2
    assert result.outcome is None
    assert uow.challenges.get(challenge.id) == result.challenge


def test_three_wrong_codes_fail_the_challenge_and_the_decision_is_declined() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    wrong = _wrong(_sent_code(uow))
    results = [
        verify_challenge(uow=uow, challenge_id=challenge.id, code=wrong, code_key=KEY, clock=clock)
        for _ in range(3)
    ]
    assert [r.challenge.attempts_left for r in results] == [2, 1, 0]
    assert results[-1].status is ChallengeStatus.FAILED
    assert results[-1].outcome is Outcome.DECLINE
    with pytest.raises(Conflict):
        verify_challenge(
            uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
        )


def test_a_malformed_code_is_a_validation_error_that_uses_no_attempt() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    with pytest.raises(ValidationError) as raised:
        verify_challenge(uow=uow, challenge_id=challenge.id, code="12ab", code_key=KEY, clock=clock)
    assert raised.value.field == "code"
    assert "12ab" not in str(raised.value)
    stored = uow.challenges.get(challenge.id)
    assert stored is not None
    assert stored.attempts_left == 3


def test_a_code_after_expiry_expires_the_challenge() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    clock.advance(timedelta(minutes=5))
    result = verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
    )
    assert result.status is ChallengeStatus.EXPIRED
    assert result.outcome is Outcome.DECLINE
    with pytest.raises(Conflict):
        verify_challenge(
            uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
        )


def test_policy_sets_expiry_attempts_and_failed_outcome() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    policy = StepUpPolicy(expiry=timedelta(minutes=2), max_attempts=1, failed_outcome=Outcome.HOLD)
    challenge = _start(uow, clock, policy=policy)
    assert challenge.expires_at == START + timedelta(minutes=2)
    assert uow.outbox.pending()[-1].params["expires_in_minutes"] == "2"
    result = verify_challenge(
        uow=uow,
        challenge_id=challenge.id,
        code=_wrong(_sent_code(uow)),
        code_key=KEY,
        clock=clock,
        policy=policy,
    )
    assert result.status is ChallengeStatus.FAILED
    assert result.outcome is Outcome.HOLD


@pytest.mark.parametrize(
    "settings",
    [
        {"expiry": timedelta(0)},
        {"max_attempts": 0},
        {"max_challenges_per_decision": 0},
        {"start_within": timedelta(0)},
    ],
)
def test_a_nonsense_policy_is_a_configuration_error(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        StepUpPolicy(**settings)  # type: ignore[arg-type]


def test_get_challenge_records_expiry() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    assert get_challenge(uow=uow, challenge_id=challenge.id, clock=clock) == challenge
    clock.advance(timedelta(minutes=6))
    assert get_challenge(uow=uow, challenge_id=challenge.id, clock=clock).status == "expired"


def test_expire_overdue_ends_only_challenges_past_their_expiry_and_only_once() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    policy = StepUpPolicy(failed_outcome=Outcome.HOLD)
    early = _start(uow, clock, decision_id="d1", policy=policy)
    clock.advance(timedelta(minutes=3))
    late = _start(uow, clock, decision_id="d2", policy=policy)
    answered = _start(uow, clock, decision_id="d3", policy=policy)
    verify_challenge(uow=uow, challenge_id=answered.id, code=_sent_code(uow), code_key=KEY,
                     clock=clock)  # fmt: skip
    clock.advance(timedelta(minutes=2))  # the first is 5 minutes old: due; the others 2

    results = expire_overdue(uow=uow, clock=clock, policy=policy)

    assert [(r.challenge.id, r.status, r.outcome) for r in results] == [
        (early.id, ChallengeStatus.EXPIRED, Outcome.HOLD)
    ]
    assert get_challenge(uow=uow, challenge_id=late.id, clock=clock).status == "pending"
    assert expire_overdue(uow=uow, clock=clock, policy=policy) == []
    clock.advance(timedelta(minutes=3))
    assert [r.challenge.id for r in expire_overdue(uow=uow, clock=clock)] == [late.id]


def test_cancelling_ends_a_pending_challenge_once() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    cancelled = cancel_challenge(uow=uow, challenge_id=challenge.id, clock=clock)
    assert cancelled.status is ChallengeStatus.CANCELLED
    assert cancel_challenge(uow=uow, challenge_id=challenge.id, clock=clock) == cancelled
    with pytest.raises(Conflict):
        verify_challenge(
            uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
        )


def test_cancelling_a_verified_challenge_is_a_conflict() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
    )
    with pytest.raises(Conflict):
        cancel_challenge(uow=uow, challenge_id=challenge.id, clock=clock)


def test_another_customers_challenge_looks_missing() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    with pytest.raises(NotFound):
        verify_challenge(
            uow=uow,
            challenge_id=challenge.id,
            code=_sent_code(uow),
            code_key=KEY,
            clock=clock,
            customer_id="c2",
        )
    with pytest.raises(NotFound):
        cancel_challenge(uow=uow, challenge_id="nope", clock=clock)


def test_a_resend_cancels_the_pending_challenge_and_is_capped_per_decision() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    first = _start(uow, clock)
    second = _start(uow, clock, seed=8)
    stored = uow.challenges.get(first.id)
    assert stored is not None
    assert stored.status is ChallengeStatus.CANCELLED
    assert second.status is ChallengeStatus.PENDING
    _start(uow, clock, seed=9)
    with pytest.raises(Conflict):
        _start(uow, clock, seed=10)
    assert len(uow.outbox.pending()) == 3


def test_a_verified_decision_takes_no_new_challenge() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
    )
    with pytest.raises(Conflict):
        _start(uow, clock)


def test_a_decision_of_another_customer_is_a_conflict() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    _start(uow, clock)
    with pytest.raises(Conflict):
        start_challenge(
            uow=uow, decision_id="d1", customer_id="c2", method="sms", code_key=KEY, clock=clock
        )


def test_an_unknown_method_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        start_challenge(
            uow=InMemoryStepUpUnitOfWork(),
            decision_id="d1",
            customer_id="c1",
            method="email",  # type: ignore[arg-type]
            code_key=KEY,
            clock=FixedClock(START),
        )
    assert raised.value.field == "method"


def test_a_failed_start_leaves_nothing_behind() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    with pytest.raises(Conflict):
        start_challenge(
            uow=uow, decision_id="d1", customer_id="c1", method="totp", code_key=KEY, clock=clock
        )
    assert uow.challenges.list_for_decision("d1") == []
    assert uow.outbox.pending() == []


def test_recent_step_up_looks_back_the_given_window() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    ten = timedelta(minutes=10)
    assert not recent_step_up(uow=uow, customer_id="c1", within=ten, clock=clock)
    challenge = _start(uow, clock)
    assert not recent_step_up(uow=uow, customer_id="c1", within=ten, clock=clock)
    verify_challenge(
        uow=uow, challenge_id=challenge.id, code=_sent_code(uow), code_key=KEY, clock=clock
    )
    assert last_step_up_at(uow=uow, customer_id="c1") == START
    clock.advance(timedelta(minutes=9))
    assert recent_step_up(uow=uow, customer_id="c1", within=ten, clock=clock)
    assert not recent_step_up(uow=uow, customer_id="c2", within=ten, clock=clock)
    clock.advance(timedelta(minutes=2))
    assert not recent_step_up(uow=uow, customer_id="c1", within=ten, clock=clock)


def test_a_failed_challenge_is_not_a_step_up() -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge = _start(uow, clock)
    for _ in range(3):
        verify_challenge(
            uow=uow,
            challenge_id=challenge.id,
            code=_wrong(_sent_code(uow)),
            code_key=KEY,
            clock=clock,
        )
    assert last_step_up_at(uow=uow, customer_id="c1") is None


def test_the_first_challenge_must_start_within_the_policy_time_of_the_decision() -> None:
    uow = InMemoryStepUpUnitOfWork()
    decided = FixedClock(START)
    policy = StepUpPolicy(start_within=timedelta(minutes=10))
    clock = FixedClock(START + timedelta(minutes=10))

    def begin(decision_id: str) -> Challenge:
        return start_challenge(
            uow=uow, decision_id=decision_id, customer_id="c1", method="sms", code_key=KEY,
            clock=clock, policy=policy, decided_at=decided.now(),
        )  # fmt: skip

    on_time = begin("d-on-time")  # exactly at the limit: still in time
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Conflict, match="within 10 minutes"):
        begin("d-late")
    assert [c.decision_id for c in uow.challenges.list_for_decision("d-late")] == []
    assert begin("d-on-time").id != on_time.id  # a resend of one started in time is fine
