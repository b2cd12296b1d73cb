"""The SQL unit of work: one session, one transaction, rolled back unless ``commit()`` is called."""

from __future__ import annotations

from contextlib import suppress
from types import TracebackType
from typing import Self

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.repositories import (
    SqlApiKeyRepository,
    SqlSecretRepository,
    SqlUserRepository,
)

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """Use as ``with SqlUnitOfWork(factory) as uow: ...; uow.commit()``."""

    users: SqlUserRepository
    api_keys: SqlApiKeyRepository
    secrets: SqlSecretRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice at once")
        session = self._session_factory()
        self._session = session
        self.users = SqlUserRepository(session)
        self.api_keys = SqlApiKeyRepository(session)
        self.secrets = SqlSecretRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            # A rollback that fails (connection gone) must not hide the error that got us here;
            # the transaction is lost either way.
            with suppress(SQLAlchemyError):
                session.rollback()
        finally:
            session.close()

    @property
    def session(self) -> Session:
        """The open session (for adapters that add their own repositories)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    def commit(self) -> None:
        """Make every change so far durable."""
        with translate_errors():
            self.session.commit()

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        with translate_errors():
            self.session.rollback()


class SqlUnitOfWorkFactory:
    """Makes a fresh unit of work per call; holds the session factory for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)
