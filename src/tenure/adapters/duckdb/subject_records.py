"""What the DuckDB warehouse holds about one customer, for data-subject exports and erasures.

:class:`WarehouseSubjectRecords` reads a customer's rows from every canonical table with a
``customer_id`` (and from the derived profiling tables), and deletes the profiling rows on
erasure. The warehouse is opened per call and closed again (read-only, except to delete
profiling rows), so that this never holds the lock an ingest or a scoring run needs. A warehouse
that does not exist yet holds nothing. The operational store's side of the same port is
``tenure.adapters.sql.subject_requests.StoreSubjectRecords``, which delegates here.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from tenure.core.errors import StoreUnavailable
from tenure.data.catalog import canonical_catalog
from tenure.privacy.subject_requests import json_ready

__all__ = ["PROFILING_TABLES", "WarehouseSubjectRecords"]

# Derived tables in the warehouse that hold profiling output about a customer (no duty to keep).
PROFILING_TABLES: tuple[str, ...] = ("customer_retention",)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {str(name) for (name,) in rows}


class WarehouseSubjectRecords:
    """A customer's rows in the warehouse file at ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        """Rows of every canonical table with a ``customer_id`` (and the profiling tables)."""
        if not self._path.exists():
            return {}
        names = [t.name for t in canonical_catalog() if "customer_id" in t.column_names]
        found: dict[str, list[dict[str, Any]]] = {}
        try:
            with closing(duckdb.connect(str(self._path), read_only=True)) as connection:
                connection.execute("SET TimeZone = 'UTC'")
                present = _tables(connection)
                for name in (*names, *PROFILING_TABLES):
                    if name not in present:
                        continue
                    # Table names come from the catalogue, never from the request.
                    cursor = connection.execute(
                        f"SELECT * FROM {_quote(name)} WHERE customer_id = ?", [customer_id]
                    )
                    columns = [d[0] for d in cursor.description or ()]
                    found[name] = [
                        json_ready(dict(zip(columns, r, strict=True))) for r in cursor.fetchall()
                    ]
        except duckdb.Error as exc:
            raise StoreUnavailable("the warehouse could not be read") from exc
        return found

    def delete_profiling(self, customer_id: str) -> int:
        """Delete the customer's rows from the warehouse's profiling tables; how many went."""
        if not self._path.exists():
            return 0
        deleted = 0
        try:
            with closing(duckdb.connect(str(self._path))) as connection:
                present = _tables(connection)
                for name in PROFILING_TABLES:
                    if name in present:
                        row = connection.execute(
                            f"DELETE FROM {_quote(name)} WHERE customer_id = ? RETURNING 1",
                            [customer_id],
                        ).fetchall()
                        deleted += len(row)
        except duckdb.Error as exc:
            raise StoreUnavailable("the warehouse is busy or unreadable; retry later") from exc
        return deleted
