"""One error shape for every failure, and readiness that tells the truth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI

from tenure.api import create_app
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ErrorOf = Callable[[object, str], dict[str, object]]


def test_unknown_route_is_404_in_the_error_shape(client: TestClient, error_of: ErrorOf) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    error_of(response.json(), "not_found")


def test_wrong_method_is_405_in_the_error_shape(client: TestClient, error_of: ErrorOf) -> None:
    response = client.delete("/health")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    error_of(response.json(), "method_not_allowed")


def test_bad_body_is_422_naming_the_field(
    client: TestClient, admin_headers: dict[str, str], error_of: ErrorOf
) -> None:
    body = {"username": "bob", "password": "long enough pass", "roles": ["emperor"]}
    response = client.post("/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422
    error = error_of(response.json(), "validation_error")
    assert error["field"] == "roles.0"
    assert "emperor" not in str(error["message"])


def test_domain_validation_is_422_naming_the_field(
    client: TestClient, admin_headers: dict[str, str], error_of: ErrorOf
) -> None:
    body = {"username": "bob", "password": "too short", "roles": ["fraud_analyst"]}
    response = client.post("/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == "password"


def test_duplicate_user_is_409(
    client: TestClient, admin_headers: dict[str, str], error_of: ErrorOf
) -> None:
    body = {"username": "bob", "password": "long enough pass", "roles": ["fraud_analyst"]}
    assert client.post("/v1/users", headers=admin_headers, json=body).status_code == 201
    response = client.post("/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 409
    assert error_of(response.json(), "conflict")["field"] == "username"


def test_unknown_api_key_id_is_404(
    client: TestClient, admin_headers: dict[str, str], error_of: ErrorOf
) -> None:
    response = client.delete("/v1/api-keys/nope", headers=admin_headers)
    assert response.status_code == 404
    error_of(response.json(), "not_found")


def test_crash_is_500_without_internals(
    app: FastAPI, client_class: type[TestClient], error_of: ErrorOf
) -> None:
    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    with client_class(app) as client:
        response = client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    error = error_of(response.json(), "internal_error")
    assert "hunter2" not in response.text
    assert error["request_id"] == "req-42"
    assert response.headers["x-request-id"] == "req-42"


def test_request_id_is_generated_and_returned(client: TestClient) -> None:
    response = client.get("/v1/me")
    assert response.headers["x-request-id"] == response.json()["error"]["request_id"]


@pytest.fixture
def unreachable_app(data_dir: Path) -> FastAPI:
    settings = Settings(
        data_dir=data_dir, database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    )
    return create_app(settings)


def test_ready_is_503_when_the_store_is_unreachable(
    unreachable_app: FastAPI, client_class: type[TestClient], error_of: ErrorOf
) -> None:
    with client_class(unreachable_app) as client:
        response = client.get("/ready")
        health = client.get("/health")
    assert response.status_code == 503
    error_of(response.json(), "store_unavailable")
    assert health.status_code == 200


def test_ready_is_503_before_migrations(
    data_dir: Path, client_class: type[TestClient], error_of: ErrorOf
) -> None:
    with client_class(create_app(Settings(data_dir=data_dir))) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert "migration" in str(error_of(response.json(), "store_unavailable")["message"])


def test_openapi_lists_every_route_and_both_credentials(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/health",
        "/ready",
        "/v1/auth/token",
        "/v1/me",
        "/v1/users",
        "/v1/api-keys",
        "/v1/api-keys/{key_id}",
        "/v1/warehouse/summary",
    }
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    users_422 = spec["paths"]["/v1/users"]["post"]["responses"]["422"]
    assert users_422["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_docs_are_public(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_openapi_references_all_resolve(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = set(spec["components"]["schemas"])
    for ref in _refs(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
