"""An API on a fresh SQLite store with a fixed clock, and callers with different credentials."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.exceptions import StarletteDeprecationWarning

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.api import create_app
from tenure.auth import service, tokens
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

with warnings.catch_warnings():
    # Starlette 1.10 prefers httpx2 for its test client; httpx still works and is what we ship.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
Headers = dict[str, str]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir, jwt_secret=SecretStr("test-secret-" * 4))
    upgrade_to_head(settings.operational_url)
    return settings


@pytest.fixture
def uow_factory(settings: Settings) -> Iterator[SqlUnitOfWorkFactory]:
    engine = create_store_engine(settings.operational_url)
    yield SqlUnitOfWorkFactory(engine)
    engine.dispose()


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client_class() -> type[TestClient]:
    """Starlette's test client class, for tests that build their own app."""
    return TestClient


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _bearer(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock, role: Role
) -> Headers:
    user = service.create_user(
        uow=uow_factory(), username=f"{role.value}-user", password=PASSWORD, roles=[role]
    )
    assert settings.jwt_secret is not None
    token = tokens.issue_token(
        principal=service.principal_for(user),
        secret=settings.jwt_secret,
        clock=clock,
        ttl=timedelta(minutes=settings.jwt_ttl_minutes),
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> Headers:
    return _bearer(uow_factory, settings, clock, Role.ADMIN)


@pytest.fixture
def analyst_headers(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> Headers:
    """A fraud analyst: may read the warehouse, may not manage users."""
    return _bearer(uow_factory, settings, clock, Role.FRAUD_ANALYST)


@pytest.fixture
def api_key(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> tuple[str, str]:
    """``(id, plaintext)`` of a platform engineer's machine key."""
    key, plaintext = service.create_api_key(
        uow=uow_factory(), name="etl", roles=[Role.PLATFORM_ENGINEER], clock=clock
    )
    return key.id, plaintext


def _assert_error_shape(body: object, code: str) -> dict[str, object]:
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "field", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"]
    return dict(error)


@pytest.fixture
def error_of() -> Callable[[object, str], dict[str, object]]:
    """Checks a body has the one error shape with ``code``; returns the inner error."""
    return _assert_error_shape
