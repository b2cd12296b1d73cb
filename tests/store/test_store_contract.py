"""Behaviour every operational store backend must show (run on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from tenure.adapters.sql import (
    Base,
    SqlUnitOfWorkFactory,
    check_schema,
    create_store_engine,
    head_revision,
    upgrade_to_head,
)
from tenure.auth.model import ApiKey, User
from tenure.core.errors import Conflict, StoreUnavailable
from tenure.core.roles import Role

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def make_user(username: str = "ann", *, user_id: str = "u1") -> User:
    return User(
        id=user_id,
        username=username,
        display_name="Ann",
        roles=frozenset({Role.FRAUD_ANALYST}),
        active=True,
        created_at=AT,
    )


def make_key(prefix: str = "abc123", *, key_id: str = "k1") -> ApiKey:
    return ApiKey(
        id=key_id, name="feed", prefix=prefix, roles=frozenset({Role.SYSTEM}), created_at=AT
    )


def test_migrations_reach_head(engine: Engine) -> None:
    assert check_schema(engine) == head_revision()


def test_upgrade_twice_is_a_no_op(store_url: str, engine: Engine) -> None:
    upgrade_to_head(store_url)
    assert check_schema(engine) == head_revision()


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_unit_of_work_rolls_back_without_commit(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
    with uow_factory() as uow:
        assert uow.users.get("u1") is None


def test_unit_of_work_rolls_back_on_error(uow_factory: SqlUnitOfWorkFactory) -> None:
    def add_then_fail() -> None:
        with uow_factory() as uow:
            uow.users.add(make_user(), password_hash="h")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with uow_factory() as uow:
        assert uow.users.list() == []


def test_unit_of_work_keeps_committed_changes(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.get_by_username("ann") == make_user()
        assert uow.users.password_hash("u1") == "h"


def test_duplicate_username_raises_conflict_naming_the_field(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
        uow.commit()
    with uow_factory() as uow, pytest.raises(Conflict) as raised:
        uow.users.add(make_user(user_id="u2"), password_hash="h")
    assert raised.value.field == "username"
    assert "ann" not in raised.value.message


def test_timestamps_come_back_timezone_aware_utc(uow_factory: SqlUnitOfWorkFactory) -> None:
    shanghai = timezone(timedelta(hours=8))
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
        uow.users.record_login("u1", at=AT.astimezone(shanghai))
        uow.commit()
    with uow_factory() as uow:
        user = uow.users.get("u1")
    assert user is not None
    assert user.last_login_at == AT
    assert user.last_login_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
        with pytest.raises(StatementError, match="timezone-aware"):
            uow.users.record_login("u1", at=datetime(2025, 1, 1))


def test_api_key_is_found_by_prefix_with_its_hash(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.api_keys.add(make_key(), secret_hash="f" * 64)
        uow.commit()
    with uow_factory() as uow:
        found = uow.api_keys.find_by_prefix("abc123")
        missing = uow.api_keys.find_by_prefix("zzz")
    assert found == (make_key(), "f" * 64)
    assert missing is None


def test_revoked_api_key_keeps_its_revocation_time(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.api_keys.add(make_key(), secret_hash="f" * 64)
        uow.api_keys.revoke("k1", at=AT)
        uow.commit()
    with uow_factory() as uow:
        key = uow.api_keys.get("k1")
    assert key is not None
    assert key.revoked_at == AT
    assert not key.active


def test_failed_logins_count_up_then_lock(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.users.add(make_user(), password_hash="h")
        uow.users.record_failed_login("u1", locked_until=None)
        uow.users.record_failed_login("u1", locked_until=None)
        uow.commit()
    with uow_factory() as uow:
        counted = uow.users.get("u1")
        uow.users.record_failed_login("u1", locked_until=AT)
        uow.commit()
    with uow_factory() as uow:
        locked = uow.users.get("u1")
    assert counted is not None
    assert counted.failed_login_count == 2
    assert locked is not None
    assert locked.locked_until == AT


def test_secret_is_stored_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.secrets.add("jwt", "one", at=AT)
        uow.commit()
    with uow_factory() as uow, pytest.raises(Conflict):
        uow.secrets.add("jwt", "two", at=AT)
    with uow_factory() as uow:
        assert uow.secrets.get("jwt") == "one"


def test_unit_of_work_cannot_be_nested(uow_factory: SqlUnitOfWorkFactory) -> None:
    uow = uow_factory()
    with uow, pytest.raises(RuntimeError, match="twice"):
        uow.__enter__()


def test_unreachable_sqlite_store_is_unavailable() -> None:
    engine = create_store_engine("sqlite:////nonexistent-dir/for/tenure/operational.sqlite3")
    try:
        with pytest.raises(StoreUnavailable):
            check_schema(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_unreachable_postgres_store_is_unavailable() -> None:
    engine = create_store_engine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        with pytest.raises(StoreUnavailable):
            check_schema(engine)
    finally:
        engine.dispose()
