"""One settings object, read once at start-up by the composition root.

Every path Tenure writes lives under ``data_dir`` (``TENURE_DATA_DIR``): the DuckDB warehouse, the
SQLite operational store, model artefacts and quarantine exports. ``TENURE_DATABASE_URL`` moves the
operational store to PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Tenure's configuration; every field can be set as ``TENURE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TENURE_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        default=Path("tenure-data"), description="Root of all data Tenure keeps."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational store; SQLite under data_dir when unset.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="Signs login tokens; generated once into the operational store when unset.",
    )
    warehouse_memory_limit: str = Field(
        default="6GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use for warehouse work before spilling to disk.",
    )
    jwt_ttl_minutes: int = Field(default=60, ge=1, le=24 * 60)
    protection_state: Literal["memory", "redis"] = Field(
        default="memory",
        description="Where the real-time engine keeps per-customer state: in the process "
        "(rebuilt from the decision log on start) or in Redis (shared by many workers).",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for protection_state=redis."
    )
    protection_ruleset: str = Field(
        default="default",
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="The rule set whose active version the engine applies.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def models_dir(self) -> Path:
        """Where trained model artefacts are kept."""
        return self.data_dir / "models"

    @property
    def quarantine_dir(self) -> Path:
        """Where quarantined rows are exported for review."""
        return self.data_dir / "quarantine"

    @property
    def operational_url(self) -> str:
        """The operational store's SQLAlchemy URL (SQLite under data_dir by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'operational.sqlite3').resolve()}"

    def ensure_dirs(self) -> None:
        """Create the data directories (called by the composition root, never at import)."""
        for path in (self.data_dir, self.models_dir, self.quarantine_dir):
            path.mkdir(parents=True, exist_ok=True)
