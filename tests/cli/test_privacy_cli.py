"""`tenure privacy consents | requests` on a simulated bank loaded with `tenure ingest`."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tenure.adapters.sql import create_store_engine
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.adapters.sql.subject_requests import SqlSubjectRequestStore
from tenure.cli.main import app
from tenure.privacy.identity import IdentityNotFound
from tenure.privacy.keys import load_key_file
from tenure.privacy.subject_requests import RequestKind, RequestStatus, StatusChange, SubjectRequest

CUSTOMERS = 30


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.data.simulator import SimulationConfig, synthesize

    root = tmp_path_factory.mktemp("bank")
    synthesize(SimulationConfig(customers=CUSTOMERS, months=1, seed=11), root)
    return root


@pytest.fixture
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch, bank: Path) -> Path:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TENURE_KEYS", raising=False)
    monkeypatch.delenv("TENURE_KEYS_FILE", raising=False)
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    loaded = _run("ingest", str(bank))
    assert loaded.exit_code == 0, loaded.output
    return data_dir


@pytest.fixture
def store(env: Path) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{env / 'operational.sqlite3'}")
    yield engine
    engine.dispose()


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _rows(bank: Path, table: str) -> list[dict[str, str]]:
    with (bank / f"{table}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_loads_every_warehouse_consent_once_and_show_lists_the_history(
    env: Path, bank: Path, store: Engine
) -> None:
    consents = _rows(bank, "consents")

    first = _run("privacy", "consents", "import")
    second = _run("privacy", "consents", "import")

    assert first.exit_code == 0, first.output
    assert f"{len(consents):,} new" in first.output
    assert "0 new" in second.output
    customer = consents[0]["customer_id"]
    shown = _json("privacy", "consents", "show", customer)
    mine = [row for row in consents if row["customer_id"] == customer]
    assert sorted(e["consent_id"] for e in shown["history"]) == sorted(
        r["consent_id"] for r in mine
    )
    assert {e["source"] for e in shown["history"]} == {"ingest"}
    imported = [e for e in SqlAuditLog(store).entries() if e.action == "consent.imported"]
    assert [dict(e.details)["added"] for e in imported] == [len(consents), 0]


def test_check_exits_0_when_the_latest_consent_is_given_and_1_otherwise(
    env: Path, bank: Path
) -> None:
    assert _run("privacy", "consents", "import").exit_code == 0
    latest: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in sorted(_rows(bank, "consents"), key=lambda r: r["recorded_at"]):
        latest[(row["customer_id"], row["purpose"], row["channel"])] = row
    (cid, purpose, channel), row = next(
        (key, row) for key, row in latest.items() if row["status"] == "given"
    )

    allowed = _run("privacy", "consents", "check", cid, "--purpose", purpose, "--channel", channel)
    unknown = _run("privacy", "consents", "check", "NOBODY", "--purpose", "marketing",
                   "--channel", "sms")  # fmt: skip

    assert allowed.exit_code == 0, allowed.output
    assert "ALLOWED" in allowed.output
    assert unknown.exit_code == 1
    assert "DENIED" in unknown.output
    assert "no consent recorded" in unknown.output


def test_export_writes_an_owner_only_document_with_the_clear_identity(
    env: Path, bank: Path, tmp_path: Path
) -> None:
    person = _rows(bank, "customers")[0]
    opened = _json("privacy", "requests", "open", person["customer_id"], "--kind", "export")
    out = tmp_path / "export.json"

    result = _run("privacy", "requests", "fulfil", opened["request_id"], "--out", str(out))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["identity"]["fields"]["full_name"] == person["full_name"]
    assert document["identity"]["fields"]["id_number"] == person["id_number"]
    assert document["warehouse"]["tables"]["customers"][0]["full_name"] != person["full_name"]
    assert person["full_name"] not in result.output
    again = _run("privacy", "requests", "fulfil", opened["request_id"], "--out", str(out))
    assert again.exit_code == 2


def test_erasure_shreds_the_identity_and_a_second_ingest_does_not_bring_it_back(
    env: Path, bank: Path, store: Engine, tmp_path: Path
) -> None:
    person = _rows(bank, "customers")[1]
    cid = person["customer_id"]
    assert _run("privacy", "consents", "import").exit_code == 0
    opened = _json("privacy", "requests", "open", cid, "--kind", "erasure")

    erased = _json("privacy", "requests", "fulfil", opened["request_id"])
    reloaded = _run("ingest", str(bank))

    assert reloaded.exit_code == 0, reloaded.output
    vault = SqlIdentityVault(store, ring=load_key_file(env / "keys.json"))
    with pytest.raises(IdentityNotFound) as raised:
        vault.reveal(cid)
    assert raised.value.erased
    outcome = {item["what"]: item for item in erased["outcome"]}
    assert outcome["identity_vault"]["action"] == "erased"
    assert outcome["consent_history"]["action"] == "kept"
    assert all(i["legal_reason"] for i in erased["outcome"] if i["action"] == "kept")
    shown = _json("privacy", "consents", "show", cid)
    assert not any(state["allowed"] for state in shown["current"])
    export = _json("privacy", "requests", "open", cid, "--kind", "export")
    out = tmp_path / "after.json"
    assert (
        _run("privacy", "requests", "fulfil", export["request_id"], "--out", str(out)).exit_code
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert json.loads(text)["identity"] == {"status": "erased", "fields": None}
    assert person["full_name"] not in text
    actions = [e.action for e in SqlAuditLog(store).entries()]
    assert {"subject_request.opened", "subject_request.erased", "consent.withdrawn_all"} <= set(
        actions
    )
    assert SqlAuditLog(store).verify().intact


def test_list_overdue_exits_1_and_names_the_late_request(env: Path, store: Engine) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=40)
    SqlSubjectRequestStore(store).add(
        SubjectRequest(
            request_id="SR-late", customer_id="C-late", kind=RequestKind.EXPORT,
            status=RequestStatus.RECEIVED, received_at=long_ago,
            due_at=long_ago + timedelta(days=15), received_by="dpo",
            history=(StatusChange(RequestStatus.RECEIVED, long_ago, "dpo"),),
        )
    )  # fmt: skip
    fresh = _json("privacy", "requests", "open", "C-new", "--kind", "correction")

    late = _run("privacy", "requests", "list", "--overdue", "--json")
    everything = _json("privacy", "requests", "list")

    assert late.exit_code == 1
    assert [r["request_id"] for r in json.loads(late.stdout)] == ["SR-late"]
    assert [r["request_id"] for r in everything] == ["SR-late", fresh["request_id"]]


def test_reject_needs_a_reason_and_records_it(env: Path) -> None:
    opened = _json("privacy", "requests", "open", "C-x", "--kind", "erasure")

    missing = _run("privacy", "requests", "reject", opened["request_id"])
    rejected = _json("privacy", "requests", "reject", opened["request_id"], "--reason", "not them")

    assert missing.exit_code != 0
    assert rejected["status"] == "rejected"
    assert rejected["history"][-1]["note"] == "not them"


def test_help_explains_the_commands_to_an_analyst() -> None:
    consents = _run("privacy", "consents", "--help")
    requests = _run("privacy", "requests", "fulfil", "--help")

    assert consents.exit_code == 0
    assert "no record means no contact" in " ".join(consents.output.split())
    assert "mode 0600" in " ".join(requests.output.split())
