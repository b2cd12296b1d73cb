"""The composition root: settings -> adapters -> services; only entry points call it."""

from __future__ import annotations

from tenure.settings import Settings

__all__ = ["load_settings"]


def load_settings() -> Settings:
    """Read settings from the environment once and create the data directories."""
    settings = Settings()
    settings.ensure_dirs()
    return settings
