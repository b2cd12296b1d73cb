"""Signed login tokens against an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from tenure.auth.model import Principal
from tenure.auth.tokens import issue_token, verify_token
from tenure.core.clock import FixedClock
from tenure.core.errors import AuthenticationFailed
from tenure.core.roles import Role

SECRET = SecretStr("s" * 48)
ANN = Principal(subject="u1", roles=frozenset({Role.FRAUD_ANALYST}), name="ann")
TTL = timedelta(minutes=30)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


def test_token_round_trips_the_principal(clock: FixedClock) -> None:
    token = issue_token(principal=ANN, secret=SECRET, clock=clock, ttl=TTL)
    assert verify_token(token, secret=SECRET, clock=clock) == ANN


def test_token_is_accepted_until_just_before_expiry(clock: FixedClock) -> None:
    token = issue_token(principal=ANN, secret=SECRET, clock=clock, ttl=TTL)
    clock.advance(TTL - timedelta(seconds=1))
    assert verify_token(token, secret=SECRET, clock=clock) == ANN


def test_expired_token_is_rejected(clock: FixedClock) -> None:
    token = issue_token(principal=ANN, secret=SECRET, clock=clock, ttl=TTL)
    clock.advance(TTL)
    with pytest.raises(AuthenticationFailed, match="expired"):
        verify_token(token, secret=SECRET, clock=clock)


def test_tampered_token_is_rejected(clock: FixedClock) -> None:
    token = issue_token(principal=ANN, secret=SECRET, clock=clock, ttl=TTL)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["roles"] = ["admin"]
    forged_payload = jwt.encode(claims, "another-secret-long-enough-for-hs256!!", algorithm="HS256")
    header, _, signature = token.split(".")
    spliced = ".".join([header, forged_payload.split(".")[1], signature])
    with pytest.raises(AuthenticationFailed):
        verify_token(spliced, secret=SECRET, clock=clock)


def test_token_signed_with_another_secret_is_rejected(clock: FixedClock) -> None:
    token = issue_token(principal=ANN, secret=SecretStr("o" * 48), clock=clock, ttl=TTL)
    with pytest.raises(AuthenticationFailed):
        verify_token(token, secret=SECRET, clock=clock)


def test_unsigned_token_is_rejected(clock: FixedClock) -> None:
    claims = {"sub": "u1", "roles": ["admin"], "iss": "tenure", "iat": 0, "exp": 2**40}
    token = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(AuthenticationFailed):
        verify_token(token, secret=SECRET, clock=clock)


def test_token_with_unknown_role_is_rejected(clock: FixedClock) -> None:
    now = int(clock.now().timestamp())
    claims = {"sub": "u1", "roles": ["root"], "iss": "tenure", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, SECRET.get_secret_value(), algorithm="HS256")
    with pytest.raises(AuthenticationFailed):
        verify_token(token, secret=SECRET, clock=clock)


def test_garbage_is_rejected(clock: FixedClock) -> None:
    with pytest.raises(AuthenticationFailed):
        verify_token("not.a.token", secret=SECRET, clock=clock)
