"""The operational store on SQLAlchemy 2 (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from tenure.adapters.sql.engine import create_store_engine, normalise_url, translate_errors
from tenure.adapters.sql.migration import (
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from tenure.adapters.sql.tables import Base
from tenure.adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

__all__ = [
    "Base",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "alembic_config",
    "check_schema",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "normalise_url",
    "translate_errors",
    "upgrade_to_head",
]
