"""Liveness and readiness probes (no authentication: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter

from tenure import __version__
from tenure.adapters.sql import check_schema
from tenure.api.dependencies import State
from tenure.api.schemas import ErrorResponse, Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> Health:
    """Liveness: the process answers."""
    return Health(version=__version__)


@router.get("/ready", responses={503: {"model": ErrorResponse}})
def ready(state: State) -> Readiness:
    """Readiness: the operational store answers and its schema is at the latest migration."""
    return Readiness(schema_revision=check_schema(state.engine))
