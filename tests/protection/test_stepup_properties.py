"""Properties of step-up: wrong codes never verify, attempts never go negative, one verify."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pyotp
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, ValidationError
from tenure.protection.stepup import ChallengeStatus, start_challenge, verify_challenge
from tenure.protection.stepup.codes import matching_totp_counter
from tenure.protection.stepup.memory import InMemoryStepUpUnitOfWork

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = SecretStr("property-key")
codes_6 = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}")


def _sms_challenge(uow: InMemoryStepUpUnitOfWork, clock: FixedClock, seed: int) -> tuple[str, str]:
    challenge = start_challenge(
        uow=uow,
        decision_id="d1",
        customer_id="c1",
        method="sms",
        code_key=KEY,
        clock=clock,
        random_source=random.Random(seed).randrange,
    )
    return challenge.id, uow.outbox.pending()[-1].params["code"]


@given(seed=st.integers(min_value=0, max_value=2**32), guesses=st.lists(codes_6, max_size=5))
def test_a_wrong_sms_code_never_verifies(seed: int, guesses: list[str]) -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge_id, code = _sms_challenge(uow, clock, seed)
    for guess in (g for g in guesses if g != code):
        try:
            result = verify_challenge(
                uow=uow, challenge_id=challenge_id, code=guess, code_key=KEY, clock=clock
            )
        except Conflict:
            break
        assert not result.verified


@given(
    secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=32, max_size=32),
    seconds=st.integers(min_value=60, max_value=2_000_000_000),
    guess=codes_6,
)
def test_a_totp_code_matches_only_within_the_window(secret: str, seconds: int, guess: str) -> None:
    at = datetime.fromtimestamp(seconds, UTC)
    totp = pyotp.TOTP(secret)
    valid = {totp.at(at + timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
    matched = matching_totp_counter(secret, guess, at=at, window=1, last_used=None)
    assert (matched is not None) == (guess in valid)


attempt = st.one_of(st.just("right"), st.just("wrong"), st.just("malformed"), st.just("wait"))


@given(seed=st.integers(min_value=0, max_value=2**32), steps=st.lists(attempt, max_size=12))
def test_attempts_never_go_below_zero_and_a_challenge_verifies_at_most_once(
    seed: int, steps: list[str]
) -> None:
    uow = InMemoryStepUpUnitOfWork()
    clock = FixedClock(START)
    challenge_id, code = _sms_challenge(uow, clock, seed)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    presented = {"right": code, "wrong": wrong, "malformed": "12x456"}
    verified = 0
    for step in steps:
        if step == "wait":
            clock.advance(timedelta(minutes=2))
            continue
        before = uow.challenges.get(challenge_id)
        assert before is not None
        try:
            result = verify_challenge(
                uow=uow, challenge_id=challenge_id, code=presented[step], code_key=KEY, clock=clock
            )
        except Conflict:
            assert before.status.finished
            continue
        except ValidationError:
            assert step == "malformed"
            continue
        assert not before.status.finished
        assert result.challenge.attempts_left >= 0
        assert (result.challenge.attempts_left == 0) == (result.status is ChallengeStatus.FAILED)
        verified += result.verified
    assert verified <= 1
