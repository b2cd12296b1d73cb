"""The HTTP API's application factory (nothing is built at import; uvicorn calls a factory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from tenure import __version__
from tenure.api.dependencies import TOKEN_URL
from tenure.api.docs import install_docs
from tenure.api.errors import RequestContextMiddleware, install_error_handlers
from tenure.api.routes import (
    api_keys,
    auth,
    consents,
    corporate,
    customers,
    events,
    health,
    limits,
    protection_admin,
    retention,
    rulesets,
    stepup,
    subject_requests,
    users,
    warehouse,
)
from tenure.api.schemas import ErrorResponse
from tenure.api.security import (
    RateLimitMiddleware,
    RateLimits,
    SecurityHeadersMiddleware,
    cors_options,
)
from tenure.api.state import build_state
from tenure.core.clock import Clock, SystemClock
from tenure.settings import Settings

__all__ = ["PUBLIC_PATHS", "create_app", "create_app_from_environment"]

# Everything else requires a bearer token or an API key.
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/ready",
        "/v1/auth/token",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
    }
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 413, 422, 429, 500, 503)
}


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the API for ``settings``; the store engine is created here and disposed on shutdown.

    The store is not migrated here: ``tenure serve`` runs the migrations first, and ``/ready``
    reports 503 until the schema is at the latest revision.
    """
    state = build_state(settings, clock=clock or SystemClock())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="Tenure",
        version=__version__,
        summary="Keep a bank's customers and protect their accounts with one engine.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.tenure = state
    install_error_handlers(app)
    # add_middleware wraps what is there, so the last added runs first: security headers on
    # every answer (413, 429 and 500 too), then CORS, the request id, and the rate limits
    # (innermost, so that a 429 carries the request id).
    app.add_middleware(RateLimitMiddleware, limits=RateLimits.of(settings), login_path=TOKEN_URL)
    app.add_middleware(RequestContextMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.behind_tls)
    # The event routes first and at the top level: they carry the channels' traffic, routes
    # match in order, and every level of nested routers is walked again for each request.
    app.include_router(events.router, responses=_ERRORS)
    app.include_router(health.router)
    v1 = APIRouter(responses=_ERRORS)
    routers = (auth, users, api_keys, warehouse, retention)
    protection_routers = (rulesets, protection_admin, stepup, limits, corporate)
    privacy_routers = (customers, consents, subject_requests)
    for module in (*routers, *protection_routers, *privacy_routers):
        v1.include_router(module.router)
    app.include_router(v1)
    install_docs(app)
    return app


def create_app_from_environment() -> FastAPI:
    """Build the API from ``TENURE_*`` settings (the target of ``uvicorn --factory``)."""
    from tenure.bootstrap import load_settings

    return create_app(load_settings())
