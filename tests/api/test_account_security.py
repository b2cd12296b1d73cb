"""Sign-in lock-out, the password policy and self-service change, token expiry, key rotation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api import create_app
from tenure.auth import service
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ErrorOf = Callable[[object, str], dict[str, object]]
Headers = dict[str, str]
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new passphrase"
TOKEN = "/v1/auth/token"


@pytest.fixture
def strict_client(
    settings: Settings, clock: FixedClock, client_class: type[TestClient]
) -> Iterator[TestClient]:
    """Locks after 2 failures for 5 minutes; rotated keys keep working for 10 minutes."""
    changes = {"max_failed_logins": 2, "lockout_minutes": 5, "api_key_rotation_grace_minutes": 10}
    with client_class(create_app(settings.model_copy(update=changes), clock=clock)) as client:
        yield client


@pytest.fixture
def ann(uow_factory: SqlUnitOfWorkFactory) -> str:
    service.create_user(uow=uow_factory(), username="ann", password=PASSWORD, roles=[Role.ADMIN])
    return "ann"


def _sign_in(client: TestClient, username: str, password: str) -> int:
    return client.post(TOKEN, json={"username": username, "password": password}).status_code


def _bearer(client: TestClient, username: str, password: str) -> Headers:
    issued = client.post(TOKEN, json={"username": username, "password": password})
    assert issued.status_code == 200
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


# Lock-out -------------------------------------------------------------------------------------


def test_account_locks_after_the_configured_failures_and_unlocks_after_the_period(
    strict_client: TestClient, ann: str, clock: FixedClock
) -> None:
    assert [_sign_in(strict_client, ann, "wrong password!") for _ in "ab"] == [401, 401]
    assert _sign_in(strict_client, ann, PASSWORD) == 401  # locked, and it says nothing more
    clock.advance(timedelta(minutes=5, seconds=1))
    assert _sign_in(strict_client, ann, PASSWORD) == 200


def test_a_success_resets_the_failure_count(strict_client: TestClient, ann: str) -> None:
    assert _sign_in(strict_client, ann, "wrong password!") == 401
    assert _sign_in(strict_client, ann, PASSWORD) == 200
    assert _sign_in(strict_client, ann, "wrong password!") == 401
    assert _sign_in(strict_client, ann, PASSWORD) == 200


# Password policy and change -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [
        ("bob", "short", "at least 12"),
        ("bob", "Password1234", "too common"),
        ("bob", "qwerty 123456", "too common"),
        ("carol", "carol-is-the-best-2025", "username"),
    ],
)
def test_user_creation_refuses_weak_passwords_with_422_naming_the_field(
    client: TestClient,
    admin_headers: Headers,
    error_of: ErrorOf,
    username: str,
    password: str,
    rule: str,
) -> None:
    body = {"username": username, "password": password, "roles": ["fraud_analyst"]}
    response = client.post("/v1/users", json=body, headers=admin_headers)
    assert response.status_code == 422
    error = error_of(response.json(), "validation_error")
    assert error["field"] == "password"
    assert rule in str(error["message"])
    assert password not in response.text


def test_user_changes_their_own_password(strict_client: TestClient, ann: str) -> None:
    headers = _bearer(strict_client, ann, PASSWORD)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert strict_client.post("/v1/me/password", json=body, headers=headers).status_code == 204
    assert _sign_in(strict_client, ann, PASSWORD) == 401
    assert _sign_in(strict_client, ann, NEW_PASSWORD) == 200


@pytest.mark.parametrize("new_password", ["password1234", PASSWORD], ids=["common", "unchanged"])
def test_password_change_applies_the_policy(
    strict_client: TestClient, ann: str, error_of: ErrorOf, new_password: str
) -> None:
    headers = _bearer(strict_client, ann, PASSWORD)
    body = {"current_password": PASSWORD, "new_password": new_password}
    response = strict_client.post("/v1/me/password", json=body, headers=headers)
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == "new_password"
    assert new_password not in response.text


def test_wrong_current_password_is_403_and_counts_towards_the_lock_out(
    strict_client: TestClient, ann: str, error_of: ErrorOf
) -> None:
    headers = _bearer(strict_client, ann, PASSWORD)
    body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    for _ in "ab":
        response = strict_client.post("/v1/me/password", json=body, headers=headers)
        assert response.status_code == 403
        assert error_of(response.json(), "permission_denied")["field"] == "current_password"
    assert _sign_in(strict_client, ann, PASSWORD) == 401  # locked now


def test_machine_keys_have_no_password_to_change(
    client: TestClient, api_key: tuple[str, str]
) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = client.post("/v1/me/password", json=body, headers={"X-API-Key": api_key[1]})
    assert response.status_code == 403


# Sessions -------------------------------------------------------------------------------------


def test_signed_in_token_works_until_its_ttl_then_is_401(
    client: TestClient, ann: str, clock: FixedClock, settings: Settings
) -> None:
    issued = client.post(TOKEN, json={"username": ann, "password": PASSWORD}).json()
    assert issued["expires_in"] == settings.jwt_ttl_minutes * 60
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    clock.advance(timedelta(minutes=settings.jwt_ttl_minutes) - timedelta(seconds=1))
    assert client.get("/v1/me", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client.get("/v1/me", headers=headers).status_code == 401


# API key rotation -----------------------------------------------------------------------------


def _rotate(client: TestClient, key_id: str, headers: Headers) -> dict[str, object]:
    response = client.post(f"/v1/api-keys/{key_id}/rotate", headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_rotation_issues_a_successor_and_keeps_the_old_key_through_the_grace_period(
    strict_client: TestClient, admin_headers: Headers, api_key: tuple[str, str]
) -> None:
    key_id, old_key = api_key
    rotated = _rotate(strict_client, key_id, admin_headers)
    assert rotated["name"] == "etl"
    assert rotated["roles"] == ["platform_engineer"]
    assert rotated["key"] != old_key
    replaced = rotated["replaces"]
    assert isinstance(replaced, dict)
    assert replaced["id"] == key_id
    assert replaced["revoked_at"] is not None
    for key in (old_key, str(rotated["key"])):
        assert strict_client.get("/v1/me", headers={"X-API-Key": key}).status_code == 200


def test_rotated_key_stops_after_the_grace_period(
    strict_client: TestClient, admin_headers: Headers, api_key: tuple[str, str], clock: FixedClock
) -> None:
    key_id, old_key = api_key
    new_key = str(_rotate(strict_client, key_id, admin_headers)["key"])
    clock.advance(timedelta(minutes=10))
    assert strict_client.get("/v1/me", headers={"X-API-Key": old_key}).status_code == 401
    assert strict_client.get("/v1/me", headers={"X-API-Key": new_key}).status_code == 200


def test_a_key_is_rotated_once_and_revoking_it_ends_the_grace_at_once(
    strict_client: TestClient, admin_headers: Headers, api_key: tuple[str, str], error_of: ErrorOf
) -> None:
    key_id, old_key = api_key
    _rotate(strict_client, key_id, admin_headers)
    again = strict_client.post(f"/v1/api-keys/{key_id}/rotate", headers=admin_headers)
    assert again.status_code == 409
    error_of(again.json(), "conflict")
    assert strict_client.delete(f"/v1/api-keys/{key_id}", headers=admin_headers).status_code == 200
    assert strict_client.get("/v1/me", headers={"X-API-Key": old_key}).status_code == 401


def test_rotating_an_unknown_key_is_404(client: TestClient, admin_headers: Headers) -> None:
    assert client.post("/v1/api-keys/nope/rotate", headers=admin_headers).status_code == 404
