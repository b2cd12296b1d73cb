"""Customer limits in the operational store, inside a unit of work like the auth repositories."""

from __future__ import annotations

from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import LIMITS, upsert
from tenure.adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tenure.protection.limits.model import Limit

__all__ = ["SqlLimitRepository", "SqlLimitUnitOfWork", "SqlLimitUnitOfWorkFactory"]


def _limit(row: sa.Row[Any]) -> Limit:
    return Limit(
        customer_id=row.customer_id,
        product=row.product,
        amount_minor=row.amount_minor,
        currency=row.currency,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlLimitRepository:
    """Limits in ``protection_limits``, keyed by ``(customer_id, product)``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, customer_id: str, product: str) -> Limit | None:
        query = sa.select(LIMITS).where(
            LIMITS.c.customer_id == customer_id, LIMITS.c.product == product
        )
        with translate_errors():
            row = self._session.execute(query).first()
        return None if row is None else _limit(row)

    def put(self, limit: Limit) -> None:
        values = {
            "customer_id": limit.customer_id,
            "product": limit.product,
            "amount_minor": limit.amount_minor,
            "currency": limit.currency,
            "updated_at": limit.updated_at,
            "updated_by": limit.updated_by,
        }
        with translate_errors():
            self._session.execute(upsert(self._session, LIMITS, values))

    def list_for_customer(self, customer_id: str) -> list[Limit]:
        query = (
            sa.select(LIMITS).where(LIMITS.c.customer_id == customer_id).order_by(LIMITS.c.product)
        )
        with translate_errors():
            return [_limit(row) for row in self._session.execute(query)]

    def list_all(self) -> list[Limit]:
        query = sa.select(LIMITS).order_by(LIMITS.c.customer_id, LIMITS.c.product)
        with translate_errors():
            return [_limit(row) for row in self._session.execute(query)]


class SqlLimitUnitOfWork(SqlUnitOfWork):
    """One limits transaction; rolled back on exit unless ``commit()`` was called."""

    limits: SqlLimitRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.limits = SqlLimitRepository(self.session)
        return self


class SqlLimitUnitOfWorkFactory(SqlUnitOfWorkFactory):
    """Makes a fresh limits unit of work per call (the services also accept one reused)."""

    def __call__(self) -> SqlLimitUnitOfWork:
        return SqlLimitUnitOfWork(self._sessions)
