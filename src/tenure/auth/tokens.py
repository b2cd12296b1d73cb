"""Signed login tokens (JWT, HS256) with an injected clock.

PyJWT checks ``exp`` against the wall clock, so expiry is checked here against the injected
``Clock`` instead; signature, algorithm, issuer and the required claims are still checked by PyJWT.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
from pydantic import SecretStr

from tenure.auth.model import Principal
from tenure.core.clock import Clock
from tenure.core.errors import AuthenticationFailed
from tenure.core.roles import Role

__all__ = ["ALGORITHM", "ISSUER", "issue_token", "verify_token"]

ALGORITHM = "HS256"
ISSUER = "tenure"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "roles"]


def issue_token(*, principal: Principal, secret: SecretStr, clock: Clock, ttl: timedelta) -> str:
    """Sign a token for ``principal`` that expires ``ttl`` from now."""
    now = clock.now()
    claims = {
        "sub": principal.subject,
        "name": principal.name,
        "roles": sorted(role.value for role in principal.roles),
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret.get_secret_value(), algorithm=ALGORITHM)


def verify_token(token: str, *, secret: SecretStr, clock: Clock) -> Principal:
    """Return the principal a token names, or raise ``AuthenticationFailed``."""
    try:
        claims = jwt.decode(
            token,
            secret.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "require": _REQUIRED_CLAIMS,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed("the token is invalid") from exc
    expires = claims["exp"]
    if not isinstance(expires, int) or clock.now().timestamp() >= expires:
        raise AuthenticationFailed("the token has expired")
    return _principal_from(claims)


def _principal_from(claims: dict[str, object]) -> Principal:
    subject, name, roles = claims["sub"], claims.get("name", ""), claims["roles"]
    if not isinstance(subject, str) or not isinstance(name, str) or not isinstance(roles, list):
        raise AuthenticationFailed("the token is invalid")
    try:
        parsed = frozenset(Role(role) for role in roles)
    except ValueError as exc:
        raise AuthenticationFailed("the token is invalid") from exc
    return Principal(subject=subject, roles=parsed, kind="user", name=name)
