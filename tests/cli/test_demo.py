"""`tenure demo --no-serve` on a tiny bank: it loads the data and prints working credentials."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.auth.service import authenticate
from tenure.cli.main import app

pytestmark = pytest.mark.slow


def _password(output: str) -> str:
    match = re.search(r"password:\s+(\S+)", output)
    assert match, output
    return match.group(1)


def test_demo_loads_a_bank_and_prints_credentials_that_work(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    args = ["demo", "--no-serve", "--customers", "300", "--months", "2", "--seed", "3"]

    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    password = _password(first.output)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (customers,) = con.execute("SELECT count(*) FROM customers").fetchall()[0]
        (transactions,) = con.execute("SELECT count(*) FROM transactions").fetchall()[0]
    assert customers == 300
    assert transactions > 1000

    engine = create_store_engine(f"sqlite:///{data_dir / 'operational.sqlite3'}")
    try:
        user = authenticate(uow=SqlUnitOfWorkFactory(engine)(), username="admin", password=password)
    finally:
        engine.dispose()
    assert user.username == "admin"

    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert _password(second.output) == password
    assert "already loaded" in second.output
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers").fetchall()[0][0] == 300
