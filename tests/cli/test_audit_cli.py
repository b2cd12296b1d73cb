"""``tenure audit verify`` and ``tenure audit head`` against a store under TENURE_DATA_DIR."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.cli import audit
from tenure.settings import Settings

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cli(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    app = typer.Typer()
    audit.register(app)
    return app


@pytest.fixture
def store_url(data_dir: Path) -> str:
    """The store the CLI opens, migrated, with five audit entries."""
    url = Settings(data_dir=data_dir).operational_url
    upgrade_to_head(url)
    engine = create_store_engine(url)
    try:
        log = SqlAuditLog(engine)
        for n in range(1, 6):
            log.record(
                actor="ann",
                action="protection.ruleset_approved",
                subject=f"ruleset:default@{n}",
                details={"status": "approved"},
                at=AT + timedelta(minutes=n),
            )
    finally:
        engine.dispose()
    return url


def execute(url: str, statement: str) -> None:
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_verify_reports_an_intact_chain_and_exits_0(cli: typer.Typer, store_url: str) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("intact: 5 entries, head seq 5 hash ")
    assert len(result.output.strip().splitlines()) == 1


def test_verify_names_an_edited_entry_and_exits_1(cli: typer.Typer, store_url: str) -> None:
    execute(store_url, """UPDATE audit_log SET details = '{"status":"rejected"}' WHERE seq = 3""")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 3: hash does not match its content" in result.output
    assert "TAMPERED" in result.output


@pytest.mark.parametrize(
    ("tampering", "message"),
    [
        ("DELETE FROM audit_log WHERE seq = 2", "entry 2: seq gap: entry 2 missing"),
        (
            "DELETE FROM audit_log WHERE seq >= 4",
            "chain ends at seq 3 but the recorded head is seq 5",
        ),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5", "entry 5: hash does not match"),
    ],
)
def test_verify_exits_1_on_deleted_or_cut_entries(
    cli: typer.Typer, store_url: str, tampering: str, message: str
) -> None:
    execute(store_url, tampering)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert message in result.output


def test_head_json_is_parseable_and_anchors_a_later_verify(
    cli: typer.Typer, store_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "head", "--json"])
    assert result.exit_code == 0, result.output
    head = json.loads(result.stdout)
    assert head["seq"] == 5
    assert len(head["hash"]) == 64
    assert head["at"] == "2025-03-01T09:05:00.000000+00:00"
    anchor = tmp_path / "head.json"
    anchor.write_text(result.stdout, encoding="utf-8")
    assert runner.invoke(cli, ["audit", "verify", "--anchor", str(anchor)]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--anchor", head["hash"]]).exit_code == 0


def test_verify_against_an_anchor_catches_a_rewritten_trail(
    cli: typer.Typer, store_url: str
) -> None:
    runner = CliRunner()
    head = json.loads(runner.invoke(cli, ["audit", "head", "--json"]).stdout)
    execute(store_url, "DELETE FROM audit_log")
    execute(store_url, f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}', at = NULL")
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0  # sound on its own
    result = runner.invoke(cli, ["audit", "verify", "--anchor", head["hash"]])
    assert result.exit_code == 1
    assert "the anchor hash is not in the chain" in result.output


def test_head_prints_seq_hash_and_time(cli: typer.Typer, store_url: str) -> None:
    result = CliRunner().invoke(cli, ["audit", "head"])
    assert result.exit_code == 0
    assert result.output.startswith("seq 5 hash ")
    assert result.output.strip().endswith("at 2025-03-01T09:05:00.000000+00:00")


def test_an_unreadable_anchor_exits_2(cli: typer.Typer, store_url: str) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--anchor", "not-a-hash"])
    assert result.exit_code == 2
    assert "error (anchor)" in result.output


def test_an_unmigrated_store_exits_2_without_changing_it(cli: typer.Typer, data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 2
    assert "not at the latest migration" in result.output
    engine = create_store_engine(Settings(data_dir=data_dir).operational_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_help_explains_exit_codes_and_anchoring(cli: typer.Typer) -> None:
    runner = CliRunner()
    verify_help = runner.invoke(cli, ["audit", "verify", "--help"]).output
    assert "Exit codes: 0 intact; 1 tampered" in verify_help
    assert "--anchor" in verify_help
    head_help = runner.invoke(cli, ["audit", "head", "--help"]).output
    assert "write-once" in head_help
