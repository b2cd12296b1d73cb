"""What the auth services need from a store; the SQL adapter implements these."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from tenure.auth.model import ApiKey, User

__all__ = ["ApiKeyRepository", "SecretRepository", "UnitOfWork", "UserRepository"]


class UserRepository(Protocol):
    """Users and their password hashes."""

    def add(self, user: User, *, password_hash: str) -> None: ...

    def get(self, user_id: str) -> User | None: ...

    def get_by_username(self, username: str) -> User | None: ...

    def password_hash(self, user_id: str) -> str | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    def record_login(self, user_id: str, *, at: datetime) -> None: ...

    def record_failed_login(self, user_id: str, *, locked_until: datetime | None) -> None: ...

    def list(self) -> list[User]: ...


class ApiKeyRepository(Protocol):
    """Machine keys, looked up by their public prefix."""

    def add(self, key: ApiKey, *, secret_hash: str) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def find_by_prefix(self, prefix: str) -> tuple[ApiKey, str] | None: ...

    def revoke(self, key_id: str, *, at: datetime) -> None: ...

    def touch(self, key_id: str, *, at: datetime) -> None: ...

    def list(self) -> list[ApiKey]: ...


class SecretRepository(Protocol):
    """Instance secrets generated once and shared by every worker (e.g. the JWT signing key)."""

    def get(self, name: str) -> str | None: ...

    def add(self, name: str, value: str, *, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: rolled back on exit unless ``commit()`` was called."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def secrets(self) -> SecretRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
