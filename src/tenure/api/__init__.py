"""Tenure's HTTP API (FastAPI): build it with ``create_app(settings)``."""

from __future__ import annotations

from tenure.api.app import PUBLIC_PATHS, create_app, create_app_from_environment

__all__ = ["PUBLIC_PATHS", "create_app", "create_app_from_environment"]
