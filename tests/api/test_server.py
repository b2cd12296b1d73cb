"""The real thing: ``tenure serve`` in a subprocess, called over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.auth.service import ensure_admin
from tenure.settings import Settings

_LAUNCH = (
    "import typer; from tenure.cli import serve; app = typer.Typer(); "
    "app.callback()(lambda: None); serve.register(app); app()"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _admin_password(data_dir: Path) -> str:
    url = Settings(data_dir=data_dir).operational_url
    upgrade_to_head(url)
    engine = create_store_engine(url)
    try:
        password = ensure_admin(uow=SqlUnitOfWorkFactory(engine)())
    finally:
        engine.dispose()
    assert password is not None
    return password


def _launch(data_dir: Path, port: int, *, stdout: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TENURE_DATA_DIR": str(data_dir)}
    env.pop("TENURE_DATABASE_URL", None)
    env.pop("TENURE_JWT_SECRET", None)
    return subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    port = _free_port()
    process = _launch(data_dir, port, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not come up within 30 s")


def test_served_api_answers_health_ready_and_authenticated_calls(
    data_dir: Path, server: str
) -> None:
    password = _admin_password(data_dir)
    with httpx.Client(base_url=server, timeout=10) as client:
        assert client.get("/ready").status_code == 200
        denied = client.get("/v1/me")
        token = client.post("/v1/auth/token", data={"username": "admin", "password": password})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = client.get("/v1/me", headers=headers)
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "authentication_failed"
    assert me.status_code == 200
    assert me.json()["name"] == "admin"
    assert me.json()["roles"] == ["admin"]


def test_the_access_log_leaves_query_strings_out(data_dir: Path) -> None:
    port = _free_port()
    process = _launch(data_dir, port, stdout=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        reason = "complaint CMP-77 Zhang Wei 13800138000"
        asked = httpx.get(
            f"{base}/v1/customers/C1/identity", params={"reveal": "true", "reason": reason}
        )
        assert asked.status_code == 401
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=15)
    logged = stdout.decode(errors="replace")
    assert 'GET /v1/customers/C1/identity?… HTTP/1.1" 401' in logged
    for secret in ("reveal", "Zhang", "13800138000"):
        assert secret not in logged


def test_the_docs_page_renders_in_a_real_browser_with_no_network_but_the_server(
    server: str, chromium: str
) -> None:
    rendered = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", f"{server}/docs"],
        capture_output=True, timeout=120, check=True,
    ).stdout.decode(errors="replace")  # fmt: skip
    assert "Unable to render" not in rendered
    assert rendered.count('class="opblock-summary-path"') >= 20
    assert "/v1/events/transfer" in rendered
