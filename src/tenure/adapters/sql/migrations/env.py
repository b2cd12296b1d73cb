"""Alembic environment, configured in code by ``tenure.adapters.sql.migration`` (no alembic.ini).

The caller hands over an open connection in ``config.attributes["connection"]``; offline mode
(``--sql``) renders a script from the URL alone, for banks whose DBAs apply DDL by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tenure.adapters.sql.engine import normalise_url
from tenure.adapters.sql.tables import Base

target_metadata = Base.metadata


def _configure_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("offline migrations need sqlalchemy.url")
    context.configure(
        url=normalise_url(url),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    if context.is_offline_mode():
        _run_offline()
        return
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through tenure.adapters.sql.upgrade_to_head")
    _configure_online(connection)


_run()
