"""The DuckDB warehouse: one connection, the tables of the canonical catalogue, row counts.

This is the only module that writes DuckDB DDL. Every table comes from the catalogue declaration
(types from ``ColumnType.duckdb_type``, ``NOT NULL`` for required columns; a personal-data column
is VARCHAR whatever its type, since it holds a pseudonym); the ingest bookkeeping
tables (``quarantine``, ``_ingest_files``, ``_ingest_batches``) are declared here too. Primary and
foreign keys are enforced by ingest validation rather than by DuckDB indexes, which would slow bulk
loads and make every later update of a parent row fail.

The session time zone is UTC, so that ``TIMESTAMPTZ`` values are read and printed in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from tenure.core.errors import StoreUnavailable
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest.ports import QueryFailed, TextFunction
from tenure.data.schema import Catalog, Table

__all__ = ["DuckDBWarehouse", "system_tables_ddl", "table_ddl"]

_SYSTEM_TABLES: tuple[tuple[str, str], ...] = (
    (
        "quarantine",
        "batch_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, source_file VARCHAR NOT NULL, "
        "line BIGINT, field VARCHAR, reason VARCHAR NOT NULL, raw_record VARCHAR, "
        "quarantined_at TIMESTAMPTZ NOT NULL",
    ),
    (
        "_ingest_files",
        "batch_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, source_file VARCHAR NOT NULL, "
        "sha256 VARCHAR NOT NULL, rows_in BIGINT NOT NULL, loaded BIGINT NOT NULL, "
        "quarantined BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL",
    ),
    (
        "_ingest_batches",
        "batch_id VARCHAR NOT NULL, source_dir VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, "
        "finished_at TIMESTAMPTZ NOT NULL, rows_in BIGINT NOT NULL, loaded BIGINT NOT NULL, "
        "quarantined BIGINT NOT NULL",
    ),
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_ddl(table: Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one catalogue table."""
    columns = ", ".join(
        f"{_quote(c.name)} {'VARCHAR' if c.pii else c.type.duckdb_type}"
        f"{' NOT NULL' if c.required else ''}"
        for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {_quote(table.name)} ({columns})"


def system_tables_ddl() -> tuple[str, ...]:
    """DDL of the ingest bookkeeping tables: quarantine, file manifest, batch log."""
    return tuple(f"CREATE TABLE IF NOT EXISTS {name} ({body})" for name, body in _SYSTEM_TABLES)


class DuckDBWarehouse:
    """A DuckDB connection holding the catalogue tables; the ingest ``Warehouse`` port."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
        self._connection = connection
        self._catalog = catalog
        self._connection.execute("SET TimeZone = 'UTC'")

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        catalog: Catalog | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> DuckDBWarehouse:
        """Open (or create) the warehouse file and make sure every table exists.

        ``memory_limit`` (e.g. ``"6GB"``) caps DuckDB's memory; past it, work spills to disk.
        ``read_only`` opens an existing file without creating or changing anything; several
        read-only processes may share it, but not with a writer.
        """
        config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect(str(path), read_only=read_only, config=config)
        except (duckdb.IOException, duckdb.ConnectionException, OSError) as exc:
            raise StoreUnavailable(f"cannot open the warehouse at {path}: {exc}") from exc
        warehouse = cls(connection, catalog or canonical_catalog())
        if not read_only:
            warehouse.ensure_schema()
        return warehouse

    @property
    def catalog(self) -> Catalog:
        """The catalogue whose tables this warehouse holds."""
        return self._catalog

    def ensure_schema(self) -> None:
        """Create every catalogue table and bookkeeping table that does not exist yet."""
        for table in self._catalog:
            self.execute(table_ddl(table))
        for statement in system_tables_ddl():
            self.execute(statement)

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; returns the affected row count for INSERTs, else 0."""
        rows = self.fetch_all(sql, params)
        if len(rows) == 1 and len(rows[0]) == 1 and isinstance(rows[0][0], int):
            return rows[0][0]
        return 0

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return every row."""
        try:
            cursor = self._connection.execute(sql, list(params))
            return cursor.fetchall() if cursor.description else []
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise StoreUnavailable(f"warehouse I/O failed: {exc}") from exc
        except duckdb.Error as exc:
            raise QueryFailed(str(exc)) from exc

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run one query and return its rows as a DataFrame, columnar (no Python tuple per row)."""
        try:
            return self._connection.execute(sql, list(params)).df()
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise StoreUnavailable(f"warehouse I/O failed: {exc}") from exc
        except duckdb.Error as exc:
            raise QueryFailed(str(exc)) from exc

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Append ``frame``'s rows to ``table`` (columns by name) in one columnar scan."""
        view = "_tenure_insert_frame"
        columns = ", ".join(_quote(str(name)) for name in frame.columns)
        try:
            self._connection.register(view, frame)
            try:
                self._connection.execute(
                    f"INSERT INTO {_quote(table)} ({columns}) SELECT {columns} FROM {view}"
                )
            finally:
                self._connection.unregister(view)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise StoreUnavailable(f"warehouse I/O failed: {exc}") from exc
        except duckdb.Error as exc:
            raise QueryFailed(str(exc)) from exc
        return len(frame)

    def stream(
        self, sql: str, params: Sequence[object] = (), *, batch_rows: int = 10_000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Run one query and yield its rows in lists of up to ``batch_rows``.

        Run nothing else on this warehouse until the iterator is exhausted: the connection
        holds one result at a time.
        """
        try:
            cursor = self._connection.execute(sql, list(params))
            while rows := cursor.fetchmany(batch_rows):
                yield rows
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise StoreUnavailable(f"warehouse I/O failed: {exc}") from exc
        except duckdb.Error as exc:
            raise QueryFailed(str(exc)) from exc

    def register_text_function(self, name: str, function: TextFunction) -> None:
        """Make ``name(VARCHAR) -> VARCHAR`` callable in SQL, until :meth:`remove_function`.

        DuckDB hands the function over in Arrow batches of a few thousand rows; each batch is
        dictionary-encoded so that ``function`` sees every distinct value once (a counterparty
        repeated a thousand times costs one call), and NULL stays NULL without reaching it.
        """

        def on_batch(values: pa.Array | pa.ChunkedArray) -> pa.Array:
            if isinstance(values, pa.ChunkedArray):
                values = values.combine_chunks()
            encoded = values.dictionary_encode()
            distinct = function(encoded.dictionary.to_pylist())
            return pa.array(distinct, type=pa.string()).take(encoded.indices)

        try:
            self._connection.create_function(
                name,
                on_batch,
                ["VARCHAR"],
                "VARCHAR",
                type=PythonUDFType.ARROW,
                null_handling=FunctionNullHandling.SPECIAL,
                side_effects=False,
            )
        except duckdb.Error as exc:
            raise QueryFailed(f"cannot register the SQL function {name}: {exc}") from exc

    def remove_function(self, name: str) -> None:
        """Unregister a function :meth:`register_text_function` registered."""
        try:
            self._connection.remove_function(name)
        except duckdb.Error as exc:
            raise QueryFailed(f"cannot remove the SQL function {name}: {exc}") from exc

    def materialize(self, name: str, query: str) -> None:
        """Keep a query's result as a temporary scratch table (dropped with the session)."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {_quote(name)} AS {query}")

    def drop_scratch(self, name: str) -> None:
        """Drop a temporary scratch table if it exists."""
        self.execute(f"DROP TABLE IF EXISTS temp.{_quote(name)}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work: commits when the block ends, rolls everything back on any error."""
        self._connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def table_counts(self) -> dict[str, int]:
        """Row count of every catalogue table, in load order."""
        counts: dict[str, int] = {}
        for table in self._catalog:
            (row,) = self.fetch_all(f"SELECT count(*) FROM {_quote(table.name)}")
            counts[table.name] = int(row[0])
        return counts

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> DuckDBWarehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
