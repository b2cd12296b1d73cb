"""An API on a fresh store with a fixed clock, and callers with different credentials.

The store is a SQLite file under the test's data directory. A module marked
``pytest.mark.store_backends`` runs each of its tests that use the store twice, on SQLite and on
PostgreSQL (``[sqlite]`` and ``[postgresql]`` in the test id; the latter marked ``postgres``); each
PostgreSQL test gets a database of its own, created empty and dropped afterwards.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
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
STORE_BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "store_backends: run the module's store-backed API tests on SQLite and on PostgreSQL",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``store_backend`` for tests marked ``store_backends`` that use the store."""
    if (
        metafunc.definition.get_closest_marker("store_backends") is not None
        and "store_backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("store_backend", STORE_BACKENDS, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"``, or the backend a ``store_backends`` module's parametrisation chose."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres_store_template(postgres_url: str) -> Iterator[str]:
    """A migrated, empty PostgreSQL database that each test's database is copied from (copying
    is faster than migrating); dropped at the end of the session. ``postgres_url`` skips on a
    laptop, or fails under CI=true, when PostgreSQL is down."""
    name = f"tenure_api_template_{uuid.uuid4().hex[:12]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        upgrade_to_head(_database_url(postgres_url, name))
        yield name
    finally:
        _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(store_backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None on SQLite (the store is a file under ``data_dir``); else a PostgreSQL database of
    this test's own, migrated and empty, dropped afterwards."""
    if store_backend == "sqlite":
        yield None
        return
    assert store_backend == "postgresql", store_backend
    postgres_url = str(request.getfixturevalue("postgres_url"))
    template = str(request.getfixturevalue("postgres_store_template"))
    name = f"tenure_api_{uuid.uuid4().hex[:12]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database_url(postgres_url, name)
    finally:
        _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(postgres_url: str, statement: str) -> None:
    """Run ``statement`` (CREATE or DROP DATABASE) from the session's database."""
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def _database_url(postgres_url: str, name: str) -> str:
    return sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(data_dir: Path, database_url: str | None) -> Settings:
    settings = Settings(
        data_dir=data_dir, database_url=database_url, jwt_secret=SecretStr("test-secret-" * 4)
    )
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


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """DEBUG on the root and on every logger created so far, each reaching ``caplog``."""
    loggers = [logging.getLogger()] + [
        found
        for found in logging.root.manager.loggerDict.values()
        if isinstance(found, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level, propagate in saved:
            logger.setLevel(level)
            logger.propagate = propagate
