"""Auth services: plain keyword-only functions, one transaction each.

Every function takes an unopened unit of work and opens it itself (``with uow:``), committing its
own change; pass ``uow=factory()``. A nested call fails loudly rather than sharing a transaction
by accident.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import SecretStr

from tenure.auth import api_keys, passwords, tokens
from tenure.auth.model import ApiKey, Principal, User
from tenure.auth.ports import UnitOfWork
from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    ValidationError,
)
from tenure.core.roles import Role

__all__ = [
    "JWT_SECRET_NAME",
    "KEY_USE_RESOLUTION",
    "LOCKOUT_PERIOD",
    "MAX_FAILED_LOGINS",
    "authenticate",
    "authenticate_api_key",
    "authenticate_token",
    "change_password",
    "create_api_key",
    "create_user",
    "ensure_admin",
    "list_api_keys",
    "list_users",
    "principal_for",
    "revoke_api_key",
    "rotate_api_key",
    "signing_secret",
    "store_secret",
]

MAX_FAILED_LOGINS = 5
LOCKOUT_PERIOD = timedelta(minutes=15)
JWT_SECRET_NAME = "jwt_signing_key"
KEY_USE_RESOLUTION = timedelta(minutes=1)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_BAD_LOGIN = "invalid username or password"
_SYSTEM_CLOCK = SystemClock()


def _new_id() -> str:
    return uuid.uuid4().hex


def _normalise_username(username: str) -> str:
    normalised = username.strip().lower()
    if not _USERNAME.fullmatch(normalised):
        raise ValidationError(
            "username must be 2-64 characters: letters, digits and . _ @ -", field="username"
        )
    return normalised


def _checked_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    try:
        parsed = frozenset(Role(role) for role in roles)
    except ValueError as exc:
        raise ValidationError("unknown role", field="roles") from exc
    if not parsed:
        raise ValidationError("at least one role is required", field="roles")
    return parsed


def _new_user(
    *,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    display_name: str | None,
    at: datetime,
) -> tuple[User, str]:
    name = _normalise_username(username)
    passwords.check_password_policy(password, username=name)
    if display_name is not None and len(display_name) > 200:
        raise ValidationError("display name must be at most 200 characters", field="display_name")
    user = User(
        id=_new_id(),
        username=name,
        display_name=display_name,
        roles=_checked_roles(roles),
        active=True,
        created_at=at,
    )
    return user, passwords.hash_password(password)


def create_user(
    *,
    uow: UnitOfWork,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    display_name: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> User:
    """Create an active user with an Argon2id password hash."""
    user, password_hash = _new_user(
        username=username, password=password, roles=roles, display_name=display_name, at=clock.now()
    )
    with uow:
        uow.users.add(user, password_hash=password_hash)
        uow.commit()
    return user


def authenticate(
    *,
    uow: UnitOfWork,
    username: str,
    password: str,
    clock: Clock = _SYSTEM_CLOCK,
    max_failed_logins: int = MAX_FAILED_LOGINS,
    lockout_period: timedelta = LOCKOUT_PERIOD,
) -> User:
    """Return the user whose password matches, or raise ``AuthenticationFailed``.

    After ``max_failed_logins`` failures in a row the account is locked for ``lockout_period``
    (the count is kept in the store, so every worker sees it); every failure, locked or not,
    gives the same message so that a caller cannot tell which part was wrong.
    """
    now = clock.now()
    with uow:
        user = uow.users.get_by_username(username.strip().lower())
        stored = uow.users.password_hash(user.id) if user is not None else None
        locked = user is not None and user.locked_until is not None and user.locked_until > now
        if user is None or stored is None or not user.active or locked:
            passwords.verify_no_user(password)
            raise AuthenticationFailed(_BAD_LOGIN)
        check = passwords.verify_password(password, stored)
        if not check.ok:
            failures = user.failed_login_count + 1
            locked_until = now + lockout_period if failures >= max_failed_logins else None
            uow.users.record_failed_login(user.id, locked_until=locked_until)
            uow.commit()
            raise AuthenticationFailed(_BAD_LOGIN)
        if check.new_hash is not None:
            uow.users.set_password_hash(user.id, check.new_hash)
        uow.users.record_login(user.id, at=now)
        uow.commit()
    return user


def change_password(
    *,
    uow: UnitOfWork,
    user_id: str,
    current_password: str,
    new_password: str,
    clock: Clock = _SYSTEM_CLOCK,
    max_failed_logins: int = MAX_FAILED_LOGINS,
    lockout_period: timedelta = LOCKOUT_PERIOD,
) -> User:
    """Replace a signed-in user's password, given the current one; the policy applies.

    A wrong current password is ``PermissionDenied`` and counts towards the lock-out as a failed
    sign-in does, so that a stolen session cannot be used to guess the password.
    """
    now = clock.now()
    with uow:
        user = uow.users.get(user_id)
        stored = uow.users.password_hash(user_id) if user is not None else None
        if user is None or stored is None or not user.active:
            raise AuthenticationFailed("the user is no longer active")
        if user.locked_until is not None and user.locked_until > now:
            raise PermissionDenied(
                "the account is locked; try again later", field="current_password"
            )
        if not passwords.verify_password(current_password, stored).ok:
            failures = user.failed_login_count + 1
            locked_until = now + lockout_period if failures >= max_failed_logins else None
            uow.users.record_failed_login(user_id, locked_until=locked_until)
            uow.commit()
            raise PermissionDenied("the current password is wrong", field="current_password")
        passwords.check_password_policy(new_password, field="new_password", username=user.username)
        if passwords.verify_password(new_password, stored).ok:
            raise ValidationError(
                "the new password must differ from the current one", field="new_password"
            )
        uow.users.set_password_hash(user_id, passwords.hash_password(new_password))
        uow.commit()
    return user


def principal_for(user: User) -> Principal:
    """The principal a signed-in user acts as."""
    return Principal(subject=user.id, roles=user.roles, kind="user", name=user.username)


def authenticate_token(
    *, uow: UnitOfWork, token: str, secret: SecretStr, clock: Clock = _SYSTEM_CLOCK
) -> Principal:
    """Check a bearer token and that its user is still active; roles come fresh from the store."""
    claimed = tokens.verify_token(token, secret=secret, clock=clock)
    with uow:
        user = uow.users.get(claimed.subject)
    if user is None or not user.active:
        raise AuthenticationFailed("the token's user is no longer active")
    return principal_for(user)


def authenticate_api_key(*, uow: UnitOfWork, key: str, clock: Clock = _SYSTEM_CLOCK) -> Principal:
    """Check a presented API key (constant-time) and record its use."""
    prefix, secret = api_keys.parse_key(key)
    with uow:
        found = uow.api_keys.find_by_prefix(prefix)
        if found is None:
            api_keys.secret_matches(secret, "0" * 64)
            raise AuthenticationFailed("the API key is not valid")
        record, secret_hash = found
        now = clock.now()
        if not api_keys.secret_matches(secret, secret_hash) or not record.active_at(now):
            raise AuthenticationFailed("the API key is not valid")
        # Recording every call would make each API request a write; once a minute is enough.
        if record.last_used_at is None or now - record.last_used_at >= KEY_USE_RESOLUTION:
            uow.api_keys.touch(record.id, at=now)
            uow.commit()
    return Principal(subject=record.id, roles=record.roles, kind="api_key", name=record.name)


def create_api_key(
    *,
    uow: UnitOfWork,
    name: str,
    roles: Iterable[Role | str],
    owner_id: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> tuple[ApiKey, str]:
    """Create a key; returns the record and the plaintext key (never stored, shown once)."""
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 100:
        raise ValidationError("name must be 1-100 characters", field="name")
    generated = api_keys.generate_key()
    key = ApiKey(
        id=_new_id(),
        name=cleaned,
        prefix=generated.prefix,
        roles=_checked_roles(roles),
        created_at=clock.now(),
        owner_id=owner_id,
    )
    with uow:
        uow.api_keys.add(key, secret_hash=generated.secret_hash)
        uow.commit()
    return key, generated.plaintext


def revoke_api_key(*, uow: UnitOfWork, key_id: str, clock: Clock = _SYSTEM_CLOCK) -> ApiKey:
    """Revoke a key now (revoking twice keeps the first time; a rotated key's grace ends now)."""
    now = clock.now()
    with uow:
        key = uow.api_keys.get(key_id)
        if key is None:
            raise NotFound("no API key with this id", field="key_id")
        if not key.active_at(now):
            return key
        uow.api_keys.revoke(key_id, at=now)
        uow.commit()
        revoked = uow.api_keys.get(key_id)
    if revoked is None:
        raise NotFound("no API key with this id", field="key_id")
    return revoked


def rotate_api_key(
    *, uow: UnitOfWork, key_id: str, grace: timedelta, clock: Clock = _SYSTEM_CLOCK
) -> tuple[ApiKey, str, ApiKey]:
    """Issue a successor to a key (same name, roles and owner); the old one expires after ``grace``.

    Returns the new key, its plaintext (shown once) and the old key with its expiry. A key that
    is revoked, or already rotated, cannot be rotated again (``Conflict``).
    """
    now = clock.now()
    generated = api_keys.generate_key()
    with uow:
        old = uow.api_keys.get(key_id)
        if old is None:
            raise NotFound("no API key with this id", field="key_id")
        if old.revoked_at is not None:
            raise Conflict("the key is revoked or already rotated", field="key_id")
        new = ApiKey(
            id=_new_id(),
            name=old.name,
            prefix=generated.prefix,
            roles=old.roles,
            created_at=now,
            owner_id=old.owner_id,
        )
        uow.api_keys.add(new, secret_hash=generated.secret_hash)
        uow.api_keys.revoke(key_id, at=now + grace)
        uow.commit()
        expiring = uow.api_keys.get(key_id)
    if expiring is None:
        raise NotFound("no API key with this id", field="key_id")
    return new, generated.plaintext, expiring


def list_users(*, uow: UnitOfWork) -> list[User]:
    """Every user, ordered by username."""
    with uow:
        return uow.users.list()


def list_api_keys(*, uow: UnitOfWork) -> list[ApiKey]:
    """Every API key (never their secrets), oldest first."""
    with uow:
        return uow.api_keys.list()


def ensure_admin(
    *, uow: UnitOfWork, username: str = "admin", clock: Clock = _SYSTEM_CLOCK
) -> str | None:
    """Create the admin with a generated password if absent and return it once; None if present."""
    password = passwords.generate_password()
    user, password_hash = _new_user(
        username=username,
        password=password,
        roles=[Role.ADMIN],
        display_name="Administrator",
        at=clock.now(),
    )
    with uow:
        if uow.users.get_by_username(user.username) is not None:
            return None
        try:
            uow.users.add(user, password_hash=password_hash)
            uow.commit()
        except Conflict:
            return None
    return password


def signing_secret(
    *,
    configured: SecretStr | None,
    uow: UnitOfWork,
    clock: Clock = _SYSTEM_CLOCK,
) -> SecretStr:
    """The JWT signing key: the configured one, else the store's, generated on first use.

    Two workers starting together may both generate one; the store's unique name lets one win and
    the other reads the winner's, so every worker signs with the same key.
    """
    if configured is not None:
        return configured
    return store_secret(JWT_SECRET_NAME, uow=uow, clock=clock)


def store_secret(name: str, *, uow: UnitOfWork, clock: Clock = _SYSTEM_CLOCK) -> SecretStr:
    """The store's secret ``name``, generated on first use; ``StoreUnavailable`` if it cannot
    be kept. Two workers generating one at once both end with the one the store kept."""
    with uow:
        stored = uow.secrets.get(name)
        if stored is not None:
            return SecretStr(stored)
        try:
            uow.secrets.add(name, secrets.token_urlsafe(48), at=clock.now())
            uow.commit()
        except Conflict:
            pass  # another worker generated it first; read theirs below
    with uow:
        stored = uow.secrets.get(name)
    if stored is None:
        raise StoreUnavailable(f"the {name} secret could not be stored")
    return SecretStr(stored)
