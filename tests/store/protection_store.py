"""The store suites' backends: in memory, SQLite, and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.protection_tables import PROTECTION_TABLES

__all__ = ["BACKENDS", "open_store"]

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def open_store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tables: Sequence[sa.Table] = PROTECTION_TABLES,
) -> Iterator[Engine | None]:
    """None in memory, else a migrated store whose ``tables`` are emptied afterwards (PostgreSQL
    lives all session)."""
    if request.param == "memory":
        yield None
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'protection.sqlite3'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade_to_head(url)
    engine = create_store_engine(url)
    yield engine
    with engine.begin() as connection:
        for table in tables:
            connection.execute(table.delete())
    engine.dispose()
