"""The same store suite on SQLite (a temporary file) and on PostgreSQL (the session database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty operational store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'operational.sqlite3'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade_to_head(url)
    return url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(store_url)
    yield engine
    # The PostgreSQL database lives for the whole session: leave it empty for the next test.
    with engine.begin() as connection:
        for table in ("api_keys", "users", "instance_secrets"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)
