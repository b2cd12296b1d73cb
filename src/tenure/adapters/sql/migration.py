"""Run and inspect the operational store's migrations, with Alembic configured in code.

``script_location`` points inside the installed package, so migrations run from a wheel with no
``alembic.ini`` anywhere. On PostgreSQL an advisory lock lets several hosts start at once safely.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine

from tenure.adapters.sql.engine import create_store_engine, normalise_url, translate_errors
from tenure.core.errors import StoreUnavailable

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every Tenure process.
_MIGRATION_LOCK_ID = 0x7E4E_0001


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (and at ``url`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of Tenure."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are packaged")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the connected database is at (None when never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def upgrade_to_head(url: str | URL) -> None:
    """Bring the operational store at ``url`` to the newest schema (a no-op when already there)."""
    engine = create_store_engine(url)
    try:
        with translate_errors(), engine.begin() as connection:
            _upgrade(connection)
    finally:
        engine.dispose()


def check_schema(engine: Engine) -> str:
    """Return the current revision, or raise ``StoreUnavailable`` if unreachable or not at head."""
    with translate_errors(), engine.connect() as connection:
        current = current_revision(connection)
    head = head_revision()
    if current != head:
        raise StoreUnavailable("the operational store schema is not at the latest migration")
    return current
