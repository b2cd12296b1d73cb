"""One settings object, read once at start-up by the composition root.

Every path Tenure writes lives under ``data_dir`` (``TENURE_DATA_DIR``): the DuckDB warehouse, the
SQLite operational store, model artefacts and quarantine exports. ``TENURE_DATABASE_URL`` moves the
operational store to PostgreSQL. The key ring that protects personal data comes from
``TENURE_KEYS`` (the key file's JSON itself, e.g. from a secret manager) or else from the key file
(``TENURE_KEYS_FILE``, default ``<data_dir>/keys.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

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
    protection_config_file: Path | None = Field(
        default=None,
        description="YAML of the bank's costs, exposures, limit products and step-up rules "
        "(see `tenure protection config`); <data_dir>/protection.yaml when unset and present.",
    )
    keys: SecretStr | None = Field(
        default=None,
        description="The key ring as JSON (the key file's content); wins over keys_file.",
    )
    keys_file: Path | None = Field(
        default=None,
        description="The key ring file (mode 0600); <data_dir>/keys.json when unset.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # API hardening (tenure.api.security). A rate of 0 turns that limit off.
    behind_tls: bool = Field(
        default=False, description="Clients reach the API over HTTPS only: send HSTS."
    )
    cors_origins: list[Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")]] = (
        Field(default_factory=list, description="Browser origins allowed to call the API.")
    )
    rate_limit_ip_per_second: float = Field(
        default=100.0, ge=0, description="Requests without an API key, per client address."
    )
    rate_limit_user_per_second: float = Field(
        default=50.0, ge=0, description="Requests per bearer token (a signed-in person)."
    )
    rate_limit_machine_per_second: float = Field(
        default=0.0,
        ge=0,
        description="Requests per API key (channels, ETL); off by default, as one worker's "
        "ceiling (about 9k/s) is lower than any limit a bank's channel would want.",
    )
    rate_limit_auth_failures_per_minute: float = Field(
        default=10.0, ge=0, description="Failed sign-ins and refused credentials per address."
    )
    rate_limit_burst_seconds: float = Field(
        default=2.0, gt=0, le=60, description="A bucket holds this many seconds of its rate."
    )
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    api_key_rotation_grace_minutes: int = Field(
        default=24 * 60,
        ge=0,
        le=30 * 24 * 60,
        description="How long a rotated API key keeps working beside its successor.",
    )

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def protection_config_path(self) -> Path | None:
        """The protection config in force: the configured file, else ``protection.yaml`` in the
        data directory if there is one, else None (the defaults)."""
        if self.protection_config_file is not None:
            return self.protection_config_file
        default = self.data_dir / "protection.yaml"
        return default if default.exists() else None

    @property
    def key_file_path(self) -> Path:
        """The key ring file: ``keys_file``, or ``keys.json`` under the data directory."""
        return self.keys_file if self.keys_file is not None else self.data_dir / "keys.json"

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
