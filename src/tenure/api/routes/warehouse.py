"""A read-only look at the DuckDB warehouse: row counts per canonical table."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import duckdb
from fastapi import APIRouter

from tenure.api.dependencies import State, WarehouseReader
from tenure.api.schemas import WarehouseSummary, WarehouseTable
from tenure.core.errors import StoreUnavailable
from tenure.data.catalog import canonical_catalog

__all__ = ["count_rows", "router"]

router = APIRouter(tags=["warehouse"])


def count_rows(path: Path) -> list[WarehouseTable]:
    """Rows in each canonical table present in the warehouse at ``path`` (none if no file yet)."""
    if not path.exists():
        return []
    try:
        with closing(duckdb.connect(str(path), read_only=True)) as connection:
            present = {
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                ).fetchall()
            }
            counts: list[WarehouseTable] = []
            for table in canonical_catalog():
                if table.name not in present:
                    continue
                # Names come from the catalogue, never from the request.
                row = connection.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()
                counts.append(WarehouseTable(table=table.name, rows=int(row[0]) if row else 0))
            return counts
    except duckdb.Error as exc:
        raise StoreUnavailable("the warehouse could not be read") from exc


@router.get("/v1/warehouse/summary")
def warehouse_summary(principal: WarehouseReader, state: State) -> WarehouseSummary:
    """Row counts per canonical table; an empty list before the first load."""
    return WarehouseSummary(tables=count_rows(state.settings.warehouse_path))
