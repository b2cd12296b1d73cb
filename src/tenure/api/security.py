"""API hardening as pure ASGI middleware: security headers, CORS and rate limits.

The event endpoint is benchmarked at thousands of requests a second on one worker, so nothing here
is a ``BaseHTTPMiddleware`` (a task and a copy of every message per request): a request costs a
scan of its headers, a clock read and a few dict lookups.

Rate limits are token buckets held in this process (each worker keeps its own); a refused request
gets 429 in the API's error shape with ``Retry-After``. A rate of 0 turns a limit off.

- per API key (``rate_limit_machine_per_second``): channels and batch loaders; off by default;
- per bearer token (``rate_limit_user_per_second``): people, through the console or scripts;
- per client address, for every request without an API key (``rate_limit_ip_per_second``);
- per client address, for refused credentials and failed sign-ins
  (``rate_limit_auth_failures_per_minute``). Once that bucket is empty, sign-ins and credentials
  this worker has not yet seen succeed are refused until it refills; a credential that has
  succeeded is not held back, so that one misconfigured client behind a bank's gateway does not
  stop the channel that shares its address.

The client address is the peer of the connection: behind a proxy, run uvicorn with proxy headers
trusted from that proxy, or every caller shares the proxy's bucket.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure.api.errors import error_response, request_id_of
from tenure.settings import Settings

__all__ = [
    "API_CSP",
    "DOCS_CSP",
    "RateLimitMiddleware",
    "RateLimits",
    "SecurityHeadersMiddleware",
    "TokenBuckets",
    "cors_options",
    "mark_authenticated",
    "mark_refused",
]

# JSON needs no sources; the console is served by this app with vendored assets, so 'self'.
API_CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The /docs page (Swagger UI, served from the package: tenure.api.docs) starts its viewer with an
# inline script and styles; it holds no data, and this looser policy applies to it only. Nothing
# is loaded from anywhere but this server.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")
# Set in the ASGI scope by the authentication dependency and the sign-in route.
_AUTHENTICATED = "tenure.authenticated"
_REFUSED = "tenure.credential_refused"
# A credential seen to succeed skips the failure gate for this long (then is watched again).
_PROVEN_SECONDS = 60.0
_MAX_KEYS = 100_000


def mark_authenticated(scope: MutableMapping[str, Any]) -> None:
    """Tell the rate limiter this request's credential checked out."""
    scope[_AUTHENTICATED] = True


def mark_refused(scope: MutableMapping[str, Any]) -> None:
    """Tell the rate limiter this request's credential (or sign-in) was refused."""
    scope[_REFUSED] = True


class SecurityHeadersMiddleware:
    """Adds the browser-hardening headers to every response, and ``no-store`` to ``/v1``."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            common.append(_HSTS)
        api_csp = (b"content-security-policy", API_CSP.encode())
        self._api = (*common, api_csp, _NO_STORE)
        self._other = (*common, api_csp)
        self._docs = (*common, (b"content-security-policy", DOCS_CSP.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v1/"):
            extra = self._api
        else:
            extra = self._docs if path in _DOCS_PATHS else self._other

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Options for Starlette's (pure ASGI) ``CORSMiddleware`` admitting exactly ``origins``.

    Without any origin the middleware is not installed at all, so no CORS header is ever sent.
    Tokens travel in headers, never cookies, so credentials mode stays off.
    """
    return {
        "allow_origins": list(origins),
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key"],
        "expose_headers": ["X-Request-ID", "Retry-After"],
        "allow_credentials": False,
        "max_age": 600,
    }


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sustained rates; a bucket holds ``burst_seconds`` of its rate (at least one request)."""

    ip_per_second: float = 100.0
    user_per_second: float = 50.0
    machine_per_second: float = 0.0
    auth_failures_per_minute: float = 10.0
    burst_seconds: float = 2.0

    @classmethod
    def of(cls, settings: Settings) -> RateLimits:
        """The limits ``settings`` name."""
        return cls(
            ip_per_second=settings.rate_limit_ip_per_second,
            user_per_second=settings.rate_limit_user_per_second,
            machine_per_second=settings.rate_limit_machine_per_second,
            auth_failures_per_minute=settings.rate_limit_auth_failures_per_minute,
            burst_seconds=settings.rate_limit_burst_seconds,
        )


class TokenBuckets:
    """One token bucket per key: ``rate`` tokens a second, holding at most ``capacity``.

    At most ``max_keys`` buckets are kept: when full, idle (refilled) buckets are dropped, and if
    none is idle, all of them; a caller then starts again from a full bucket.
    """

    __slots__ = ("_buckets", "_capacity", "_max_keys", "_rate")

    def __init__(self, rate: float, capacity: float, *, max_keys: int = _MAX_KEYS) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a bucket needs a positive rate and room for one request")
        self._rate = rate
        self._capacity = capacity
        self._max_keys = max_keys
        self._buckets: dict[Hashable, list[float]] = {}  # key -> [tokens, updated at]

    def take(self, key: Hashable, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one will be there."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._make_room(now)
            self._buckets[key] = [self._capacity - 1.0, now]
            return 0.0
        tokens = min(self._capacity, bucket[0] + (now - bucket[1]) * self._rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self._rate

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds until ``key`` has a token (0.0: it has one now); takes nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * self._rate
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def _make_room(self, now: float) -> None:
        idle = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate >= self._capacity
        ]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()


def _buckets(per_second: float, burst_seconds: float) -> TokenBuckets | None:
    if per_second <= 0:
        return None
    return TokenBuckets(per_second, max(1.0, per_second * burst_seconds))


class RateLimitMiddleware:
    """Refuses with 429 the requests over their buckets (see the module docstring).

    Sits inside ``RequestContextMiddleware``, so that a 429 carries the request id.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        login_path: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._login_path = login_path
        self._now = monotonic
        self._machine = _buckets(limits.machine_per_second, limits.burst_seconds)
        self._user = _buckets(limits.user_per_second, limits.burst_seconds)
        self._ip = _buckets(limits.ip_per_second, limits.burst_seconds)
        per_minute = limits.auth_failures_per_minute
        self._failures = None if per_minute <= 0 else TokenBuckets(per_minute / 60, per_minute)
        self._proven: dict[int, float] = {}  # hash of a credential -> watched again after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api_key = bearer = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value
            elif name == b"authorization":
                bearer = value
        now = self._now()
        address = (scope.get("client") or ("",))[0]
        credential: int | None
        if api_key is not None:
            credential = hash(api_key)
            wait = 0.0 if self._machine is None else self._machine.take(credential, now)
        else:
            credential = None if bearer is None else hash(bearer)
            wait = 0.0 if self._ip is None else self._ip.take(address, now)
            if not wait and credential is not None and self._user is not None:
                wait = self._user.take(credential, now)
        if wait:
            await self._refuse(scope, receive, send, wait)
        elif self._failures is not None and (
            scope["path"] == self._login_path
            or (credential is not None and self._proven.get(credential, 0.0) < now)
        ):
            watch = (self._failures, address, credential, now)
            await self._watched(scope, receive, send, *watch)
        else:
            await self.app(scope, receive, send)

    async def _watched(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        failures: TokenBuckets,
        address: str,
        credential: int | None,
        now: float,
    ) -> None:
        """A sign-in or a credential not yet seen to succeed: gated on the address's failures."""
        wait = failures.wait(address, now)
        if wait:
            await self._refuse(scope, receive, send, wait)
            return
        await self.app(scope, receive, send)
        if scope.get(_REFUSED):
            failures.take(address, self._now())
        elif credential is not None and scope.get(_AUTHENTICATED):
            if len(self._proven) >= _MAX_KEYS:
                self._proven.clear()
            self._proven[credential] = now + _PROVEN_SECONDS

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, wait: float) -> None:
        retry_after = max(1, math.ceil(wait))
        response = error_response(
            request_id=request_id_of(scope),
            status=429,
            code="rate_limited",
            message=f"too many requests; retry in {retry_after} s",
            headers={"retry-after": str(retry_after)},
        )
        await response(scope, receive, send)
