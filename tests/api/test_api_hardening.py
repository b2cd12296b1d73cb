"""Security headers, closed CORS, rate limits, sign-in lock-out, password policy, token expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tenure.api import create_app
from tenure.api.security import RateLimitMiddleware, RateLimits, TokenBuckets
from tenure.core.clock import FixedClock
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ErrorOf = Callable[[object, str], dict[str, object]]
Headers = dict[str, str]
PASSWORD = "correct horse battery"
ORIGIN = "https://console.bank.example"


@pytest.fixture
def client_for(
    settings: Settings, clock: FixedClock, client_class: type[TestClient]
) -> Callable[..., Any]:
    """A test client of an app whose settings differ from the fixture's by ``changes``."""

    @contextmanager
    def make(**changes: object) -> Iterator[TestClient]:
        with client_class(create_app(settings.model_copy(update=changes), clock=clock)) as client:
            yield client

    return make


def _sign_in(client: TestClient, username: str, password: str) -> int:
    return client.post(
        "/v1/auth/token", json={"username": username, "password": password}
    ).status_code


# Headers and CORS -----------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/v1/me"), client.get("/v1/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers


def test_v1_answers_are_never_stored_but_probes_may_be(
    client: TestClient, admin_headers: Headers
) -> None:
    assert client.get("/v1/me", headers=admin_headers).headers["cache-control"] == "no-store"
    assert client.get("/v1/me").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/health").headers


def test_docs_page_gets_a_policy_that_lets_its_viewer_load_from_this_server_only(
    client: TestClient,
) -> None:
    policy = client.get("/docs").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "https:" not in policy
    assert "unsafe-inline" not in client.get("/health").headers["content-security-policy"]


def test_hsts_is_sent_only_when_the_deployment_is_behind_tls(client_for: Any) -> None:
    with client_for(behind_tls=True) as client:
        hsts = client.get("/health").headers["strict-transport-security"]
    assert hsts.startswith("max-age=31536000")


def test_cors_is_closed_by_default(client: TestClient, admin_headers: Headers) -> None:
    simple = client.get("/v1/me", headers={**admin_headers, "Origin": ORIGIN})
    preflight = client.options(
        "/v1/me",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    for response in (simple, preflight):
        assert not any(name.startswith("access-control-") for name in response.headers)


def test_cors_allow_list_opens_only_the_named_origins(
    client_for: Any, admin_headers: Headers
) -> None:
    with client_for(cors_origins=[ORIGIN]) as client:
        allowed = client.get("/v1/me", headers={**admin_headers, "Origin": ORIGIN})
        other = client.get("/v1/me", headers={**admin_headers, "Origin": "https://evil.example"})
        preflight = client.options(
            "/v1/me",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "access-control-allow-credentials" not in preflight.headers


def test_cors_origins_must_be_origins_not_wildcards() -> None:
    with pytest.raises(ValueError, match="cors_origins"):
        Settings(cors_origins=["*"])


# Rate limits ----------------------------------------------------------------------------------


def test_a_user_over_their_rate_gets_429_with_retry_after(
    client_for: Any, admin_headers: Headers, error_of: ErrorOf
) -> None:
    with client_for(rate_limit_user_per_second=1.0, rate_limit_burst_seconds=2.0) as client:
        statuses = [client.get("/v1/me", headers=admin_headers) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-request-id"]
    assert refused.headers["x-content-type-options"] == "nosniff"
    error_of(refused.json(), "rate_limited")


def test_an_address_over_its_rate_gets_429(client_for: Any) -> None:
    with client_for(rate_limit_ip_per_second=1.0, rate_limit_burst_seconds=3.0) as client:
        statuses = [client.get("/health").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_machine_keys_are_not_limited_by_default(
    client: TestClient, api_key: tuple[str, str]
) -> None:
    headers = {"X-API-Key": api_key[1]}
    statuses = {client.get("/v1/me", headers=headers).status_code for _ in range(300)}
    assert statuses == {200}


def test_machine_key_limit_applies_when_set(client_for: Any, api_key: tuple[str, str]) -> None:
    with client_for(rate_limit_machine_per_second=1.0, rate_limit_burst_seconds=1.0) as client:
        statuses = [
            client.get("/v1/me", headers={"X-API-Key": api_key[1]}).status_code for _ in "ab"
        ]
    assert statuses == [200, 429]


def test_an_address_that_keeps_failing_to_sign_in_is_slowed_but_proven_callers_are_not(
    client_for: Any, admin_headers: Headers
) -> None:
    with client_for(rate_limit_auth_failures_per_minute=3.0) as client:
        assert client.get("/v1/me", headers=admin_headers).status_code == 200  # now proven
        failures = [_sign_in(client, "nobody", "wrong password!") for _ in range(3)]
        assert failures == [401, 401, 401]
        assert _sign_in(client, "admin-user", PASSWORD) == 429
        bad_key = client.get("/v1/me", headers={"X-API-Key": "tnr_abc_def"})
        assert bad_key.status_code == 429
        assert client.get("/v1/me", headers=admin_headers).status_code == 200


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(rate=2.0, capacity=2.0)
    assert [buckets.take("k", 0.0), buckets.take("k", 0.0)] == [0.0, 0.0]
    assert buckets.take("k", 0.0) == pytest.approx(0.5)
    assert buckets.wait("k", 0.25) == pytest.approx(0.25)
    assert buckets.wait("k", 0.5) == 0.0
    assert buckets.take("k", 0.5) == 0.0
    assert buckets.take("other", 0.5) == 0.0


def test_token_buckets_stay_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, capacity=1.0, max_keys=10)
    for key in range(100):
        buckets.take(key, 0.0)
    assert buckets.wait(99, 0.0) > 0  # the newest survives; older ones were dropped
    assert buckets.take(0, 0.0) == 0.0


def test_limiter_lets_requests_through_again_after_the_wait() -> None:
    now = [0.0]
    answered: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    limits = RateLimits(ip_per_second=1.0, burst_seconds=1.0)
    limiter = RateLimitMiddleware(app, limits=limits, login_path="/t", monotonic=lambda: now[0])
    scope = {"type": "http", "path": "/x", "headers": [], "client": ("10.0.0.1", 1)}

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    for at in (0.0, 0.5, 1.0):
        now[0] = at
        asyncio.run(limiter(dict(scope), receive, send))
    assert answered == [200, 429, 200]
