"""Kill -9 the server mid-stream: every acknowledged decision survives, state is rebuilt."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.auth.service import create_api_key
from tenure.core.roles import Role
from tenure.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {**os.environ, "TENURE_DATA_DIR": str(data_dir)}
    env.pop("TENURE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tenure.cli.main", "serve", "--port", str(port),
         "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the server exited while starting"
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)


_START = datetime.now(UTC) - timedelta(days=1)


def _transfer(index: int) -> dict[str, object]:
    return {
        "event_id": f"e{index}", "customer_id": f"C{index % 7}", "account_id": f"A{index % 7}",
        "occurred_at": (_START + timedelta(seconds=index)).isoformat(),
        "amount_minor": 10_000 + index, "payee_id": f"P{index % 3}", "device_id": "d1",
    }  # fmt: skip


def test_acknowledged_decisions_survive_sigkill_and_state_is_rebuilt(data_dir: Path) -> None:
    url = Settings(data_dir=data_dir).operational_url
    upgrade_to_head(url)
    store = create_store_engine(url)
    _, key = create_api_key(uow=SqlUnitOfWorkFactory(store)(), name="ch", roles=[Role.SYSTEM])
    headers = {"X-API-Key": key}
    acknowledged: dict[str, str] = {}
    with _serving(data_dir) as (base, process), httpx.Client(base_url=base, timeout=10) as client:
        for index in range(60):
            answer = client.post("/v1/events/transfer", json=_transfer(index), headers=headers)
            assert answer.status_code == 200, answer.text
            acknowledged[answer.json()["idempotency_key"]] = answer.json()["decision_id"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)
    with store.connect() as conn:
        logged = dict(conn.execute(sa.text(
            "SELECT idempotency_key, decision_id FROM protection_decisions"
        )).all())  # fmt: skip
    store.dispose()
    assert logged == acknowledged
    with _serving(data_dir) as (base, _), httpx.Client(base_url=base, timeout=10) as client:
        retry = client.post("/v1/events/transfer", json=_transfer(5), headers=headers)
        status = client.get("/v1/protection/status", headers=headers)
    assert retry.json()["replayed"] is True
    assert retry.json()["decision_id"] == acknowledged["transfer:e5"]
    assert status.status_code == 200, status.text
    assert status.json()["rebuilt_events"] == len(acknowledged)
