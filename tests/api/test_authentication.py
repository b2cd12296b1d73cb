"""Every data route needs credentials; tokens and keys work until they expire or are revoked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tenure.api import PUBLIC_PATHS
from tenure.core.clock import FixedClock
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ErrorOf = Callable[[object, str], dict[str, object]]
PASSWORD = "correct horse battery"


def _all_paths(app: FastAPI) -> dict[str, set[str]]:
    """Every path the app serves, with its methods, however deeply routers are included."""
    paths: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        assert route.path is not None, f"route without a path: {route.name}"
        paths.setdefault(route.path, set()).update(route.methods or ())
    return paths


def _protected_requests(app: FastAPI) -> list[tuple[str, str]]:
    requests = []
    for route_path, methods in _all_paths(app).items():
        if route_path in PUBLIC_PATHS:
            continue
        path = re.sub(r"\{[^}]+\}", "some-id", route_path)
        requests.extend((method, path) for method in sorted(methods) if method != "HEAD")
    return requests


def test_every_route_but_the_public_ones_requires_credentials(
    app: FastAPI, client: TestClient, error_of: ErrorOf
) -> None:
    requests = _protected_requests(app)
    assert len(requests) >= 7
    for method, path in requests:
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        error_of(response.json(), "authentication_failed")


def test_public_paths_all_exist(app: FastAPI) -> None:
    assert set(_all_paths(app)) >= PUBLIC_PATHS


def test_health_and_ready_need_no_credentials(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_password_form_yields_a_working_token(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    form = {"grant_type": "password", "username": "admin-user", "password": PASSWORD}
    issued = client.post("/v1/auth/token", data=form)
    assert issued.status_code == 200
    assert issued.json()["token_type"] == "bearer"
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
    assert me.status_code == 200
    assert me.json()["name"] == "admin-user"
    assert "users:manage" in me.json()["permissions"]


def test_json_credentials_yield_a_token(client: TestClient, admin_headers: dict[str, str]) -> None:
    issued = client.post("/v1/auth/token", json={"username": "admin-user", "password": PASSWORD})
    assert issued.status_code == 200


def test_wrong_password_is_401_without_saying_which_part(
    client: TestClient, admin_headers: dict[str, str], error_of: ErrorOf
) -> None:
    for username in ("admin-user", "nobody"):
        response = client.post(
            "/v1/auth/token", json={"username": username, "password": "wrong password!"}
        )
        assert response.status_code == 401
        error = error_of(response.json(), "authentication_failed")
        assert error["message"] == "invalid username or password"


def test_token_request_of_another_media_type_is_422(client: TestClient, error_of: ErrorOf) -> None:
    response = client.post("/v1/auth/token", content=b"x", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    error_of(response.json(), "validation_error")


def test_valid_token_reaches_a_protected_route(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    assert client.get("/v1/users", headers=admin_headers).status_code == 200


def test_expired_token_is_401(
    client: TestClient,
    admin_headers: dict[str, str],
    clock: FixedClock,
    settings: Settings,
    error_of: ErrorOf,
) -> None:
    clock.advance(timedelta(minutes=settings.jwt_ttl_minutes))
    response = client.get("/v1/me", headers=admin_headers)
    assert response.status_code == 401
    error_of(response.json(), "authentication_failed")


def test_garbage_token_is_401(client: TestClient, error_of: ErrorOf) -> None:
    response = client.get("/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    error_of(response.json(), "authentication_failed")


def test_api_key_reaches_a_route_its_roles_allow(
    client: TestClient, api_key: tuple[str, str]
) -> None:
    response = client.get("/v1/warehouse/summary", headers={"X-API-Key": api_key[1]})
    assert response.status_code == 200
    me = client.get("/v1/me", headers={"X-API-Key": api_key[1]}).json()
    assert (me["kind"], me["name"]) == ("api_key", "etl")


def test_revoked_api_key_is_401(
    client: TestClient,
    api_key: tuple[str, str],
    admin_headers: dict[str, str],
    error_of: ErrorOf,
) -> None:
    key_id, plaintext = api_key
    assert client.delete(f"/v1/api-keys/{key_id}", headers=admin_headers).status_code == 200
    response = client.get("/v1/me", headers={"X-API-Key": plaintext})
    assert response.status_code == 401
    error_of(response.json(), "authentication_failed")


def test_wrong_api_key_is_401(
    client: TestClient, api_key: tuple[str, str], error_of: ErrorOf
) -> None:
    _, plaintext = api_key
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    response = client.get("/v1/me", headers={"X-API-Key": forged})
    assert response.status_code == 401
    error_of(response.json(), "authentication_failed")


def test_non_admin_on_admin_route_is_403(
    client: TestClient, analyst_headers: dict[str, str], error_of: ErrorOf
) -> None:
    for method, path in [("GET", "/v1/users"), ("POST", "/v1/api-keys")]:
        response = client.request(method, path, headers=analyst_headers, json={})
        assert response.status_code == 403, path
        error = error_of(response.json(), "permission_denied")
        assert "manage" in str(error["message"])


def test_analyst_may_read_the_warehouse(
    client: TestClient, analyst_headers: dict[str, str]
) -> None:
    response = client.get("/v1/warehouse/summary", headers=analyst_headers)
    assert response.status_code == 200
    assert response.json() == {"tables": []}
