"""The foundation's promises, checked through the real `tenure` command as a user would run it."""

from __future__ import annotations

import csv
import filecmp
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenure.cli.main import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "A"
    result = CliRunner().invoke(
        app, ["synth", "--customers", "2000", "--months", "6", "--seed", "7", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(simulated: Path, tmp_path: Path) -> None:
    again = tmp_path / "B"
    result = CliRunner().invoke(
        app, ["synth", "--customers", "2000", "--months", "6", "--seed", "7", "--out", str(again)]
    )
    assert result.exit_code == 0, result.output
    files = _tree(simulated)
    assert "transactions.csv" in files
    assert "truth/fraud_labels.csv" in files
    assert files == _tree(again)
    _, mismatch, errors = filecmp.cmpfiles(simulated, again, files, shallow=False)
    assert mismatch == []
    assert errors == []


def _corrupt_transactions(path: Path) -> dict[int, str]:
    """Corrupt about 1 % of rows in place; returns {line number: field expected in quarantine}."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    expected: dict[int, str] = {}
    duplicates: list[list[str]] = []
    for n, index in enumerate(range(7, len(body), 100)):
        row, line = body[index], index + 2
        kind = n % 4
        if kind == 0:
            row[col["amount_minor"]] = "12x.50"
            expected[line] = "amount_minor"
        elif kind == 1:
            row[col["account_id"]] = f"A-NOT-A-REAL-ACCOUNT-{n}"
            expected[line] = "account_id"
        elif kind == 2:
            row[col["occurred_at"]] = "2025-02-30T25:61:00Z"
            expected[line] = "occurred_at"
        else:
            duplicates.append(list(row))
    for offset in range(len(duplicates)):
        expected[len(body) + 2 + offset] = "transaction_id"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows([header, *body, *duplicates])
    return expected


def _ingest_json(source: Path) -> dict[str, dict[str, int]]:
    result = CliRunner().invoke(app, ["ingest", str(source), "--json"])
    assert result.exit_code == 0, result.output
    tables: dict[str, dict[str, int]] = json.loads(result.stdout)["tables"]
    return tables


def test_corrupted_rows_are_quarantined_with_reasons_and_reload_adds_nothing(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "C"
    shutil.copytree(simulated, source)
    expected = _corrupt_transactions(source / "transactions.csv")
    assert len(expected) >= 20
    data_dir = tmp_path / "data"
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))

    first = _ingest_json(source)
    for name, counts in first.items():
        assert counts["rows_in"] == counts["loaded"] + counts["quarantined"], name
    assert first["transactions"]["quarantined"] == len(expected)
    assert first["customers"]["loaded"] == 2000
    assert sum(c["quarantined"] for c in first.values()) == len(expected)

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "SELECT line, field, reason FROM quarantine WHERE table_name = 'transactions'"
        ).fetchall()
    by_line = {line: (field, reason) for line, field, reason in found}
    assert set(by_line) == set(expected)
    for line, field in expected.items():
        assert by_line[line][0] == field, (line, by_line[line])
        assert field in by_line[line][1]

    second = _ingest_json(source)
    assert all(counts["loaded"] == 0 for counts in second.values())
    assert all(counts["quarantined"] == 0 for counts in second.values())
    for name, counts in second.items():
        assert counts["rows_in"] == counts["loaded"] + counts["quarantined"], name
