"""``tenure users`` and ``tenure serve`` on a fresh Typer app, against a temporary data dir."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.auth import service
from tenure.cli import serve, users
from tenure.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def cli(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    app = typer.Typer()
    users.register(app)
    serve.register(app)
    return app


def _login(data_dir: Path, username: str, password: str) -> None:
    engine = create_store_engine(Settings(data_dir=data_dir).operational_url)
    try:
        service.authenticate(
            uow=SqlUnitOfWorkFactory(engine)(), username=username, password=password
        )
    finally:
        engine.dispose()


def test_creates_user_with_prompted_password(cli: typer.Typer, data_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["users", "create", "ann", "--role", "fraud_analyst", "--role", "retention_analyst"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created user ann (fraud_analyst, retention_analyst)" in result.output
    assert PASSWORD not in result.output
    _login(data_dir, "ann", PASSWORD)


def test_generated_password_is_printed_once_and_works(cli: typer.Typer, data_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["users", "create", "bob", "--role", "admin", "--generate-password"]
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"password \(shown once\): (\S+)", result.output)
    assert match is not None
    _login(data_dir, "bob", match.group(1))


def test_short_password_fails_with_a_clear_message(cli: typer.Typer) -> None:
    result = CliRunner().invoke(
        cli, ["users", "create", "ann", "--role", "admin", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "error (password): password must be at least 12 characters long" in result.output


def test_unknown_role_is_refused(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["users", "create", "ann", "--role", "emperor"])
    assert result.exit_code == 2


def test_lists_users(cli: typer.Typer) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["users", "create", "ann", "--role", "admin", "--password", PASSWORD])
    result = runner.invoke(cli, ["users", "list"])
    assert result.exit_code == 0
    assert result.output.startswith("ann\tadmin\tactive\tnever")


def test_api_key_is_printed_once(cli: typer.Typer) -> None:
    result = CliRunner().invoke(
        cli, ["users", "api-key", "create", "core feed", "--role", "system"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"key \(shown once\): tnr_[0-9a-f]{12}_\S+", result.output)


def test_serve_help_names_its_options(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
        assert option in result.output


def test_users_and_keys_created_from_the_command_line_are_audited(
    cli: typer.Typer, data_dir: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["users", "create", "ann", "--role", "admin", "--password", PASSWORD])
    key = runner.invoke(cli, ["users", "api-key", "create", "core", "--role", "system"])
    assert made.exit_code == key.exit_code == 0, made.output + key.output
    engine = create_store_engine(Settings(data_dir=data_dir).operational_url)
    try:
        trail = SqlAuditLog(engine)
        entries = list(trail.entries())
        assert trail.verify().intact
    finally:
        engine.dispose()
    assert [(e.action, e.actor.startswith("cli")) for e in entries] == [
        ("user.created", True),
        ("api_key.created", True),
    ]
    assert dict(entries[0].details) == {"username": "ann", "roles": ["admin"]}
    plaintext = re.search(r"key \(shown once\): (\S+)", key.output)
    assert plaintext is not None
    assert plaintext.group(1) not in str(dict(entries[1].details))
