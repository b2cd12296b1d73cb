"""The auth services on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from tenure.core.roles import Role

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


def test_creates_then_authenticates_user(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
) -> None:
    created = service.create_user(
        uow=uow_factory(), username="Ann", password=PASSWORD, roles=["fraud_analyst"], clock=clock
    )
    user = service.authenticate(uow=uow_factory(), username="ANN", password=PASSWORD, clock=clock)
    assert user.id == created.id
    assert user.username == "ann"
    assert service.list_users(uow=uow_factory())[0].last_login_at == clock.now()


def test_second_user_with_same_name_conflicts(uow_factory: SqlUnitOfWorkFactory) -> None:
    service.create_user(uow=uow_factory(), username="ann", password=PASSWORD, roles=["admin"])
    with pytest.raises(Conflict):
        service.create_user(uow=uow_factory(), username="ann", password=PASSWORD, roles=["admin"])


def test_short_password_is_refused_naming_the_field(uow_factory: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(ValidationError) as raised:
        service.create_user(uow=uow_factory(), username="ann", password="short", roles=["admin"])
    assert raised.value.field == "password"
    assert service.list_users(uow=uow_factory()) == []


def test_locks_account_after_repeated_failures(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
) -> None:
    service.create_user(uow=uow_factory(), username="ann", password=PASSWORD, roles=["admin"])
    for _ in range(service.MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationFailed):
            service.authenticate(
                uow=uow_factory(), username="ann", password="wrong" * 3, clock=clock
            )
    with pytest.raises(AuthenticationFailed):
        service.authenticate(uow=uow_factory(), username="ann", password=PASSWORD, clock=clock)
    clock.advance(service.LOCKOUT_PERIOD + timedelta(seconds=1))
    assert service.authenticate(uow=uow_factory(), username="ann", password=PASSWORD, clock=clock)


def test_ensure_admin_creates_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    password = service.ensure_admin(uow=uow_factory())
    assert password is not None
    assert service.ensure_admin(uow=uow_factory()) is None
    admin = service.authenticate(uow=uow_factory(), username="admin", password=password)
    assert admin.roles == frozenset({Role.ADMIN})


def test_api_key_authenticates_until_revoked(
    uow_factory: SqlUnitOfWorkFactory, clock: FixedClock
) -> None:
    key, plaintext = service.create_api_key(
        uow=uow_factory(), name="feed", roles=[Role.SYSTEM], clock=clock
    )
    principal = service.authenticate_api_key(uow=uow_factory(), key=plaintext, clock=clock)
    assert (principal.subject, principal.kind) == (key.id, "api_key")
    service.revoke_api_key(uow=uow_factory(), key_id=key.id, clock=clock)
    with pytest.raises(AuthenticationFailed):
        service.authenticate_api_key(uow=uow_factory(), key=plaintext, clock=clock)


def test_revoking_unknown_key_is_not_found(uow_factory: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(NotFound):
        service.revoke_api_key(uow=uow_factory(), key_id="nope")


def test_signing_secret_is_generated_once_and_reused(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = service.signing_secret(configured=None, uow=uow_factory())
    second = service.signing_secret(configured=None, uow=uow_factory())
    assert first.get_secret_value() == second.get_secret_value()
    assert len(first.get_secret_value()) >= 32


def test_configured_signing_secret_wins(uow_factory: SqlUnitOfWorkFactory) -> None:
    configured = SecretStr("from-the-environment")
    assert service.signing_secret(configured=configured, uow=uow_factory()) is configured
