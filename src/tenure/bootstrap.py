"""The composition root: settings -> adapters -> services; only entry points call it."""

from __future__ import annotations

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.settings import Settings

__all__ = ["load_settings", "open_warehouse"]


def load_settings() -> Settings:
    """Read settings from the environment once and create the data directories."""
    settings = Settings()
    settings.ensure_dirs()
    return settings


def open_warehouse(settings: Settings) -> DuckDBWarehouse:
    """The DuckDB warehouse under the data directory, within the configured memory limit."""
    return DuckDBWarehouse.open(
        settings.warehouse_path, memory_limit=settings.warehouse_memory_limit
    )
