"""FastAPI dependencies: the app state, a unit of work, the principal and permission checks.

Routes declare what they need with the ``Annotated`` aliases at the bottom, e.g.
``principal: UsersManager``; every data route must take one of them. The permissions a route
declares can be read back with ``declared_permissions``, so that the RBAC matrix test walks every
route and checks every role against ``tenure.auth.permissions.ROLE_PERMISSIONS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from tenure.api.security import mark_authenticated, mark_refused
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission, has_permission
from tenure.auth.ports import UnitOfWork
from tenure.auth.service import authenticate_api_key, authenticate_token
from tenure.core.errors import AuthenticationFailed, PermissionDenied
from tenure.core.roles import Role

__all__ = [
    "TOKEN_URL",
    "ApiKeysManager",
    "CurrentPrincipal",
    "State",
    "UnitOfWorkDep",
    "UsersManager",
    "WarehouseReader",
    "declared_permissions",
    "get_principal",
    "get_state",
    "get_uow",
    "require_any_permission",
    "require_permission",
    "require_roles",
]

TOKEN_URL = "/v1/auth/token"

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL, auto_error=False, description="A token from POST /v1/auth/token."
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A machine key (tnr_<prefix>_<secret>)."
)


# Dependencies that never block are ``async def``: FastAPI runs a plain ``def`` dependency in the
# thread pool, a hop that costs more than the dependency on every request.


async def get_state(request: Request) -> ApiState:
    """The state ``create_app`` attached to the application."""
    return cast(ApiState, request.app.state.tenure)


State = Annotated[ApiState, Depends(get_state)]


async def get_uow(state: State) -> UnitOfWork:
    """A fresh, unopened unit of work; the service it is handed to opens and commits it."""
    return state.uow()


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_principal(
    request: Request,
    state: State,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """Who is calling: a bearer token for people, ``X-API-Key`` for machines.

    A machine key checked recently is answered from memory (see ``KEY_CACHE_SECONDS``); store
    lookups run in the thread pool so that they never block the event loop. The outcome is
    marked on the request for the rate limiter (``tenure.api.security``).
    """
    if not api_key and not bearer:
        raise AuthenticationFailed("authentication is required")
    try:
        principal = await _authenticate(state, bearer=bearer, api_key=api_key)
    except AuthenticationFailed:
        mark_refused(request.scope)
        raise
    mark_authenticated(request.scope)
    return principal


async def _authenticate(state: ApiState, *, bearer: str | None, api_key: str | None) -> Principal:
    if api_key:
        cached = state.cached_principal(api_key)
        if cached is not None:
            return cached
        principal = await run_in_threadpool(
            authenticate_api_key, uow=state.uow(), key=api_key, clock=state.clock
        )
        state.remember_principal(api_key, principal)
        return principal
    if bearer:
        secret = await run_in_threadpool(state.signing_secret)
        return await run_in_threadpool(
            authenticate_token, uow=state.uow(), token=bearer, secret=secret, clock=state.clock
        )
    raise AuthenticationFailed("authentication is required")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


# The attribute a permission check carries, naming the permissions it admits (any one suffices).
_REQUIRED = "required_permissions"


def require_any_permission(
    *permissions: Permission,
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency letting through principals whose roles hold at least one of ``permissions``."""
    if not permissions:
        raise ValueError("name at least one permission")
    required = frozenset(permissions)
    names = " or ".join(permission.value for permission in permissions)

    async def check(principal: CurrentPrincipal) -> Principal:
        if not any(has_permission(principal.roles, p) for p in required):
            raise PermissionDenied(f"this needs the {names} permission")
        return principal

    vars(check)[_REQUIRED] = required
    return check


def require_permission(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals whose roles hold ``permission``."""
    return require_any_permission(permission)


def declared_permissions(dependant: Dependant) -> list[frozenset[Permission]]:
    """The permission checks in a route's dependency tree, each as the permissions it admits.

    A request passes a route when it passes every check; a check admits any one of its set. An
    empty list means the route declares no permission (public, or any signed-in principal).
    """
    found: list[frozenset[Permission]] = []
    for sub in dependant.dependencies:
        required = getattr(sub.call, _REQUIRED, None)
        own = [required] if isinstance(required, frozenset) else []
        for checks in (*own, *declared_permissions(sub)):
            if checks not in found:
                found.append(checks)
    return found


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting principals with one of ``roles`` (prefer ``require_permission``)."""
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & allowed:
            raise PermissionDenied("this needs one of the roles: " + ", ".join(sorted(allowed)))
        return principal

    return check


UsersManager = Annotated[Principal, Depends(require_permission(Permission.USERS_MANAGE))]
ApiKeysManager = Annotated[Principal, Depends(require_permission(Permission.API_KEYS_MANAGE))]
WarehouseReader = Annotated[Principal, Depends(require_permission(Permission.WAREHOUSE_READ))]
