"""The auth domain's values: people, machine keys and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tenure.core.roles import Role

__all__ = ["ApiKey", "Principal", "PrincipalKind", "User"]

PrincipalKind = Literal["user", "api_key"]


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in; the password hash never travels with this value."""

    id: str
    username: str
    display_name: str | None
    roles: frozenset[Role]
    active: bool
    created_at: datetime
    last_login_at: datetime | None = None
    failed_login_count: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A machine credential; only ``prefix`` and a hash of the secret are ever stored."""

    id: str
    name: str
    prefix: str
    roles: frozenset[Role]
    created_at: datetime
    owner_id: str | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key has no revocation, not even one scheduled by a rotation."""
        return self.revoked_at is None

    def active_at(self, at: datetime) -> bool:
        """Whether the key may be used at ``at`` (a rotated key works until its grace ends)."""
        return self.revoked_at is None or at < self.revoked_at


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: ``subject`` is the user or key id, ``name`` what people read."""

    subject: str
    roles: frozenset[Role]
    kind: PrincipalKind = "user"
    name: str = ""
