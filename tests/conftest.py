"""Shared fixtures: real services when present, a clear skip (or, under CI, a failure) when not."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TENURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# `make test` runs the tests in parallel processes (pytest-xdist workers gw0, gw1, ...): each
# flushes a Redis database of its own, 15 for the first, 14 for the second and so on.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("TENURE_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER}")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(name: str, host: str, port: int) -> None:
    """Skip (on a laptop) or fail (under CI=true) when a service does not answer."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        message = f"{name} is not reachable at {host}:{port} ({exc})"
        if _in_ci():
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(f"{message}; start {name} to run this test")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary; skip (on a laptop) or fail (under CI=true, which installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "Chromium is not installed (looked for `chromium` on PATH)"
    if _in_ci():
        pytest.fail(f"{message}; .ci/run installs it, so CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; `apt-get install chromium` to run this test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    import sqlalchemy as sa

    require_service("PostgreSQL", "127.0.0.1", 5432)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tenure_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database (DB 15, 14, ... by worker, unless TENURE_TEST_REDIS_URL says
    otherwise), flushed."""
    import redis

    parts = urlsplit(REDIS_URL)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
        yield REDIS_URL
    finally:
        client.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty TENURE_DATA_DIR for one test."""
    path = tmp_path / "tenure-data"
    path.mkdir()
    return path
