"""The simulator writes the declared tables, deterministically, with valid values and keys."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from tenure.cli.synth import register
from tenure.data.catalog import canonical_catalog
from tenure.data.schema import ColumnType, Table
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.data.simulator.writer import table_path

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def run(out: Path, **options: object) -> Path:
    """Simulate into ``out`` with small defaults (1,500 customers in three chunks, 12 months)."""
    settings: dict[str, object] = {"customers": 1_500, "months": 12, "seed": 11, "chunk_size": 600}
    settings.update(options)
    synthesize(SimulationConfig(**settings), out)  # type: ignore[arg-type]
    return out


def load(
    out: Path, fmt: str = "csv", db: duckdb.DuckDBPyConnection | None = None, prefix: str = ""
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every table of the run loaded with its declared types."""
    db = db or duckdb.connect()
    for table in canonical_catalog():
        path = table_path(out, table.name, fmt)  # type: ignore[arg-type]
        types = {c.name: c.type.duckdb_type for c in table.columns}
        source = (
            f"read_csv('{path}', header=true, columns={types!r})"
            if fmt == "csv"
            else f"read_parquet('{path}')"
        )
        db.execute(f"CREATE TABLE {prefix}{table.name} AS SELECT * FROM {source}")
    return db


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def db(bank: Path) -> duckdb.DuckDBPyConnection:
    return load(bank)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    first = _files(run(tmp_path / "a", customers=400, chunk_size=150, fmt=fmt))
    second = _files(run(tmp_path / "b", customers=400, chunk_size=150, fmt=fmt))
    assert len(first) == len(canonical_catalog())
    assert first == second


def test_another_seed_gives_different_files(tmp_path: Path) -> None:
    first = _files(run(tmp_path / "a", customers=400, seed=1))
    second = _files(run(tmp_path / "b", customers=400, seed=2))
    assert first["customers.csv"] != second["customers.csv"]
    assert first["transactions.csv"] != second["transactions.csv"]


def test_every_file_has_exactly_the_declared_columns(bank: Path) -> None:
    for table in canonical_catalog():
        header = table_path(bank, table.name, "csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.replace('"', "").split(",") == list(table.column_names), table.name


def _violations(db: duckdb.DuckDBPyConnection, table: Table) -> dict[str, int]:
    found: dict[str, int] = {}
    for c in table.columns:
        rules = []
        if c.required:
            rules.append(f"{c.name} IS NULL")
        if c.values:
            listed = ", ".join(f"'{v}'" for v in c.values)
            rules.append(f"{c.name} NOT IN ({listed})")
        if c.minimum is not None:
            bound = repr(c.minimum) if not isinstance(c.minimum, str) else f"'{c.minimum}'"
            rules.append(f"{c.name} < {bound}")
        if c.maximum is not None:
            bound = repr(c.maximum) if not isinstance(c.maximum, str) else f"'{c.maximum}'"
            rules.append(f"{c.name} > {bound}")
        for rule in rules:
            count = db.execute(f"SELECT count(*) FROM {table.name} WHERE {rule}").fetchone()
            if count and count[0]:
                found[rule] = count[0]
    for check in table.checks:
        count = db.execute(
            f"SELECT count(*) FROM {table.name} WHERE NOT ({check.condition})"
        ).fetchone()
        if count and count[0]:
            found[check.name] = count[0]
    return found


def test_every_value_obeys_its_declaration(db: duckdb.DuckDBPyConnection) -> None:
    for table in canonical_catalog():
        assert _violations(db, table) == {}, table.name
        key = ", ".join(table.primary_key)
        dupes = db.execute(
            f"SELECT count(*) - count(DISTINCT ({key})) FROM {table.name}"
        ).fetchone()
        assert dupes == (0,), table.name


def test_timestamps_are_iso_utc_and_text_has_no_newlines(bank: Path) -> None:
    for table in canonical_catalog():
        path = table_path(bank, table.name, "csv")
        lines = path.read_text(encoding="utf-8").splitlines()
        stamps = [i for i, c in enumerate(table.columns) if c.type is ColumnType.TIMESTAMP]
        width = len(table.columns)
        for line in lines[1:200]:
            fields = next(iter(__import__("csv").reader([line])))
            assert len(fields) == width, (table.name, line)
            for i in stamps:
                assert fields[i] == "" or TIMESTAMP.match(fields[i]), (table.name, fields[i])


def test_foreign_keys_resolve(db: duckdb.DuckDBPyConnection) -> None:
    for table in canonical_catalog():
        for column in table.foreign_keys:
            parent, key = column.referenced_table, column.referenced_column
            orphans = db.execute(
                f"SELECT count(*) FROM {table.name} c WHERE c.{column.name} IS NOT NULL "
                "AND NOT EXISTS "
                f"(SELECT 1 FROM {parent} p WHERE p.{key} = c.{column.name})"
            ).fetchone()
            assert orphans == (0,), f"{table.name}.{column.name}"


def test_rows_belong_to_the_owner_of_their_account_and_payee(db: duckdb.DuckDBPyConnection) -> None:
    wrong_account = db.execute(
        "SELECT count(*) FROM transactions t JOIN accounts a USING (account_id) "
        "WHERE a.customer_id <> t.customer_id"
    ).fetchone()
    wrong_payee = db.execute(
        "SELECT count(*) FROM transactions t JOIN payees p USING (payee_id) "
        "WHERE p.customer_id <> t.customer_id"
    ).fetchone()
    wrong_change = db.execute(
        "SELECT count(*) FROM profile_changes c JOIN payees p USING (payee_id) "
        "WHERE p.customer_id <> c.customer_id"
    ).fetchone()
    assert (wrong_account, wrong_payee, wrong_change) == ((0,), (0,), (0,))


def test_balance_after_follows_each_accounts_postings(db: duckdb.DuckDBPyConnection) -> None:
    broken = db.execute("""
        WITH posted AS (
            SELECT t.*, a.product IN ('card', 'loan') AS owed,
                   lag(balance_after_minor) OVER (
                       PARTITION BY account_id ORDER BY occurred_at, transaction_id) AS before
            FROM transactions t JOIN accounts a USING (account_id) WHERE t.status = 'posted')
        SELECT count(*) FROM posted WHERE before IS NOT NULL AND balance_after_minor <> before +
            CASE WHEN (direction = 'credit') <> owed THEN amount_minor ELSE -amount_minor END
    """).fetchone()
    final = db.execute("""
        SELECT count(*) FROM accounts a JOIN (
            SELECT account_id, arg_max(balance_after_minor, (occurred_at, transaction_id)) AS last
            FROM transactions WHERE status = 'posted' GROUP BY account_id) t USING (account_id)
        WHERE a.balance_minor <> t.last
    """).fetchone()
    negative = db.execute("""
        SELECT count(*) FROM transactions t JOIN accounts a USING (account_id)
        WHERE a.product NOT IN ('card', 'loan') AND t.balance_after_minor < 0
    """).fetchone()
    assert (broken, final, negative) == ((0,), (0,), (0,))


def _resident_id_valid(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return number[17] == "10X98765432"[total % 11]


def _credit_code_valid(code: str) -> bool:
    total = sum(USCC.index(ch) * pow(3, i, 31) for i, ch in enumerate(code[:17]))
    return code[17] == USCC[(31 - total % 31) % 31]


def test_identity_numbers_carry_valid_check_characters(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("SELECT customer_type, id_number, phone, email FROM customers").fetchall()
    corporate = [r for r in rows if r[0] == "corporate"]
    assert 0.02 < len(corporate) / len(rows) < 0.09
    for kind, number, phone, email in rows:
        assert len(number) == 18
        assert _credit_code_valid(number) if kind == "corporate" else _resident_id_valid(number)
        assert re.fullmatch(r"1[3-9]\d{9}", phone)
        assert re.fullmatch(r"[\w.]+@[\w.]+", email)


def test_products_include_maturities_inside_the_window(db: duckdb.DuckDBPyConnection) -> None:
    products = {p for (p,) in db.execute("SELECT DISTINCT product FROM accounts").fetchall()}
    assert products == {"current", "savings", "term_deposit", "card", "loan", "wealth"}
    matured = db.execute(
        "SELECT count(*) FROM transactions WHERE kind = 'deposit_maturity'"
    ).fetchone()
    assert matured is not None
    assert matured[0] > 0
    kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM transactions").fetchall()}
    assert {
        "salary",
        "card_purchase",
        "bill_payment",
        "transfer_out",
        "fee",
        "interest",
        "loan_repayment",
    } <= kinds


def test_parquet_holds_the_same_content_as_csv(tmp_path: Path, bank: Path) -> None:
    both = load(run(tmp_path / "pq", fmt="parquet"), "parquet", prefix="pq_")
    load(bank, db=both, prefix="csv_")
    for table in canonical_catalog():
        left, right = f"csv_{table.name}", f"pq_{table.name}"
        rows = both.execute(
            f"SELECT (SELECT count(*) FROM {left}), (SELECT count(*) FROM {right})"
        ).fetchone()
        assert rows is not None
        assert rows[0] == rows[1] > 0, table.name
        differ = both.execute(
            f"SELECT count(*) FROM (SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right})"
        ).fetchone()
        assert differ == (0,), table.name
        schema = pq.read_schema(table_path(tmp_path / "pq", table.name, "parquet"))
        assert tuple(schema.names) == table.column_names


def test_cli_writes_every_table_and_explains_itself(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:
        """Keep ``synth`` a sub-command."""

    runner = CliRunner()
    explained = runner.invoke(app, ["synth", "--help"])
    assert explained.exit_code == 0
    assert "--churn-definition" in explained.output
    assert "Example" in explained.output
    result = runner.invoke(
        app, ["synth", "--customers", "300", "--months", "3", "--out", str(tmp_path), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "transactions" in result.output
    assert (tmp_path / "truth" / "churn_labels.csv").exists()
    assert len(list(tmp_path.rglob("*.csv"))) == len(canonical_catalog())
    refused = runner.invoke(app, ["synth", "--out", str(tmp_path), "--format", "xml"])
    assert refused.exit_code != 0
