"""The must-hold, end to end: after `tenure demo`, no customer's phone, name or ID number is in
the warehouse file, in what the warehouse holds, or in anything the demo printed or logged."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenure.cli.demo import DEMO_FOLDER
from tenure.cli.main import app

pytestmark = pytest.mark.slow

_IDENTITY = ("full_name", "phone", "id_number", "email")


def _identities(data_dir: Path) -> list[tuple[str, str]]:
    with (data_dir / DEMO_FOLDER / "customers.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(f"{c} of {r['customer_id']}", r[c]) for r in rows for c in _IDENTITY if r[c]]


def _found_in(text: bytes, identities: list[tuple[str, str]]) -> list[str]:
    return [what for what, value in identities if value.encode("utf-8") in text]


def test_demo_leaves_no_clear_identity_in_the_warehouse_or_its_output(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TENURE_KEYS", raising=False)
    monkeypatch.delenv("TENURE_KEYS_FILE", raising=False)
    caplog.set_level(logging.DEBUG)
    args = ["demo", "--no-serve", "--customers", "300", "--months", "2", "--seed", "3"]

    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    identities = _identities(data_dir)
    assert len(identities) >= 3 * 300
    printed = "\n".join([first.output, second.output, caplog.text]).encode("utf-8")
    assert _found_in(printed, identities) == []
    assert first.output.count("created the key ring") == 1
    assert "created the key ring" not in second.output
    warehouse = data_dir / "warehouse.duckdb"
    stored = b"".join(p.read_bytes() for p in data_dir.glob("warehouse.duckdb*"))
    assert _found_in(stored, identities) == []
    # Compression could hide a value from the byte search; an export of every table cannot.
    export = tmp_path / "export"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (customers,) = con.execute("SELECT count(*) FROM customers").fetchone() or (0,)
        con.execute(f"EXPORT DATABASE '{export}' (FORMAT csv)")
    exported = b"".join(p.read_bytes() for p in sorted(export.iterdir()))
    assert customers == 300
    assert b"C00000001" in exported
    assert _found_in(exported, identities) == []
