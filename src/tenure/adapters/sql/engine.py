"""Engines for the operational store, and the one place driver errors become Tenure errors.

SQLite gets WAL (readers never block the writer), foreign keys and a busy timeout on every new
connection; PostgreSQL always goes through psycopg 3, whatever scheme the URL names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url

from tenure.core.errors import ConfigurationError, Conflict, StoreUnavailable, ValidationError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_store_engine", "normalise_url", "translate_errors"]

SQLITE_BUSY_TIMEOUT_MS = 5_000
# psycopg refuses, before sending, a str holding "\x00" for any text parameter
_NUL_IN_TEXT = "cannot contain NUL (0x00)"


def normalise_url(url: str | URL) -> URL:
    """Parse a store URL, pinning PostgreSQL to the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise ConfigurationError(
            "the database URL cannot be parsed", field="database_url"
        ) from error
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            "the operational store must be SQLite or PostgreSQL", field="database_url"
        )
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_store_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """Build (but do not connect) an engine for the operational store."""
    parsed = normalise_url(url)
    # statement parameters can be personal data (a blocked phone number): never log them
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, echo=echo, hide_parameters=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return sa.create_engine(parsed, echo=echo, pool_pre_ping=True, hide_parameters=True)


@contextmanager
def translate_errors(
    *, conflict: str = "the change clashes with an existing record", field: str | None = None
) -> Iterator[None]:
    """Turn driver errors raised inside the block into ``Conflict``, ``ValidationError`` (text
    PostgreSQL cannot hold: a NUL character, which SQLite stores) or ``StoreUnavailable``.

    Messages name no values: driver messages can quote the row, and rows can hold personal data.
    """
    try:
        yield
    except exc.IntegrityError as error:
        raise Conflict(conflict, field=field) from error
    except exc.DataError as error:
        if _NUL_IN_TEXT in str(error.orig):
            raise ValidationError("text must not contain NUL (0x00) characters") from error
        raise StoreUnavailable("the operational store rejected the operation") from error
    except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as error:
        raise StoreUnavailable("the operational store could not be reached") from error
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise StoreUnavailable("the operational store connection was lost") from error
        raise StoreUnavailable("the operational store rejected the operation") from error
