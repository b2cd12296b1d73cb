"""``tenure ingest``: the JSON report's shape, the human report, and errors as exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from ingest_factories import canonical_rows, write_canonical_dir, write_table
from typer.testing import CliRunner

from tenure.cli.ingest import register
from tenure.data.catalog import canonical_catalog

CATALOG = canonical_catalog()


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    cli = typer.Typer()
    register(cli)

    @cli.callback()
    def main() -> None:
        """Keep ``ingest`` a sub-command."""

    return cli


def _bad_customer_dir(directory: Path) -> Path:
    rows = canonical_rows(CATALOG["customers"], 3)
    rows[2]["kyc_risk"] = "extreme"
    write_table(directory, CATALOG["customers"], rows)
    return directory


def test_json_report_gives_rows_in_loaded_quarantined_per_table(
    app: typer.Typer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["ingest", str(_bad_customer_dir(tmp_path)), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= {"batch_id", "tables"}
    assert list(report["tables"]) == [t.name for t in CATALOG]
    customers = report["tables"]["customers"]
    assert {k: customers[k] for k in ("rows_in", "loaded", "quarantined")} == {
        "rows_in": 3,
        "loaded": 2,
        "quarantined": 1,
    }
    assert report["tables"]["accounts"]["status"] == "not_present"


def test_human_report_shows_counts_reasons_and_where_the_quarantine_is(
    app: typer.Typer, tmp_path: Path, data_dir: Path
) -> None:
    result = CliRunner().invoke(app, ["ingest", str(_bad_customer_dir(tmp_path))])

    assert result.exit_code == 0, result.output
    assert "customers" in result.output
    assert "kyc_risk: 'extreme' is not one of low, medium, high" in result.output.replace("\n", " ")
    assert "FROM quarantine WHERE batch_id" in result.output.replace("\n", " ")
    assert (data_dir / "warehouse.duckdb").exists()


def test_second_run_reports_files_as_already_loaded(app: typer.Typer, tmp_path: Path) -> None:
    write_canonical_dir(tmp_path, rows=2, tables=["customers"])
    CliRunner().invoke(app, ["ingest", str(tmp_path), "--json"])

    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--json"])

    customers = json.loads(result.stdout)["tables"]["customers"]
    assert (customers["status"], customers["rows_in"], customers["loaded"]) == (
        "already_loaded",
        0,
        0,
    )


def test_a_bad_mapping_exits_with_code_2_and_names_the_key(
    app: typer.Typer, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("tables:\n  customers:\n    colums: {}\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--mapping", str(mapping)])

    assert result.exit_code == 2
    assert "tables.customers.colums" in result.output
