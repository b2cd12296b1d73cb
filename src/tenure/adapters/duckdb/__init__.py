"""The embedded DuckDB warehouse adapter."""

from __future__ import annotations

from tenure.adapters.duckdb.warehouse import DuckDBWarehouse, system_tables_ddl, table_ddl

__all__ = ["DuckDBWarehouse", "system_tables_ddl", "table_ddl"]
