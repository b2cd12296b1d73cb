"""Request and response bodies of the HTTP API (pydantic lives here, at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tenure.auth.model import ApiKey, Principal, User
from tenure.core.roles import Role

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "ApiKeyRotated",
    "ErrorBody",
    "ErrorResponse",
    "Health",
    "PasswordChange",
    "PrincipalOut",
    "Readiness",
    "TokenRequest",
    "TokenResponse",
    "UserCreate",
    "UserOut",
    "WarehouseSummary",
    "WarehouseTable",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBody(BaseModel):
    """What went wrong; ``field`` names the offending input when there is one."""

    code: str = Field(examples=["authentication_failed"])
    message: str
    field: str | None = None
    request_id: str


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    schema_revision: str


class TokenRequest(_Strict):
    """OAuth2 password grant, sent as a form or as JSON."""

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)
    grant_type: Literal["password"] | None = None
    scope: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class PrincipalOut(BaseModel):
    subject: str
    name: str
    kind: Literal["user", "api_key"]
    roles: list[Role]
    permissions: list[str]

    @classmethod
    def of(cls, principal: Principal, permissions: frozenset[str]) -> PrincipalOut:
        return cls(
            subject=principal.subject,
            name=principal.name,
            kind=principal.kind,
            roles=sorted(principal.roles),
            permissions=sorted(permissions),
        )


class UserCreate(_Strict):
    username: str = Field(min_length=2, max_length=64)
    password: SecretStr = Field(
        max_length=1024,
        description="At least 12 characters, not a common password, not containing the username.",
    )
    roles: list[Role] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=200)


class PasswordChange(_Strict):
    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(
        max_length=1024,
        description="At least 12 characters, not a common password, not containing the username.",
    )


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str | None
    roles: list[Role]
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=sorted(user.roles),
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class ApiKeyCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    roles: list[Role]
    owner_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            roles=sorted(key.roles),
            owner_id=key.owner_id,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key; shown this once and never stored.")


class ApiKeyRotated(ApiKeyCreated):
    replaces: ApiKeyOut = Field(
        description="The old key; it keeps working until its revoked_at, then stops."
    )


class WarehouseTable(BaseModel):
    table: str
    rows: int


class WarehouseSummary(BaseModel):
    tables: list[WarehouseTable]
