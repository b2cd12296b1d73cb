"""SQL repositories for the auth domain; each works inside the session its unit of work owns."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.tables import ApiKeyRow, InstanceSecretRow, UserRow
from tenure.auth.model import ApiKey, User
from tenure.core.roles import Role

__all__ = ["SqlApiKeyRepository", "SqlSecretRepository", "SqlUserRepository"]


def _roles(stored: list[str]) -> frozenset[Role]:
    return frozenset(Role(role) for role in stored)


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=_roles(row.roles),
        active=row.active,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        failed_login_count=row.failed_login_count,
        locked_until=row.locked_until,
    )


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        roles=_roles(row.roles),
        created_at=row.created_at,
        owner_id=row.owner_id,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class SqlUserRepository:
    """Users in the ``users`` table."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, user: User, *, password_hash: str) -> None:
        row = UserRow(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            password_hash=password_hash,
            roles=sorted(role.value for role in user.roles),
            active=user.active,
            failed_login_count=user.failed_login_count,
            locked_until=user.locked_until,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )
        with translate_errors(
            conflict="a user with this username already exists", field="username"
        ):
            self._session.add(row)
            self._session.flush()

    def _row(self, user_id: str) -> UserRow | None:
        with translate_errors():
            return self._session.get(UserRow, user_id)

    def get(self, user_id: str) -> User | None:
        row = self._row(user_id)
        return None if row is None else _user(row)

    def get_by_username(self, username: str) -> User | None:
        with translate_errors():
            row = self._session.scalars(
                sa.select(UserRow).where(UserRow.username == username)
            ).one_or_none()
        return None if row is None else _user(row)

    def password_hash(self, user_id: str) -> str | None:
        row = self._row(user_id)
        return None if row is None else row.password_hash

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._update(user_id, password_hash=password_hash)

    def record_login(self, user_id: str, *, at: datetime) -> None:
        self._update(user_id, last_login_at=at, failed_login_count=0, locked_until=None)

    def record_failed_login(self, user_id: str, *, locked_until: datetime | None) -> None:
        values: dict[str, object] = {"failed_login_count": UserRow.failed_login_count + 1}
        if locked_until is not None:
            values = {"failed_login_count": 0, "locked_until": locked_until}
        self._update(user_id, **values)

    def _update(self, user_id: str, **values: object) -> None:
        with translate_errors():
            self._session.execute(sa.update(UserRow).where(UserRow.id == user_id).values(**values))

    def list(self) -> list[User]:
        with translate_errors():
            rows = self._session.scalars(sa.select(UserRow).order_by(UserRow.username)).all()
        return [_user(row) for row in rows]


class SqlApiKeyRepository:
    """Machine keys in the ``api_keys`` table."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: ApiKey, *, secret_hash: str) -> None:
        row = ApiKeyRow(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            secret_hash=secret_hash,
            roles=sorted(role.value for role in key.roles),
            owner_id=key.owner_id,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )
        with translate_errors(conflict="an API key with this prefix already exists"):
            self._session.add(row)
            self._session.flush()

    def get(self, key_id: str) -> ApiKey | None:
        with translate_errors():
            row = self._session.get(ApiKeyRow, key_id)
        return None if row is None else _api_key(row)

    def find_by_prefix(self, prefix: str) -> tuple[ApiKey, str] | None:
        with translate_errors():
            row = self._session.scalars(
                sa.select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)
            ).one_or_none()
        return None if row is None else (_api_key(row), row.secret_hash)

    def revoke(self, key_id: str, *, at: datetime) -> None:
        self._update(key_id, revoked_at=at)

    def touch(self, key_id: str, *, at: datetime) -> None:
        self._update(key_id, last_used_at=at)

    def _update(self, key_id: str, **values: object) -> None:
        with translate_errors():
            self._session.execute(
                sa.update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id)
                .values(**values)
                .execution_options(synchronize_session="fetch")
            )

    def list(self) -> list[ApiKey]:
        with translate_errors():
            rows = self._session.scalars(
                sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
            ).all()
        return [_api_key(row) for row in rows]


class SqlSecretRepository:
    """Installation secrets in the ``instance_secrets`` table."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, name: str) -> str | None:
        with translate_errors():
            row = self._session.get(InstanceSecretRow, name)
        return None if row is None else row.value

    def add(self, name: str, value: str, *, at: datetime) -> None:
        with translate_errors(conflict="this secret already exists", field="name"):
            self._session.add(InstanceSecretRow(name=name, value=value, created_at=at))
            self._session.flush()
