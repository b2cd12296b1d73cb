"""Every role against every route: what a route declares and ``ROLE_PERMISSIONS`` decide, exactly.

The routes are found by walking the app, not listed here, so that a new route is in the matrix the
day it is added; one that declares no permission fails unless it is in the allow-lists below, each
entry with the reason it may go without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import iter_route_contexts

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api.dependencies import CurrentPrincipal, declared_permissions, require_permission
from tenure.auth import service, tokens
from tenure.auth.permissions import ROLE_PERMISSIONS, Permission
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.store_backends  # on SQLite and on PostgreSQL

PASSWORD = "correct horse battery"
Headers = dict[str, str]

# Routes that answer without credentials. Nothing here may read or change data.
OPEN_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe: load balancers call it without credentials",
    ("GET", "/ready"): "readiness probe: load balancers call it without credentials",
    ("POST", "/v1/auth/token"): "sign-in: where a person gets credentials in the first place",
    ("GET", "/openapi.json"): "the API's description; holds no data",
    ("GET", "/docs"): "the API's description rendered; holds no data",
    ("GET", "/docs/oauth2-redirect"): "the docs page's sign-in callback; holds no data",
}
# Routes any signed-in principal may call, because they act only on the caller itself.
SELF_SERVICE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/me"): "the caller's own identity, roles and permissions",
    ("POST", "/v1/me/password"): "the caller changes their own password (needs the current one)",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method on one path, and the permission checks its dependencies declare."""

    method: str
    path: str
    checks: tuple[frozenset[Permission], ...]

    @property
    def url(self) -> str:
        """The path with every parameter filled in (``1`` fits every parameter's pattern)."""
        return re.sub(r"\{[^}]+\}", "1", self.path)

    def admits(self, role: Role) -> bool:
        """Whether ``role`` passes every check (each check admits any one of its permissions)."""
        held = ROLE_PERMISSIONS[role]
        return all(check & held for check in self.checks)


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every method of every route the app serves, however deeply its routers are nested."""
    for route in iter_route_contexts(app.routes):
        assert route.path is not None, f"route without a path: {route.name}"
        dependant = getattr(route, "dependant", None)
        checks = tuple(declared_permissions(dependant)) if dependant is not None else ()
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield Endpoint(method, route.path, checks)


def undeclared(app: FastAPI) -> list[tuple[str, str]]:
    """Routes that declare no permission and are in neither allow-list."""
    allowed = OPEN_ROUTES.keys() | SELF_SERVICE_ROUTES.keys()
    return [
        (endpoint.method, endpoint.path)
        for endpoint in endpoints(app)
        if not endpoint.checks and (endpoint.method, endpoint.path) not in allowed
    ]


def _guarded(app: FastAPI) -> list[Endpoint]:
    return [endpoint for endpoint in endpoints(app) if endpoint.checks]


def _user_headers(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock, role: Role
) -> Headers:
    user = service.create_user(
        uow=uow_factory(), username=f"{role.value}-only", password=PASSWORD, roles=[role]
    )
    assert settings.jwt_secret is not None
    token = tokens.issue_token(
        principal=service.principal_for(user),
        secret=settings.jwt_secret,
        clock=clock,
        ttl=timedelta(minutes=settings.jwt_ttl_minutes),
    )
    return {"Authorization": f"Bearer {token}"}


def _key_headers(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock, role: Role) -> Headers:
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name=f"{role.value} key", roles=[role], clock=clock
    )
    return {"X-API-Key": plaintext}


def test_every_route_declares_a_permission_or_is_allow_listed(app: FastAPI) -> None:
    assert undeclared(app) == []


def test_the_check_flags_a_route_without_a_declared_permission() -> None:
    app = FastAPI(redoc_url=None)  # as Tenure's: no ReDoc page (tenure.api.docs)
    router = APIRouter()

    @router.get("/v1/forgotten")
    def forgotten(principal: CurrentPrincipal) -> None: ...

    @router.get("/v1/guarded", dependencies=[Depends(require_permission(Permission.AUDIT_READ))])
    def guarded() -> None: ...

    app.include_router(router)
    assert undeclared(app) == [("GET", "/v1/forgotten")]
    declared = [endpoint.checks for endpoint in _guarded(app)]
    assert declared == [(frozenset({Permission.AUDIT_READ}),)]


def test_allow_lists_name_only_routes_that_exist(app: FastAPI) -> None:
    served = {(endpoint.method, endpoint.path) for endpoint in endpoints(app)}
    assert OPEN_ROUTES.keys() | SELF_SERVICE_ROUTES.keys() <= served


def test_only_open_routes_answer_without_credentials(app: FastAPI, client: TestClient) -> None:
    wrong = []
    for endpoint in endpoints(app):
        response = client.request(endpoint.method, endpoint.url, json={})
        is_open = (endpoint.method, endpoint.path) in OPEN_ROUTES
        if is_open == (response.status_code == 401) or response.status_code >= 500:
            wrong.append((endpoint.method, endpoint.path, response.status_code))
    assert wrong == []


def test_health_routes_answer_200_without_credentials(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_role_reaches_exactly_the_routes_its_permissions_allow(
    role: Role,
    app: FastAPI,
    client: TestClient,
    uow_factory: SqlUnitOfWorkFactory,
    settings: Settings,
    clock: FixedClock,
) -> None:
    callers = {
        "user": _user_headers(uow_factory, settings, clock, role),
        "api_key": _key_headers(uow_factory, clock, role),
    }
    targets = _guarded(app) + [Endpoint(method, path, ()) for method, path in SELF_SERVICE_ROUTES]
    assert len(targets) >= 45
    wrong = []
    for kind, headers in callers.items():
        for endpoint in targets:
            response = client.request(endpoint.method, endpoint.url, headers=headers, json={})
            status = response.status_code
            if endpoint.admits(role):
                ok = status not in (401, 403) and status < 500
            else:
                ok = status == 403 and response.json()["error"]["code"] == "permission_denied"
            if not ok:
                wrong.append((kind, endpoint.method, endpoint.path, status))
    assert wrong == []


def test_admin_is_admitted_everywhere_and_some_role_is_refused_everywhere_guarded(
    app: FastAPI,
) -> None:
    guarded = _guarded(app)
    assert all(endpoint.admits(Role.ADMIN) for endpoint in guarded)
    assert all(not all(endpoint.admits(role) for role in Role) for endpoint in guarded)
