"""`tenure keys init | rotate | status`: the key ring's life, without ever printing key material."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from tenure.adapters.sql import create_store_engine
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.cli.main import app
from tenure.data.schema import PiiKind
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.privacy.keys import generate_key_ring, load_key_file
from tenure.privacy.pseudonyms import Pseudonymizer

CUSTOMERS = 40


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    synthesize(SimulationConfig(customers=CUSTOMERS, months=1, seed=5), root)
    return root


@pytest.fixture
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TENURE_KEYS", raising=False)
    monkeypatch.delenv("TENURE_KEYS_FILE", raising=False)
    return data_dir


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _key_material(path: Path) -> list[str]:
    return list(json.loads(path.read_text(encoding="utf-8"))["keys"].values())


def _status() -> dict[str, Any]:
    result = _run("keys", "status", "--json")
    assert result.exit_code == 0, result.output
    status: dict[str, Any] = json.loads(result.stdout)
    return status


def _stored_names(data_dir: Path) -> dict[str, str]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT customer_id, full_name FROM customers").fetchall()
    return {str(cid): str(name) for cid, name in rows}


def test_init_creates_an_owner_only_key_file_and_refuses_to_overwrite_it(env: Path) -> None:
    result = _run("keys", "init")

    assert result.exit_code == 0, result.output
    path = env / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "keys.json" in result.output.replace("\n", "")
    (material,) = _key_material(path)
    assert material not in result.output
    before = path.read_bytes()

    again = _run("keys", "init")

    assert again.exit_code == 2
    assert "exists" in again.output
    assert path.read_bytes() == before


def test_ingest_creates_the_ring_once_and_status_counts_the_wrapped_keys(
    env: Path, bank: Path
) -> None:
    first = _run("ingest", str(bank))
    second = _run("ingest", str(bank))

    assert first.exit_code == 0, first.output
    assert "created the key ring" in first.output
    assert "created the key ring" not in second.output
    status = _status()
    assert status["versions"] == [1]
    assert (status["active"], status["pseudonym"]) == (1, 1)
    assert status["wrapped_keys"] == {"1": CUSTOMERS}
    for material in _key_material(env / "keys.json"):
        assert material not in first.output + second.output


def test_rotate_rewraps_every_key_keeps_data_readable_and_pseudonyms_unchanged(
    env: Path, bank: Path
) -> None:
    assert _run("ingest", str(bank)).exit_code == 0
    names_before = _stored_names(env)

    result = _run("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert f"rewrapped {CUSTOMERS} data key(s) under version 2" in result.output
    status = _status()
    assert (status["versions"], status["active"], status["pseudonym"]) == ([1, 2], 2, 1)
    assert status["wrapped_keys"] == {"2": CUSTOMERS}
    ring = load_key_file(env / "keys.json")
    with (bank / "customers.csv").open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    engine = create_store_engine(f"sqlite:///{env / 'operational.sqlite3'}")
    try:
        revealed = SqlIdentityVault(engine, ring=ring).reveal(row["customer_id"])
    finally:
        engine.dispose()
    assert revealed["full_name"] == row["full_name"]
    assert revealed["id_number"] == row["id_number"]
    assert _stored_names(env) == names_before
    pseudonyms = Pseudonymizer(ring)
    assert names_before[row["customer_id"]] == pseudonyms.pseudonym(PiiKind.NAME, row["full_name"])
    for material in _key_material(env / "keys.json"):
        assert material not in result.output
    engine = create_store_engine(f"sqlite:///{env / 'operational.sqlite3'}")
    try:
        trail = SqlAuditLog(engine)
        rotations = [e for e in trail.entries() if e.action == "keys.rotated"]
        assert trail.verify().intact
    finally:
        engine.dispose()
    assert [(e.subject, dict(e.details)) for e in rotations] == [
        ("key_ring:v2", {"active_version": 2, "rewrapped": CUSTOMERS, "already_current": 0})
    ]


def test_rotate_with_retire_drops_versions_that_wrap_no_key_but_never_the_pinned_one(
    env: Path, bank: Path
) -> None:
    assert _run("ingest", str(bank)).exit_code == 0
    assert _run("keys", "rotate").exit_code == 0

    result = _run("keys", "rotate", "--retire")

    assert result.exit_code == 0, result.output
    assert "retired version(s) 2" in result.output
    status = _status()
    assert (status["versions"], status["active"], status["pseudonym"]) == ([1, 3], 3, 1)
    assert status["wrapped_keys"] == {"3": CUSTOMERS}


def test_a_ring_from_the_environment_is_used_but_not_rotated(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_KEYS", generate_key_ring().to_json())

    status = _status()
    rotate = _run("keys", "rotate")

    assert status["source"] == "TENURE_KEYS"
    assert rotate.exit_code == 2
    assert "TENURE_KEYS" in rotate.output
    assert not (env / "keys.json").exists()


def test_status_without_a_ring_says_how_to_make_one(env: Path) -> None:
    result = _run("keys", "status")

    assert result.exit_code == 2
    assert "tenure keys init" in result.output
